/* The native allocator layer on Linux, preload mode: this library defines the
 * malloc family, anonymous mmap/munmap and dlsym, and `heapline run` puts it in
 * LD_PRELOAD so every module of the process calls these first. Each hook calls
 * the next definition (normally glibc's, found with dlsym(RTLD_NEXT)), then
 * adjusts its thread's share of the footprint and its exact counters and runs
 * the sampler's countdown. malloc, calloc and free do that on a fast path of
 * about 20 instructions (glibc's chunk header, the TLS block at its static
 * offset) when they can.
 *
 * dlsym is wrapped so that code which looks malloc up by handle (ctypes'
 * CDLL("libc.so.6").malloc) also gets the hook. A process that is not Python
 * (a shell started by the program) works unchanged: the hooks only count.
 *
 * Another allocator (jemalloc, mimalloc, tcmalloc) may be preloaded after this
 * library; it is then "the real one", and two more things are handled here:
 * the mmap/munmap calls it makes for its own memory are not counted (the
 * blocks were counted by malloc), and glibc's own malloc family, which
 * dlsym on a libc handle still finds, gets a second set of wrappers that
 * count its blocks and hand them back to glibc (see "other allocators").
 */
/* Both mmap and mmap64 are defined below under their own names. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hooks.h"
#include "tables_mem.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the real functions ----------------------------------------------- */
typedef struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*dlsym)(void *, const char *);
    void (*exit_)(int);
    void (*std_exit)(int);         /* exit */
    size_t (*usable_size)(void *); /* libc_own's only: glibc's malloc_usable_size */
} real_fns;

/* The malloc family, the names every table and wrapper set below covers
 * (X-macro: X(name) for each); and with anonymous mmap/munmap. */
#define HL_MALLOC_FAMILY(X)                                                                        \
    X(malloc)                                                                                      \
    X(calloc) X(realloc) X(free) X(posix_memalign) X(aligned_alloc) X(memalign) X(valloc) X(pvalloc)
#define HL_HOOKED_NAMES(X) HL_MALLOC_FAMILY(X) X(mmap) X(munmap)

static real_fns real;
static _Atomic int resolved; /* 0 no, 1 resolving, 2 done */

/* glibc's own malloc family when the real one is another allocator's (else
 * all NULL): a member is set only where glibc's function differs from the real
 * one. Published by libc_own_set (see "other allocators"). */
static real_fns libc_own;
static _Atomic int libc_own_set;

/* Allocations made by dlsym while we look the real functions up come from this
 * static arena and are never freed. Each block is preceded by a word that
 * reads, to glibc's layout, as the header of an mmapped chunk of its size: the
 * fast free path sends such blocks to its rare branch, which finds them here
 * (and malloc_usable_size on one says its size). */
static _Alignas(64) char boot_arena[64 * 1024];
static _Atomic size_t boot_used;

static void *boot_alloc(size_t n) {
    size_t need = (n + 63) & ~(size_t)63;
    size_t off = atomic_fetch_add(&boot_used, need + 64);
    if (off + need + 64 > sizeof boot_arena) return NULL;
    char *block = boot_arena + off + 64;
    ((size_t *)block)[-1] = (need + 2 * sizeof(size_t)) | 2;
    return block;
}

static int in_boot(const void *p) {
    return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof boot_arena;
}

/* ---- block sizes ----------------------------------------------------------- */
/* Every hooked call needs its block's usable size (the footprint is exact).
 * malloc_usable_size is a call through the PLT and a dozen instructions; when
 * the real allocator is glibc's own, the size is read from the chunk's header
 * word instead: the word before the block holds the chunk size with three flag
 * bits, bit 1 meaning mmapped (usable = size - 16), else usable = size - 8.
 * Any other allocator (ASan's, valgrind's, jemalloc preloaded after heapline,
 * glibc's malloc-debug library) keeps the library call.
 *
 * The layout is checked at start-up by asking glibc's malloc_usable_size about
 * chunks heapline builds itself in a page of its own, never by allocating: a
 * malloc/free pair of an mmapped size would raise glibc's mmap and trim
 * thresholds for the rest of the program (tests/test_fidelity.py). */
static _Atomic int glibc_layout;

static inline size_t header_usable(const void *p) {
    size_t word = ((const size_t *)p)[-1];
    size_t size = word & ~(size_t)7;
    return (word & 2) ? size - 2 * sizeof(size_t) : size - sizeof(size_t);
}

static inline size_t usable(void *p) {
    if (HL_LIKELY(atomic_load_explicit(&glibc_layout, memory_order_relaxed)))
        return header_usable(p);
    return malloc_usable_size(p);
}

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
/* Builds, at the start of `page`, a chunk of `size` bytes with header flag bits
 * `flags` (1 previous in use, 2 mmapped, 4 not the main arena), followed by a
 * chunk header that marks it in use, and says whether glibc's idea of its
 * usable size is header_usable's. */
