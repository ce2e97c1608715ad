/* Internal interface between the native hooks (native_hooks_linux.c), the
 * in-process import patching (got_patch_linux.c) and the footprint. */
#ifndef HEAPLINE_INPROCESS_H
#define HEAPLINE_INPROCESS_H

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

/* Patches (on) or restores (off) the _exit import slots of every loaded
 * module, apart from the allocator hooks; nothing when preloaded. */
void hl_got_patch_exit(int on);

/* When another allocator is the process's: the wrapper that counts glibc's own
 * function `fn` (its malloc, free, ...) and calls it; NULL when `fn` is not
 * one of them. */
void *hl_libc_own_hook(void *fn);

/* The real dlsym (glibc's), for lookups that must not come back here. */
void *hl_real_dlsym(void *handle, const char *name);
/* The real mmap/munmap: heapline's own mappings, never counted. */
void *hl_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int hl_real_munmap(void *addr, size_t len);

/* Fork handlers of the tables (tables_file_posix.c): prepare takes the
 * tables lock (the forking thread marked busy, so that nothing it allocates
 * until the fork is sampled), parent and child release it; the child's first
 * moves its tables into its own file when the parent had one. */
void hl_tables_fork_prepare(void);
void hl_tables_fork_parent(void);
void hl_tables_fork_child(void);
/* 1 when this library was preloaded: its definitions are the process's. */
int hl_preloaded(void);

/* Starts counting the footprint from `bytes` (in-process start). */
void hl_footprint_set_baseline(int64_t bytes);

#endif
