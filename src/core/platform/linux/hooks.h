/* What Linux's native hooks (native_hooks.c) offer the in-process import
 * patching (got_patch.c), which points import slots at them. The patching
 * also owns the entry points that depend on both (hl_set_exit_hook,
 * hl_native_hooks_active); the hooks call nothing of it. */
#ifndef HEAPLINE_LINUX_HOOKS_H
#define HEAPLINE_LINUX_HOOKS_H

#include "posix/real_mmap.h"
#include "thread_state.h"

#include <stddef.h>
#include <sys/types.h>

/* Hidden aliases of this library's hook definitions. */
void *hl_hook_malloc(size_t n);
void *hl_hook_calloc(size_t nelem, size_t elsize);
void *hl_hook_realloc(void *p, size_t n);
void hl_hook_free(void *p);
int hl_hook_posix_memalign(void **out, size_t align, size_t n);
void *hl_hook_aligned_alloc(size_t align, size_t n);
void *hl_hook_memalign(size_t align, size_t n);
void *hl_hook_valloc(size_t n);
void *hl_hook_pvalloc(size_t n);
void *hl_hook_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *hl_hook_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int hl_hook_munmap(void *addr, size_t len);
void *hl_hook_dlsym(void *handle, const char *name);
_Noreturn void hl_hook_exit(int status);

/* Sets the hook that _exit and exit run first, for the calling process
 * (hl_set_exit_hook's half in the hooks). */
void hl_exit_hook_store(hl_exit_fn fn);

/* When another allocator is the process's: the wrapper that counts glibc's own
 * function `fn` (its malloc, free, ...) and calls it; NULL when `fn` is not
 * one of them. */
void *hl_libc_own_hook(void *fn);

/* The real dlsym (glibc's), for lookups that must not come back here. */
void *hl_real_dlsym(void *handle, const char *name);
/* 1 when this library was preloaded: its definitions are the process's. */
int hl_preloaded(void);

#endif