static int fake_chunk_agrees(char *page, size_t page_len, size_t size, size_t flags) {
    size_t *words = (size_t *)page;
    if (size + 4 * sizeof(size_t) > page_len) return 0;
    memset(page, 0, size + 4 * sizeof(size_t));
    words[1] = size | flags;                            /* this chunk's size word */
    *(size_t *)(page + size + sizeof(size_t)) = 32 | 1; /* next chunk: "previous in use" */
    void *block = page + 2 * sizeof(size_t);
    return header_usable(block) == malloc_usable_size(block);
}
#endif

static void check_glibc_layout(void *(*ds)(void *, const char *), void *libc) {
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
    int same = ds(libc, "malloc") == (void *)real.malloc && ds(libc, "free") == (void *)real.free &&
               ds(libc, "realloc") == (void *)real.realloc &&
               ds(libc, "calloc") == (void *)real.calloc &&
               ds(libc, "posix_memalign") == (void *)real.posix_memalign &&
               ds(libc, "malloc_usable_size") == (void *)&malloc_usable_size;
    if (!same) return;
    const size_t page_len = 2u << 20;
    char *page =
        real.mmap(NULL, page_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return;
    static const size_t sizes[] = {32, 48, 112, 1024, 5008, 70000 & ~(size_t)15, 1u << 20};
    static const size_t flags[] = {1, 1 | 4, 2, 2 | 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (!fake_chunk_agrees(page, page_len, sizes[i], flags[k])) same = 0;
    real.munmap(page, page_len);
    atomic_store(&glibc_layout, same);
#else
    (void)ds;
    (void)libc;
#endif
}

/* ---- other allocators ------------------------------------------------------ */
/* With jemalloc, mimalloc or tcmalloc preloaded after this library, the real
 * malloc family is theirs, and two things differ from glibc:
 *
 * 1. They get their memory with mmap and munmap through the PLT, i.e. through
 *    the hooks below (glibc's malloc calls its internal mmap, which no hook
 *    sees). Those mappings hold blocks already counted by malloc, or the
 *    allocator's own arenas and caches: counting them too doubles every block
 *    and keeps freed memory "live" as long as the allocator keeps its pages.
 *    Only the program's own anonymous mappings count (Python's object arenas,
 *    which libpython maps itself, among them).
 *
 *    How an allocator's call is told apart: by the return address, which lies
 *    in the code of the object that defines the real malloc. That object's
 *    executable segments are found once, here; the mmap and munmap hooks then
 *    compare one address (two loads, a subtraction and a compare: nothing on
 *    the malloc/free fast paths). The alternative, a per-thread "inside
 *    malloc" flag set and cleared around every real call, would add a store
 *    and a load to every malloc and free, and still would not cover mappings
 *    the allocator makes outside a call (a background thread's, or at its
 *    initialization from its own constructor). The range is not used when the
 *    real malloc is glibc's (its mmap calls never reach the hooks) or is
 *    defined by the main program, whose own mappings (a statically linked
 *    libpython's object arenas) must still count. Any other code in the
 *    allocator's object is skipped as well; allocators come as libraries of
 *    their own, so that is only their own code.
 *
 * 2. glibc's malloc family is still in the process, a separate heap: dlsym on
 *    a libc handle (ctypes.CDLL(find_library("c")).malloc) finds glibc's own
 *    functions, not the real ones. Those get a second set of wrappers (the
 *    libc_* functions below, like the Windows backend's per-runtime wrappers):
 *    same accounting, but glibc's function and glibc's malloc_usable_size, so
 *    the block is counted and goes back to the heap it came from. */
static _Atomic uintptr_t alloc_code_lo, alloc_code_hi; /* [lo, hi); empty when equal */

static inline int allocator_code(const void *ret) {
    uintptr_t lo = atomic_load_explicit(&alloc_code_lo, memory_order_relaxed);
    uintptr_t hi = atomic_load_explicit(&alloc_code_hi, memory_order_relaxed);
    return (uintptr_t)ret - lo < hi - lo;
}

typedef struct {
    uintptr_t base;
    const char *name;
    uintptr_t lo, hi;
} code_range;

static int code_range_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    code_range *r = data;
    if (info->dlpi_addr != r->base || info->dlpi_name != r->name) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < r->lo) r->lo = s;
        if (e > r->hi) r->hi = e;
    }
    return 1;
}

/* Called while resolving, before any hook counts anything (an allocator maps
 * its first arenas on its first malloc, which may be the dynamic loader's or
 * this library's own lookups). Neither dladdr1 nor dl_iterate_phdr allocates.
 * glibc is recognized by the object of _exit, which no allocator defines. */
