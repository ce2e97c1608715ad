/* Hooks for Python's allocator domains (RAW, MEM, OBJ), installed by the
 * extension with PyMem_SetAllocator and chaining to the allocator that was in
 * place. Python bytes are sampled here; while a hook runs, the thread is
 * marked busy so the native hooks below it (pymalloc -> malloc) count the
 * footprint but do not sample the same bytes again. A hook entered while the
 * thread is already busy (OBJ -> RAW for large objects) just forwards.
 *
 * Small requests (1 to 512 bytes) of the MEM and OBJ domains take a shorter
 * path when pymalloc serves them: it then never calls down into malloc except
 * to get a new arena, and the arena allocator is wrapped to mark the thread
 * busy for that, so these hooks need not touch the busy flag at all. They
 * count the request before making it and end in a tail call to pymalloc, so
 * between samples a small allocation costs the count and a jump; when a
 * sample is due the hook makes the call itself. Each of the two domains has
 * its own functions, which reach the allocator below through a global of
 * their own, and a variant for each way of finding the thread's TLS block.
 *
 * Bytes of the MEM and OBJ domains (Python objects and their buffers) count as
 * Python; bytes requested directly from the RAW domain count as native: that
 * domain is C code asking for plain memory (numpy >= 2.5 allocates array data
 * with PyMem_RawMalloc), the same thing it would get from malloc.
 */
#include "thread_state.h"

/* pymalloc's largest small request (SMALL_REQUEST_THRESHOLD) */
#define PYMALLOC_MAX 512

typedef struct {
    hl_pyalloc prev;
    int kind; /* what the bytes count as */
} py_domain;

static py_domain domains[3];

/* ---- every request of RAW, and the other requests of MEM and OBJ ---------- */
static void *py_malloc(void *ctx, size_t n) {
    py_domain *d = ctx;
    hl_thread *t = hl_self();
    if (t->busy) return d->prev.malloc(d->prev.ctx, n);
    t->busy = HL_BUSY_PY;
    void *p = d->prev.malloc(d->prev.ctx, n);
    t->busy = 0;
    if (HL_LIKELY(p != NULL)) hl_fast_count(t, HL_FAST_PY_MALLOC, p, n, d->kind);
    return p;
}

static void *py_calloc(void *ctx, size_t nelem, size_t elsize) {
    py_domain *d = ctx;
    hl_thread *t = hl_self();
    if (t->busy) return d->prev.calloc(d->prev.ctx, nelem, elsize);
    t->busy = HL_BUSY_PY;
    void *p = d->prev.calloc(d->prev.ctx, nelem, elsize);
    t->busy = 0;
    if (HL_LIKELY(p != NULL)) hl_fast_count(t, HL_FAST_PY_CALLOC, p, nelem * elsize, d->kind);
    return p;
}

static void *py_realloc(void *ctx, void *ptr, size_t n) {
    py_domain *d = ctx;
    hl_thread *t = hl_self();
    if (t->busy) return d->prev.realloc(d->prev.ctx, ptr, n);
    t->busy = HL_BUSY_PY;
    t->nested_set = 0;
    void *q = d->prev.realloc(d->prev.ctx, ptr, n);
    t->busy = 0;
    if (HL_UNLIKELY(q == NULL)) return q;
    hl_block *b = hl_rare_count(t, HL_HOOK_PY_REALLOC, n, 0);
    if (b == NULL) { /* no block: a sampled block that moved is forgotten */
        if (ptr && q != ptr && HL_UNLIKELY(hl_filter_maybe(ptr))) hl_free_slow(ptr);
        return q;
    }
    /* When the block lives in malloc, the native realloc below measured its
     * old and new sizes. Otherwise pymalloc served it (<= 512 bytes, size not
     * known here): a fresh allocation of n bytes. */
    if (t->nested_set)
        hl_on_realloc(t, b, HL_PROC_PY_REALLOC, ptr, q, t->nested_old, t->nested_new, d->kind);
    else
        hl_on_realloc(t, b, HL_PROC_PY_REALLOC, ptr, q, -1, (int64_t)n, d->kind);
    return q;
}