static void find_allocator_code(void) {
    Dl_info info, libc_info;
    struct link_map *lm = NULL;
    if (!real.malloc || !real.exit_) return;
    if (!dladdr1((void *)real.malloc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) return;
    if (!dladdr((void *)real.exit_, &libc_info) || libc_info.dli_fbase == info.dli_fbase) return;
    if (!lm->l_name || !lm->l_name[0]) return; /* the main program */
    code_range r = {lm->l_addr, lm->l_name, UINTPTR_MAX, 0};
    dl_iterate_phdr(code_range_cb, &r);
    if (r.lo >= r.hi) return;
    atomic_store(&alloc_code_lo, r.lo);
    atomic_store(&alloc_code_hi, r.hi);
}

/* glibc's own functions, where they are not the real ones. */
static void find_libc_own(void *(*ds)(void *, const char *), void *libc) {
    real_fns own;
    memset(&own, 0, sizeof own);
#define OWN(name)                                                                                  \
    do {                                                                                           \
        void *f = ds(libc, #name);                                                                 \
        if (f != (void *)real.name) *(void **)(&own.name) = f;                                     \
    } while (0);
    HL_MALLOC_FAMILY(OWN)
#undef OWN
    *(void **)(&own.usable_size) = ds(libc, "malloc_usable_size");
    /* a block from glibc's heap must be sized and freed by glibc */
    if (!own.free || !own.usable_size) return;
    libc_own = own;
    atomic_store_explicit(&libc_own_set, 1, memory_order_release);
}

/* Once resolved: glibc's chunk layout when the real malloc is glibc's, its
 * own functions when it is not. */
static void inspect_libc(void *(*ds)(void *, const char *)) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (!libc) return;
    if (ds(libc, "malloc") == (void *)real.malloc)
        check_glibc_layout(ds, libc);
    else
        find_libc_own(ds, libc);
    dlclose(libc);
}

/* ---- where the process's own functions are -------------------------------- */
/* Preloaded, this library comes first in the global scope and the real
 * functions are the next definitions (RTLD_NEXT). Loaded with dlopen (in
 * process), RTLD_NEXT would search only this library's own dependencies, i.e.
 * glibc, even when the process runs on an allocator preloaded: the real
 * functions are then those the global lookup binds to, so that a block
 * allocated before heapline.start() is sized and freed by the allocator that
 * made it.
 *
 * dlsym(RTLD_DEFAULT) cannot say which those are: in an executable that is not
 * position-independent and takes the address of malloc, the executable's PLT
 * entry is malloc's canonical address, and that is what the global lookup
 * returns (Debian's python3.15 is such an executable; calling it from the hook
 * would call the hook again). So the objects are walked in load order, which for
 * those loaded at start is the global lookup order (the program, its preloads,
 * then its dependencies), and the first that defines the name itself is the one.
 * The main program is passed over (a definition there is its PLT entry). */
#define MAX_OBJECTS 1024
typedef struct {
    const char *names[MAX_OBJECTS];
    uintptr_t bases[MAX_OBJECTS];
    int n;
} object_list;

static int list_objects_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    object_list *l = data;
    /* the main program has no name, the vDSO no path */
    if (!info->dlpi_name || !strchr(info->dlpi_name, '/')) return 0;
    if (l->n == MAX_OBJECTS) return 1;
    l->names[l->n] = info->dlpi_name;
    l->bases[l->n] = info->dlpi_addr;
    l->n++;
    return 0;
}

/* The load bias of the object that defines the code at `addr`, or 0. */
static uintptr_t object_of(const void *addr) {
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) return 0;
    return lm->l_addr;
}

/* The first definition of `name` in load order (objects as listed, the one at
 * load bias `skip` passed over), or NULL; the defining object's load bias in
 * *where. (dlopen and dlsym allocate here: from the bootstrap arena, since this
 * runs inside resolve().) */
static void *first_definition(void *(*ds)(void *, const char *), const object_list *objects,
                              const char *name, uintptr_t skip, uintptr_t *where) {
    for (int i = 0; i < objects->n; i++) {
        if (objects->bases[i] == skip) continue;
        void *handle = dlopen(objects->names[i], RTLD_LAZY | RTLD_NOLOAD);
        if (!handle) continue;
        void *f = ds(handle, name); /* this object's, or one of its dependencies' */
        dlclose(handle);
        if (f && object_of(f) == objects->bases[i]) {
            *where = objects->bases[i];
            return f;
        }
    }
    return NULL;
}

/* 1 when this library is preloaded: it defines the process's malloc. */
static int preloaded;

static void resolve(void) {
    int expect = 0;
    if (!atomic_compare_exchange_strong(&resolved, &expect, 1)) {
        while (atomic_load(&resolved) != 2) {
        }
        return;
    }
    void *(*ds)(void *, const char *) =
        (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!ds) ds = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    real_fns r;
    memset(&r, 0, sizeof r);
    r.dlsym = ds;
    static object_list objects; /* static: 16 KiB, not on a thread's stack */
    objects.n = 0;
    dl_iterate_phdr(list_objects_cb, &objects);
    uintptr_t self = object_of((const void *)&resolve), where = 0;
    preloaded = first_definition(ds, &objects, "malloc", UINTPTR_MAX, &where) && where == self;
    /* not preloaded: the global definitions, this library passed over */
#define LOOK(name)                                                                                 \
    *(void **)(&r.name) =                                                                          \
        preloaded ? ds(RTLD_NEXT, #name) : first_definition(ds, &objects, #name, self, &where);
    HL_HOOKED_NAMES(LOOK)
#undef LOOK
    *(void **)(&r.exit_) =
        preloaded ? ds(RTLD_NEXT, "_exit") : first_definition(ds, &objects, "_exit", self, &where);
    *(void **)(&r.std_exit) =
        preloaded ? ds(RTLD_NEXT, "exit") : first_definition(ds, &objects, "exit", self, &where);
    real = r;
    find_allocator_code();
    atomic_store(&resolved, 2);
    inspect_libc(ds);
}

/* 1 while this thread is inside resolve() (dlsym allocates). */
static _Thread_local int resolving_here;

static inline int ready(void) {
    if (HL_LIKELY(atomic_load_explicit(&resolved, memory_order_acquire) == 2)) return 1;
    if (resolving_here) return 0;
    resolving_here = 1;
    resolve();
    resolving_here = 0;
    return 1;
}

/* The fast paths below: hl_tls_static_off once the real functions are
 * resolved and glibc's chunk layout is confirmed; 0 (the general paths)
 * before, with another allocator, or with the TLS block in dynamic TLS.
 * free_gate is 0 with the fast paths on, all ones otherwise. Both are set
 * once, by this library's constructor, before any thread but the first runs
 * (preloaded) or before the hooks are patched in (in-process); plain loads
 * of them are what the fast paths can afford. */
static intptr_t fast_off;
static uintptr_t free_gate = UINTPTR_MAX;

/* Preloaded into a process that is not Python (a shell, a compiler, a C
 * tool the profiled program runs: LD_PRELOAD is inherited), the hooks only
 * pass the calls on: the fast paths stay off, and the general paths of the
 * hot functions call the real ones first thing. Python is known by its
 * embedding API, exported by every python executable or its libpython. */
static int passthrough;

static int is_python_process(void) {
    return real.dlsym(RTLD_DEFAULT, "Py_IsInitialized") != NULL;
}

__attribute__((constructor)) static void native_hooks_init(void) {
    ready();
    if (preloaded && !is_python_process()) {
        passthrough = 1;
        return;
    }
#if defined(HL_HAVE_FS_OPS)
    if (atomic_load(&glibc_layout) && hl_tls_offset_init() != 0) {
        fast_off = hl_tls_static_off;
        free_gate = 0;
    }
#endif
}

int hl_preloaded(void) {
    ready();
    return preloaded;
}

void *hl_real_dlsym(void *handle, const char *name) {
    ready();
    return real.dlsym(handle, name);
}

/* Async-signal-safe once resolved (the fork child's handler uses them). */
void *hl_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    ready();
    if (HL_UNLIKELY(!real.mmap)) return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    return real.mmap(addr, len, prot, flags, fd, off);
}

int hl_real_munmap(void *addr, size_t len) {
    ready();
    if (HL_UNLIKELY(!real.munmap)) return (int)syscall(SYS_munmap, addr, len);
    return real.munmap(addr, len);
}

/* ---- malloc family ------------------------------------------------------ */
/* Each general path's body is written once, for a table of functions `h`:
 * the real ones (the exported hooks) or glibc's own (the libc_* wrappers, see
 * "other allocators"). Always inlined with a constant `h`, so the exported
 * hooks compile to what they would be without the second table. */
#define HL_BODY static inline __attribute__((always_inline))

HL_BODY size_t block_size(const real_fns *h, void *p) {
    return h == &real ? usable(p) : h->usable_size(p);
}

HL_BODY void *counted_malloc(const real_fns *h, size_t n) {
    void *p = h->malloc(n);
    if (HL_LIKELY(p != NULL)) hl_native_alloc(hl_self(), HL_HOOK_MALLOC, p, n, block_size(h, p));
    return p;
}

HL_BODY void *counted_calloc(const real_fns *h, size_t nelem, size_t elsize) {
    void *p = h->calloc(nelem, elsize);
    if (HL_LIKELY(p != NULL))
        hl_native_alloc(hl_self(), HL_HOOK_CALLOC, p, nelem * elsize, block_size(h, p));
    return p;
}

HL_BODY void counted_free(const real_fns *h, void *p) {
    hl_native_free(hl_self(), HL_HOOK_FREE, p, block_size(h, p));
    h->free(p);
}

HL_BODY void *counted_realloc(const real_fns *h, void *p, size_t n) {
    hl_thread *t = hl_self();
    size_t u0 = p ? block_size(h, p) : 0;
    void *q = h->realloc(p, n);
    if (q == NULL) {
        if (p && n == 0) hl_native_free(t, HL_HOOK_FREE, p, u0); /* glibc: realloc(p, 0) frees p */
        return q;
    }
    hl_native_realloc(t, HL_HOOK_REALLOC, p, q, n, u0, block_size(h, q));
    return q;
}