static void py_free(void *ctx, void *ptr) {
    py_domain *d = ctx;
    /* no thread state needed: only a block that may be a sampled one costs
     * anything (a free nested in another hook finds it already removed) */
    if (HL_UNLIKELY(hl_filter_maybe(ptr))) hl_free_slow(ptr);
    d->prev.free(d->prev.ctx, ptr);
}

/* ---- small requests of MEM and OBJ over pymalloc ----------------------------- */
static hl_pyalloc prev_mem, prev_obj;

/* The request was counted, and a sample is due or the thread has no block
 * yet: make the call here. A request that fails is taken back off. A new
 * thread is attached before the call (the call may map an arena, whose hook
 * would attach it halfway) and the call then counted as usual. */
__attribute__((noinline)) static void *small_slow(const hl_pyalloc *prev, hl_thread *t, int f,
                                                  size_t nelem, size_t elsize) {
    size_t n = nelem * elsize;
    int first = t->state == HL_STATE_NEW;
    if (first) {
        t->calls[f]--;
        t->left[f] += (int64_t)n;
        hl_thread_block(t);
    }
    void *p = f == HL_FAST_PY_MALLOC ? prev->malloc(prev->ctx, n)
                                     : prev->calloc(prev->ctx, nelem, elsize);
    if (first) {
        if (HL_LIKELY(p != NULL)) hl_fast_count(t, f, p, n, HL_KIND_PYTHON);
    } else if (HL_UNLIKELY(p == NULL)) {
        t->calls[f]--;
        t->left[f] += (int64_t)n;
    } else {
        hl_count_slow(t, f, p, n, HL_KIND_PYTHON);
    }
    return p;
}

/* A product that wraps is not checked for: PyMem_Calloc and PyObject_Calloc
 * refuse those before calling the allocator, and pymalloc below would serve
 * the same wrapped size. */
#define SMALL_HOOKS(D, SELF, SUFFIX)                                                               \
    static void *py_malloc_##D##SUFFIX(void *ctx, size_t n) {                                      \
        if (HL_LIKELY(n - 1 < PYMALLOC_MAX)) {                                                     \
            hl_thread *t = SELF;                                                                   \
            if (HL_LIKELY(hl_py_precount(t, HL_FAST_PY_MALLOC, n)))                                \
                return prev_##D.malloc(prev_##D.ctx, n);                                           \
            return small_slow(&prev_##D, t, HL_FAST_PY_MALLOC, n, 1);                              \
        }                                                                                          \
        return py_malloc(ctx, n);                                                                  \
    }                                                                                              \
    static void *py_calloc_##D##SUFFIX(void *ctx, size_t nelem, size_t elsize) {                   \
        size_t n = nelem * elsize;                                                                 \
        if (HL_LIKELY(n - 1 < PYMALLOC_MAX)) {                                                     \
            hl_thread *t = SELF;                                                                   \
            if (HL_LIKELY(hl_py_precount(t, HL_FAST_PY_CALLOC, n)))                                \
                return prev_##D.calloc(prev_##D.ctx, nelem, elsize);                               \
            return small_slow(&prev_##D, t, HL_FAST_PY_CALLOC, nelem, elsize);                     \
        }                                                                                          \
        return py_calloc(ctx, nelem, elsize);                                                      \
    }

SMALL_HOOKS(mem, hl_self(), _desc)
SMALL_HOOKS(obj, hl_self(), _desc)