HL_BODY void *after_aligned(const real_fns *h, void *p, int hook, size_t n) {
    if (HL_LIKELY(p != NULL)) hl_native_alloc(hl_self(), hook, p, n, block_size(h, p));
    return p;
}

HL_BODY int counted_posix_memalign(const real_fns *h, void **out, size_t align, size_t n) {
    int rc = h->posix_memalign(out, align, n);
    if (rc == 0) after_aligned(h, *out, HL_HOOK_POSIX_MEMALIGN, n);
    return rc;
}

/* malloc, calloc and free first take a fast path: the TLS block found from the
 * thread pointer and the static offset, the usable size read from glibc's
 * chunk header (not mmapped: (word - 8) rounded down to 8, the flag bits
 * dropped), then the counts and the room. Blocks whose header has the mmapped
 * bit (large blocks, and the boot arena's) take a rare branch. The general
 * paths (fast_off 0) find the TLS block through its descriptor and the size
 * through usable(), and serve the boot arena before the real functions are
 * resolved. */
static inline size_t chunk_word(const void *p) {
    return ((const size_t *)p)[-1];
}

static inline size_t small_chunk_usable(size_t word) {
    return (word - sizeof(size_t)) & ~(size_t)7;
}

__attribute__((noinline)) static void *malloc_general(size_t n) {
    if (passthrough) return real.malloc(n); /* (set only once ready) */
    if (HL_UNLIKELY(!ready())) return boot_alloc(n);
    return counted_malloc(&real, n);
}

__attribute__((noinline)) static void *calloc_general(size_t nelem, size_t elsize) {
    if (passthrough) return real.calloc(nelem, elsize);
    if (HL_UNLIKELY(!ready())) {
        size_t n;
        if (__builtin_mul_overflow(nelem, elsize, &n)) return NULL;
        return boot_alloc(n); /* static storage is already zero */
    }
    return counted_calloc(&real, nelem, elsize);
}

__attribute__((noinline)) static void free_general(void *p) {
    if (HL_UNLIKELY(p == NULL || in_boot(p))) return;
    if (passthrough) {
        real.free(p);
        return;
    }
    if (HL_UNLIKELY(!ready())) return; /* cannot happen: p came from somewhere */
    counted_free(&real, p);
}

#if defined(HL_HAVE_FS_OPS)
/* The fast paths' slow branches, reached by tail calls so that the fast
 * paths keep nothing across a call but the request size. */
__attribute__((noinline)) static void *alloc_room_slow(void *p, int f, size_t n, size_t u) {
    hl_alloc_slow(hl_tls_at(fast_off), f, p, n, u, HL_KIND_NATIVE);
    return p;
}

__attribute__((noinline)) static void *alloc_count_slow(void *p, int f, size_t n) {
    hl_count_slow(hl_tls_at(fast_off), f, p, n, HL_KIND_NATIVE);
    return p;
}

/* The block's free was counted; free's countdown ran out. */
__attribute__((noinline)) static void free_counted_slow(void *p, size_t u) {
    hl_free_count_slow(hl_tls_at(fast_off), u);
    if (HL_UNLIKELY(hl_filter_maybe(p))) hl_free_slow(p);
    real.free(p);
}

__attribute__((noinline)) static void free_maybe_sampled(void *p) {
    hl_free_slow(p);
    real.free(p);
}

/* A free whose header has the mmapped bit: a boot block, or a large one
 * (usable = size - 16). */
__attribute__((noinline)) static void free_marked(void *p, size_t w) {
    if (in_boot(p)) return;
    hl_fast_free(hl_tls_at(fast_off), p, (w & ~(size_t)7) - 16);
    real.free(p);
}

/* Accounts the block p (n bytes asked for) the fast path got back. */
#define FAST_ALLOC(F, p, n)                                                                        \
    do {                                                                                           \
        size_t w_ = chunk_word(p);                                                                 \
        size_t u_ = HL_LIKELY(!(w_ & 2)) ? small_chunk_usable(w_) : (w_ & ~(size_t)7) - 16;        \
        intptr_t off_ = fast_off;                                                                  \
        bool out_;                                                                                 \
        HL_FS_SUB(s, out_, off_, room, u_);                                                        \
        if (HL_UNLIKELY(out_)) return alloc_room_slow(p, F, n, u_);                                \
        HL_FS_INC(off_, calls[F]);                                                                 \
        HL_FS_SUB(le, out_, off_, left[F], n);                                                     \
        if (HL_UNLIKELY(out_)) return alloc_count_slow(p, F, n);                                   \
    } while (0)

HL_EXPORT void *malloc(size_t n) {
    if (HL_UNLIKELY(fast_off == 0)) return malloc_general(n);
    void *p = real.malloc(n);
    if (HL_LIKELY(p != NULL)) FAST_ALLOC(HL_FAST_MALLOC, p, n);
    return p;
}

HL_EXPORT void *calloc(size_t nelem, size_t elsize) {
    if (HL_UNLIKELY(fast_off == 0)) return calloc_general(nelem, elsize);
    void *p = real.calloc(nelem, elsize);
    if (HL_LIKELY(p != NULL)) FAST_ALLOC(HL_FAST_CALLOC, p, nelem * elsize);
    return p;
}

HL_EXPORT void free(void *p) {
    /* one test for both: p is NULL, or the fast path is off (gate ~0) */
    if (HL_UNLIKELY((uintptr_t)p <= free_gate)) {
        free_general(p);
        return;
    }
    size_t w = chunk_word(p);
    if (HL_UNLIKELY(w & 2)) {
        free_marked(p, w);
        return;
    }
    size_t u = small_chunk_usable(w);
    intptr_t off = fast_off;
    bool out;
    HL_FS_ADD(off, room, u);
    HL_FS_INC(off, calls[HL_FAST_FREE]);
    HL_FS_SUB(s, out, off, left[HL_FAST_FREE], u);
    if (HL_UNLIKELY(out)) {
        free_counted_slow(p, u);
        return;
    }
    if (HL_UNLIKELY(hl_filter_maybe(p))) {
        free_maybe_sampled(p);
        return;
    }
    real.free(p);
}
#else /* another architecture: the general paths */
HL_EXPORT void *malloc(size_t n) {
    return malloc_general(n);
}

HL_EXPORT void *calloc(size_t nelem, size_t elsize) {
    return calloc_general(nelem, elsize);
}

HL_EXPORT void free(void *p) {
    free_general(p);
}
#endif

HL_EXPORT void *realloc(void *p, size_t n) {
    if (HL_UNLIKELY(!ready() || in_boot(p))) {
        void *q = ready() ? malloc(n) : boot_alloc(n);
        if (q && p) {
            size_t room = (size_t)(boot_arena + sizeof boot_arena - (char *)p);
            memcpy(q, p, n < room ? n : room);
        }
        return q;
    }
    if (passthrough) return real.realloc(p, n);
    return counted_realloc(&real, p, n);
}

HL_EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    if (HL_UNLIKELY(!ready())) {
        if (align > 64) return ENOMEM;
        *out = boot_alloc(n);
        return *out ? 0 : ENOMEM;
    }
    return counted_posix_memalign(&real, out, align, n);
}

HL_EXPORT void *aligned_alloc(size_t align, size_t n) {
    if (HL_UNLIKELY(!ready())) return align <= 64 ? boot_alloc(n) : NULL;
    return after_aligned(&real, real.aligned_alloc(align, n), HL_HOOK_ALIGNED_ALLOC, n);
}

HL_EXPORT void *memalign(size_t align, size_t n) {
    if (HL_UNLIKELY(!ready())) return align <= 64 ? boot_alloc(n) : NULL;
    return after_aligned(&real, real.memalign(align, n), HL_HOOK_MEMALIGN, n);
}

HL_EXPORT void *valloc(size_t n) {
    if (HL_UNLIKELY(!ready())) return NULL;
    return after_aligned(&real, real.valloc(n), HL_HOOK_VALLOC, n);
}

HL_EXPORT void *pvalloc(size_t n) {
    if (HL_UNLIKELY(!ready())) return NULL;
    return after_aligned(&real, real.pvalloc(n), HL_HOOK_PVALLOC, n);
}

/* glibc's own functions (only handed out by dlsym once libc_own is set, so
 * everything is resolved). */
static void *libc_malloc(size_t n) {
    return counted_malloc(&libc_own, n);
}

static void *libc_calloc(size_t nelem, size_t elsize) {
    return counted_calloc(&libc_own, nelem, elsize);
}

static void libc_free(void *p) {
    if (p != NULL) counted_free(&libc_own, p);
}

static void *libc_realloc(void *p, size_t n) {
    return counted_realloc(&libc_own, p, n);
}

static int libc_posix_memalign(void **out, size_t align, size_t n) {
    return counted_posix_memalign(&libc_own, out, align, n);
}

static void *libc_aligned_alloc(size_t align, size_t n) {
    return after_aligned(&libc_own, libc_own.aligned_alloc(align, n), HL_HOOK_ALIGNED_ALLOC, n);
}

static void *libc_memalign(size_t align, size_t n) {
    return after_aligned(&libc_own, libc_own.memalign(align, n), HL_HOOK_MEMALIGN, n);
}

static void *libc_valloc(size_t n) {
    return after_aligned(&libc_own, libc_own.valloc(n), HL_HOOK_VALLOC, n);
}

static void *libc_pvalloc(size_t n) {
    return after_aligned(&libc_own, libc_own.pvalloc(n), HL_HOOK_PVALLOC, n);
}

/* ---- anonymous mmap ----------------------------------------------------- */
/* Anonymous regions we counted, so munmap subtracts only what mmap added.
 * Exact-start lookups are hashed; a partial unmap scans the table. */