#if defined(HL_HAVE_FS_OPS)
/* The same with the TLS block in static TLS: its fields reached through %fs. */
#define SMALL_HOOKS_STATIC(D)                                                                      \
    static void *py_malloc_##D##_static(void *ctx, size_t n) {                                     \
        if (HL_LIKELY(n - 1 < PYMALLOC_MAX)) {                                                     \
            intptr_t off = hl_tls_static_off;                                                      \
            bool due;                                                                              \
            HL_FS_INC(off, calls[HL_FAST_PY_MALLOC]);                                              \
            HL_FS_SUB(le, due, off, left[HL_FAST_PY_MALLOC], n);                                   \
            if (HL_LIKELY(!due)) return prev_##D.malloc(prev_##D.ctx, n);                          \
            return small_slow(&prev_##D, hl_tls_at(off), HL_FAST_PY_MALLOC, n, 1);                 \
        }                                                                                          \
        return py_malloc(ctx, n);                                                                  \
    }                                                                                              \
    static void *py_calloc_##D##_static(void *ctx, size_t nelem, size_t elsize) {                  \
        size_t n = nelem * elsize;                                                                 \
        if (HL_LIKELY(n - 1 < PYMALLOC_MAX)) {                                                     \
            intptr_t off = hl_tls_static_off;                                                      \
            bool due;                                                                              \
            HL_FS_INC(off, calls[HL_FAST_PY_CALLOC]);                                              \
            HL_FS_SUB(le, due, off, left[HL_FAST_PY_CALLOC], n);                                   \
            if (HL_LIKELY(!due)) return prev_##D.calloc(prev_##D.ctx, nelem, elsize);              \
            return small_slow(&prev_##D, hl_tls_at(off), HL_FAST_PY_CALLOC, nelem, elsize);        \
        }                                                                                          \
        return py_calloc(ctx, nelem, elsize);                                                      \
    }

SMALL_HOOKS_STATIC(mem)
SMALL_HOOKS_STATIC(obj)
#endif

static void py_free_mem(void *ctx, void *ptr) {
    (void)ctx;
    if (HL_UNLIKELY(hl_filter_maybe(ptr))) hl_free_slow(ptr);
    prev_mem.free(prev_mem.ctx, ptr);
}

static void py_free_obj(void *ctx, void *ptr) {
    (void)ctx;
    if (HL_UNLIKELY(hl_filter_maybe(ptr))) hl_free_slow(ptr);
    prev_obj.free(prev_obj.ctx, ptr);
}

/* ---- arenas: pymalloc's only way down to the native layer for small objects */
static hl_pyarena arena_prev;

static void *arena_alloc(void *ctx, size_t size) {
    (void)ctx;
    hl_thread *t = hl_self();
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_PY;
    void *p = arena_prev.alloc(arena_prev.ctx, size);
    t->busy = saved;
    return p;
}

static void arena_free(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    hl_thread *t = hl_self();
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_PY;
    arena_prev.free(arena_prev.ctx, ptr, size);
    t->busy = saved;
}

void hl_pyarena_wrap(const hl_pyarena *prev, hl_pyarena *hook) {
    arena_prev = *prev;
    hook->ctx = NULL;
    hook->alloc = arena_alloc;
    hook->free = arena_free;
}

void hl_pyalloc_wrap(int domain, const hl_pyalloc *prev, hl_pyalloc *hook, size_t direct_max) {
    if (domain < 0 || domain > 2) return;
    domains[domain].prev = *prev;
    domains[domain].kind = domain == 0 ? HL_KIND_NATIVE : HL_KIND_PYTHON;
    hook->ctx = &domains[domain];
    hook->malloc = py_malloc;
    hook->calloc = py_calloc;
    hook->realloc = py_realloc;
    hook->free = py_free;
    if (domain == 0 || direct_max < PYMALLOC_MAX) return;
    int mem = domain == 1;
    *(mem ? &prev_mem : &prev_obj) = *prev;
    hook->free = mem ? py_free_mem : py_free_obj;
#if defined(HL_HAVE_FS_OPS)
    if (hl_tls_static_off != 0) {
        hook->malloc = mem ? py_malloc_mem_static : py_malloc_obj_static;
        hook->calloc = mem ? py_calloc_mem_static : py_calloc_obj_static;
        return;
    }
#endif
    hook->malloc = mem ? py_malloc_mem_desc : py_malloc_obj_desc;
    hook->calloc = mem ? py_calloc_mem_desc : py_calloc_obj_desc;
}