#define REGION_SLOTS 32768u
typedef struct {
    uintptr_t start; /* 0 empty, 1 deleted */
    size_t len;
} region;
static region regions[REGION_SLOTS];
static hl_spinlock region_lock = HL_SPINLOCK_INIT;

static size_t page_size = 4096; /* set from sysconf at load */

static size_t page_round(size_t n) {
    return (n + page_size - 1) & ~(page_size - 1);
}

static uint32_t region_home(uintptr_t a) {
    return (uint32_t)(((a >> 12) * 0x9E3779B97F4A7C15ull) >> 49) & (REGION_SLOTS - 1);
}

static void region_add(uintptr_t a, size_t len) {
    uint32_t i = region_home(a);
    for (uint32_t k = 0; k < REGION_SLOTS; k++, i = (i + 1) & (REGION_SLOTS - 1)) {
        if (regions[i].start <= 1) {
            regions[i].start = a;
            regions[i].len = len;
            return;
        }
    }
}

/* Removes [a, a+len) from the regions; returns the counted bytes removed. */
static size_t region_remove(uintptr_t a, size_t len) {
    uint32_t i = region_home(a);
    for (uint32_t k = 0; k < REGION_SLOTS && regions[i].start != 0;
         k++, i = (i + 1) & (REGION_SLOTS - 1)) {
        if (regions[i].start == a && regions[i].len == len) {
            regions[i].start = 1;
            return len;
        }
    }
    size_t removed = 0; /* partial or unknown: scan */
    uintptr_t e = a + len;
    for (uint32_t j = 0; j < REGION_SLOTS; j++) {
        region *r = &regions[j];
        if (r->start <= 1) continue;
        uintptr_t rs = r->start, re = r->start + r->len;
        if (re <= a || rs >= e) continue;
        uintptr_t os = rs > a ? rs : a, oe = re < e ? re : e;
        removed += oe - os;
        if (os == rs && oe == re) {
            r->start = 1;
        } else if (os == rs) {
            r->start = 1; /* keep the tail */
            region_add(oe, re - oe);
        } else {
            r->len = os - rs; /* keep the head (and the tail, if any) */
            if (oe < re) region_add(oe, re - oe);
        }
    }
    return removed;
}

/* `ret`: the hook's return address. A mapping the real allocator makes for
 * itself is passed through uncounted (see "other allocators"). */
static void *hooked_mmap(const void *ret, void *addr, size_t len, int prot, int flags, int fd,
                         off_t off) {
    ready();
    void *p = real.mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && !allocator_code(ret)) {
        hl_thread *t = hl_self();
        size_t n = page_round(len);
        uint32_t saved = t->busy;
        t->busy |= HL_BUSY_CORE;
        hl_lock(&region_lock);
        if (flags & MAP_FIXED) region_remove((uintptr_t)p, n); /* replaced a mapping */
        region_add((uintptr_t)p, n);
        hl_unlock(&region_lock);
        t->busy = saved;
        /* the counter has the bytes asked for; footprint and samples the
         * pages the kernel mapped */
        hl_native_map(t, p, len, n);
    }
    return p;
}

HL_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return hooked_mmap(__builtin_return_address(0), addr, len, prot, flags, fd, off);
}

HL_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
    return hooked_mmap(__builtin_return_address(0), addr, len, prot, flags, fd, off);
}

HL_EXPORT int munmap(void *addr, size_t len) {
    ready();
    /* the allocator's own mappings were never counted */
    if (allocator_code(__builtin_return_address(0))) return real.munmap(addr, len);
    hl_thread *t = hl_self();
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    hl_lock(&region_lock);
    size_t n = region_remove((uintptr_t)addr, page_round(len));
    hl_unlock(&region_lock);
    t->busy = saved;
    if (n) hl_native_free(t, HL_HOOK_MUNMAP, addr, n);
    return real.munmap(addr, len);
}

/* ---- dlsym ---------------------------------------------------------------- */
/* The wrapper of one of glibc's own functions, when another allocator is the
 * real one; NULL for anything else. A NULL member of libc_own (glibc's is the
 * real one) never equals `fn`. */
void *hl_libc_own_hook(void *fn) {
    if (fn == NULL || !atomic_load_explicit(&libc_own_set, memory_order_acquire)) return NULL;
#define OWN(name)                                                                                  \
    if (fn == (void *)libc_own.name) return (void *)libc_##name;
    HL_MALLOC_FAMILY(OWN)
#undef OWN
    return NULL;
}

static void *hook_for(void *found) {
    if (found == NULL) return NULL;
        /* the hidden aliases: a plain `malloc` here would bind to libc's when this
         * library is not preloaded */
#define SWAP(name)                                                                                 \
    if (found == (void *)real.name) return (void *)hl_hook_##name;
    HL_HOOKED_NAMES(SWAP)
#undef SWAP
    /* glibc's own, with another allocator preloaded: found by a lookup on a
     * libc handle (ctypes.CDLL(find_library("c")).malloc) */
    void *own = hl_libc_own_hook(found);
    return own ? own : found;
}

HL_EXPORT void *dlsym(void *handle, const char *name) {
    ready();
    /* RTLD_NEXT is relative to the caller: a plain tail call keeps the caller's
     * return address, which glibc uses to find "next". */
    if (handle == RTLD_NEXT) return real.dlsym(handle, name);
    return hook_for(real.dlsym(handle, name));
}

/* ---- _exit and exit ---------------------------------------------------------- */
/* os._exit() ends the process without atexit handlers; the profile is written
 * first by the hook the extension set, in the process that set it only (a
 * child after fork, _posixsubprocess's failed exec, must not run Python).
 * Both record the status in the tables' file first, when the process has
 * one of its own (sys.exit(n) ends in exit(n) through the PLT; an exit by
 * returning from main is libc's own call, and is not seen). */
static _Atomic(hl_exit_fn) exit_hook;
static pid_t exit_hook_pid;
static _Atomic int exiting;

void hl_exit_hook_store(hl_exit_fn fn) {
    exit_hook_pid = getpid();
    atomic_store(&exit_hook, fn);
}

HL_EXPORT void _exit(int status) {
    ready();
    hl_tables_record_exit(status);
    hl_exit_fn fn = atomic_load(&exit_hook);
    if (fn && getpid() == exit_hook_pid && !atomic_exchange(&exiting, 1)) fn(status);
    if (real.exit_) real.exit_(status);
    syscall(SYS_exit_group, status); /* not reached */
    __builtin_unreachable();
}

HL_EXPORT void exit(int status) {
    ready();
    hl_tables_record_exit(status);
    if (real.std_exit) real.std_exit(status);
    syscall(SYS_exit_group, status); /* not reached */
    __builtin_unreachable();
}

/* ---- the program's main ------------------------------------------------------ */
/* A process that ends by returning from main (CPython 3.12+ does after
 * sys.exit, and every Python process that just ends) calls exit inside libc,
 * where no interposer sees it: preloaded, main itself is wrapped, through the
 * __libc_start_main that the executable's start code calls through its PLT,
 * so that its status reaches the tables file too. */
typedef int (*hl_main_fn)(int, char **, char **);
typedef int (*hl_start_main_fn)(hl_main_fn, int, char **, void (*)(void), void (*)(void),
                                void (*)(void), void *);
static hl_main_fn program_main;

static int main_wrapper(int argc, char **argv, char **envp) {
    int status = program_main(argc, argv, envp);
    hl_tables_record_exit(status);
    return status;
}

HL_EXPORT int __libc_start_main(hl_main_fn program, int argc, char **argv, void (*init)(void),
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
    ready();
    hl_start_main_fn next;
    *(void **)&next = real.dlsym(RTLD_NEXT, "__libc_start_main");
    program_main = program;
    return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* ---- fork ------------------------------------------------------------------ */
/* The core's fork handlers are posix/fork.c's; the child's region lock starts
 * free again here (only the forking thread runs there). */
static void regions_after_fork_child(void) {
    hl_spinlock fresh = HL_SPINLOCK_INIT;
    region_lock = fresh;
}

__attribute__((constructor)) static void regions_init(void) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) page_size = (size_t)ps;
    pthread_atfork(NULL, NULL, regions_after_fork_child);
}

/* ---- hidden aliases, for in-process patching (linux/got_patch.c) ---------- */
#if defined(__clang__)
#define HL_ALIAS(name) __attribute__((alias(#name), visibility("hidden")))
#else
#define HL_ALIAS(name) __attribute__((alias(#name), copy(name), visibility("hidden")))
#endif
__typeof__(malloc) hl_hook_malloc HL_ALIAS(malloc);
__typeof__(calloc) hl_hook_calloc HL_ALIAS(calloc);
__typeof__(realloc) hl_hook_realloc HL_ALIAS(realloc);
__typeof__(free) hl_hook_free HL_ALIAS(free);
__typeof__(posix_memalign) hl_hook_posix_memalign HL_ALIAS(posix_memalign);
__typeof__(aligned_alloc) hl_hook_aligned_alloc HL_ALIAS(aligned_alloc);
__typeof__(memalign) hl_hook_memalign HL_ALIAS(memalign);
__typeof__(valloc) hl_hook_valloc HL_ALIAS(valloc);
__typeof__(pvalloc) hl_hook_pvalloc HL_ALIAS(pvalloc);
__typeof__(mmap) hl_hook_mmap HL_ALIAS(mmap);
__typeof__(hl_hook_mmap64) hl_hook_mmap64 HL_ALIAS(mmap64);
__typeof__(munmap) hl_hook_munmap HL_ALIAS(munmap);
__typeof__(dlsym) hl_hook_dlsym HL_ALIAS(dlsym);
__typeof__(_exit) hl_hook_exit HL_ALIAS(_exit);
