/* The native allocator layer on Windows: one set of wrappers per C runtime
 * (msvcrt.dll, ucrtbase.dll, each msvcr*.dll - they are separate heaps, and a
 * block must go back to the runtime that allocated it). windows/iat_patch.c points
 * import slots at these wrappers; each wrapper calls its own runtime's
 * function (found with GetProcAddress on the module that the slot pointed
 * into), then does what the Linux hooks do: exact counters, footprint and the
 * sampler's countdown.
 *
 * Block sizes come from the same runtime's _msize. _msize does not work on
 * _aligned_malloc blocks, so their requested sizes are kept in a side table
 * keyed by pointer (static open addressing under a spinlock).
 */
#include "hooks.h"

#include <string.h>

/* ---- hooked names ---------------------------------------------------------- */
static const char *const fn_names[HL_CRT_NFN] = {
    "malloc", "calloc", "realloc", "free", "_aligned_malloc", "_aligned_realloc", "_aligned_free",
};

int hl_crt_fn_index(const char *name) {
    for (int i = 0; i < HL_CRT_NFN; i++)
        if (strcmp(fn_names[i], name) == 0) return i;
    return -1;
}

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int name_is(const char *a, const char *b) {
    while (*a && *b && lower((unsigned char)*a) == *b)
        a++, b++;
    return *a == 0 && *b == 0;
}

int hl_crt_is_runtime_dll(const char *dll) {
    if (name_is(dll, "ucrtbase.dll") || name_is(dll, "api-ms-win-crt-heap-l1-1-0.dll")) return 1;
    /* msvcrt.dll, msvcr90.dll, msvcr120d.dll, ... */
    static const char prefix[] = "msvcr";
    size_t i = 0;
    for (; prefix[i]; i++)
        if (lower((unsigned char)dll[i]) != prefix[i]) return 0;
    size_t n = strlen(dll);
    return n >= 9 && name_is(dll + n - 4, ".dll");
}

/* ---- runtimes ------------------------------------------------------------------ */
typedef struct {
    HMODULE module;
    void *(__cdecl *malloc)(size_t);
    void *(__cdecl *calloc)(size_t, size_t);
    void *(__cdecl *realloc)(void *, size_t);
    void(__cdecl *free)(void *);
    size_t(__cdecl *msize)(void *);
    void *(__cdecl *aligned_malloc)(size_t, size_t);
    void *(__cdecl *aligned_realloc)(void *, size_t, size_t);
    void(__cdecl *aligned_free)(void *);
} crt_runtime;

#define HL_RUNTIMES 8
static crt_runtime rts[HL_RUNTIMES];
static _Atomic int nrts;

/* ---- sizes of aligned blocks ------------------------------------------------------ */
#define ALIGNED_SLOTS (1u << 18)
typedef struct {
    uintptr_t ptr; /* 0 empty */
    size_t size;
} aligned_entry;
static aligned_entry aligned[ALIGNED_SLOTS];
static uint32_t aligned_count;
static uint64_t aligned_dropped;
static hl_spinlock aligned_lock = HL_SPINLOCK_INIT;

static uint32_t aligned_home(uintptr_t p) {
    return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> 46) & (ALIGNED_SLOTS - 1);
}

static void aligned_put(void *p, size_t size) {
    uintptr_t k = (uintptr_t)p;
    hl_lock(&aligned_lock);
    if (aligned_count >= ALIGNED_SLOTS / 4 * 3) {
        aligned_dropped++;
    } else {
        uint32_t i = aligned_home(k);
        while (aligned[i].ptr != 0 && aligned[i].ptr != k)
            i = (i + 1) & (ALIGNED_SLOTS - 1);
        if (aligned[i].ptr == 0) aligned_count++;
        aligned[i].ptr = k;
        aligned[i].size = size;
    }
    hl_unlock(&aligned_lock);
}

/* Removes p; returns its recorded size, 0 when unknown. */
static size_t aligned_take(void *p) {
    uintptr_t k = (uintptr_t)p;
    size_t size = 0;
    hl_lock(&aligned_lock);
    uint32_t i = aligned_home(k);
    while (aligned[i].ptr != 0 && aligned[i].ptr != k)
        i = (i + 1) & (ALIGNED_SLOTS - 1);
    if (aligned[i].ptr == k) {
        size = aligned[i].size;
        aligned_count--;
        /* backward-shift deletion keeps every probe chain unbroken */
        uint32_t hole = i, j = i;
        for (;;) {
            j = (j + 1) & (ALIGNED_SLOTS - 1);
            if (aligned[j].ptr == 0) break;
            uint32_t h = aligned_home(aligned[j].ptr);
            if (((j - h) & (ALIGNED_SLOTS - 1)) >= ((j - hole) & (ALIGNED_SLOTS - 1))) {
                aligned[hole] = aligned[j];
                hole = j;
            }
        }
        aligned[hole].ptr = 0;
        aligned[hole].size = 0;
    }
    hl_unlock(&aligned_lock);
    return size;
}

uint64_t hl_crt_aligned_dropped(void) {
    hl_lock(&aligned_lock);
    uint64_t n = aligned_dropped;
    hl_unlock(&aligned_lock);
    return n;
}

/* ---- the wrappers, written once and instantiated per runtime ------------------------- */
static inline void *do_malloc(crt_runtime *rt, size_t n) {
    void *p = rt->malloc(n);
    if (HL_LIKELY(p != NULL)) hl_native_alloc(hl_self(), HL_HOOK_MALLOC, p, n, rt->msize(p));
    return p;
}

static inline void *do_calloc(crt_runtime *rt, size_t nelem, size_t elsize) {
    void *p = rt->calloc(nelem, elsize);
    if (HL_LIKELY(p != NULL))
        hl_native_alloc(hl_self(), HL_HOOK_CALLOC, p, nelem * elsize, rt->msize(p));
    return p;
}

static inline void do_free(crt_runtime *rt, void *p) {
    if (HL_UNLIKELY(p == NULL)) {
        rt->free(p);
        return;
    }
    hl_native_free(hl_self(), HL_HOOK_FREE, p, rt->msize(p));
    rt->free(p);
}

static inline void *do_realloc(crt_runtime *rt, void *p, size_t n) {
    size_t u0 = p ? rt->msize(p) : 0;
    void *q = rt->realloc(p, n);
    hl_thread *t = hl_self();
    if (q == NULL) {
        /* the C runtime's realloc(p, 0) frees p */
        if (p && n == 0) hl_native_free(t, HL_HOOK_FREE, p, u0);
        return q;
    }
    hl_native_realloc(t, HL_HOOK_REALLOC, p, q, n, u0, rt->msize(q));
    return q;
}

static inline void *do_aligned_malloc(crt_runtime *rt, size_t n, size_t align) {
    void *p = rt->aligned_malloc(n, align);
    if (HL_LIKELY(p != NULL)) {
        hl_thread *t = hl_self();
        uint32_t saved = t->busy;
        t->busy |= HL_BUSY_CORE;
        aligned_put(p, n);
        t->busy = saved;
        hl_native_alloc(t, HL_HOOK_ALIGNED_MALLOC, p, n, n);
    }
    return p;
}

static inline void *do_aligned_realloc(crt_runtime *rt, void *p, size_t n, size_t align) {
    void *q = rt->aligned_realloc(p, n, align);
    if (q == NULL && !(p && n == 0)) return q; /* failed: p untouched */
    hl_thread *t = hl_self();
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    size_t u0 = p ? aligned_take(p) : 0;
    if (q) aligned_put(q, n);
    t->busy = saved;
    if (q == NULL) { /* _aligned_realloc(p, 0) frees p */
        hl_native_free(t, HL_HOOK_ALIGNED_FREE, p, u0);
        return q;
    }
    hl_native_realloc(t, HL_HOOK_ALIGNED_REALLOC, p, q, n, u0, n);
    return q;
}

static inline void do_aligned_free(crt_runtime *rt, void *p) {
    if (HL_UNLIKELY(p == NULL)) {
        rt->aligned_free(p);
        return;
    }
    hl_thread *t = hl_self();
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    size_t u = aligned_take(p);
    t->busy = saved;
    hl_native_free(t, HL_HOOK_ALIGNED_FREE, p, u);
    rt->aligned_free(p);
}

#define RT_WRAPPERS(i)                                                                             \
    static void *__cdecl rt##i##_malloc(size_t n) {                                                \
        return do_malloc(&rts[i], n);                                                              \
    }                                                                                              \
    static void *__cdecl rt##i##_calloc(size_t a, size_t b) {                                      \
        return do_calloc(&rts[i], a, b);                                                           \
    }                                                                                              \
    static void *__cdecl rt##i##_realloc(void *p, size_t n) {                                      \
        return do_realloc(&rts[i], p, n);                                                          \
    }                                                                                              \
    static void __cdecl rt##i##_free(void *p) {                                                    \
        do_free(&rts[i], p);                                                                       \
    }                                                                                              \
    static void *__cdecl rt##i##_aligned_malloc(size_t n, size_t a) {                              \
        return do_aligned_malloc(&rts[i], n, a);                                                   \
    }                                                                                              \
    static void *__cdecl rt##i##_aligned_realloc(void *p, size_t n, size_t a) {                    \
        return do_aligned_realloc(&rts[i], p, n, a);                                               \
    }                                                                                              \
    static void __cdecl rt##i##_aligned_free(void *p) {                                            \
        do_aligned_free(&rts[i], p);                                                               \
    }
#define RT_ROW(i)                                                                                  \
    {                                                                                              \
        (void *)rt##i##_malloc, (void *)rt##i##_calloc, (void *)rt##i##_realloc,                   \
            (void *)rt##i##_free, (void *)rt##i##_aligned_malloc, (void *)rt##i##_aligned_realloc, \
            (void *)rt##i##_aligned_free                                                           \
    }

RT_WRAPPERS(0)
RT_WRAPPERS(1)
RT_WRAPPERS(2)
RT_WRAPPERS(3)
RT_WRAPPERS(4)
RT_WRAPPERS(5)
RT_WRAPPERS(6)
RT_WRAPPERS(7)

static void *const wrappers[HL_RUNTIMES][HL_CRT_NFN] = {
    RT_ROW(0), RT_ROW(1), RT_ROW(2), RT_ROW(3), RT_ROW(4), RT_ROW(5), RT_ROW(6), RT_ROW(7),
};

/* ---- registering a runtime --------------------------------------------------------- */
/* The loader calls (GetModuleHandleExW, GetProcAddress) are made holding no
 * lock of heapline's: they may wait for the loader lock, whose holder (a
 * DllMain calling the GetProcAddress hook) may be registering too. The lock
 * guards only the publication of a new entry. */
static SRWLOCK register_mu = SRWLOCK_INIT;

static int known_module(HMODULE m) {
    int n = atomic_load_explicit(&nrts, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (rts[i].module == m) return i;
    return -1;
}

static int runtime_of(void *original) {
    HMODULE m = NULL;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCWSTR)original, &m) ||
        m == NULL)
        return -1;
    int i = known_module(m);
    if (i >= 0) return i;
    crt_runtime r;
    memset(&r, 0, sizeof r);
    r.module = m;
#define LOOK(field, name)                                                                          \
    do {                                                                                           \
        FARPROC f_ = GetProcAddress(m, name);                                                      \
        memcpy(&r.field, &f_, sizeof f_);                                                          \
    } while (0)
    LOOK(malloc, "malloc");
    LOOK(calloc, "calloc");
    LOOK(realloc, "realloc");
    LOOK(free, "free");
    LOOK(msize, "_msize");
    LOOK(aligned_malloc, "_aligned_malloc");
    LOOK(aligned_realloc, "_aligned_realloc");
    LOOK(aligned_free, "_aligned_free");
#undef LOOK
    /* a module that is not a C runtime (a slot already redirected by another
     * tool) has no _msize: leave its slots alone */
    if (!r.malloc || !r.calloc || !r.realloc || !r.free || !r.msize) return -1;
    AcquireSRWLockExclusive(&register_mu);
    i = known_module(m); /* registered by another thread meanwhile */
    if (i < 0) {
        int n = atomic_load(&nrts);
        if (n < HL_RUNTIMES) {
            rts[n] = r;
            atomic_store_explicit(&nrts, n + 1, memory_order_release);
            i = n;
        }
    }
    ReleaseSRWLockExclusive(&register_mu);
    return i;
}

void *hl_crt_wrapper_for(int fn, void *original) {
    if (fn < 0 || fn >= HL_CRT_NFN || original == NULL) return NULL;
    int i = runtime_of(original);
    if (i < 0) return NULL;
    crt_runtime *r = &rts[i];
    if (fn >= HL_CRT_ALIGNED_MALLOC &&
        (!r->aligned_malloc || !r->aligned_realloc || !r->aligned_free))
        return NULL;
    return wrappers[i][fn];
}

/* ---- baseline ------------------------------------------------------------------------ */
int64_t hl_crt_heap_in_use(void) {
    static HANDLE heaps[256];
    DWORD n = GetProcessHeaps(256, heaps);
    if (n > 256) n = 256;
    int64_t total = 0;
    for (DWORD i = 0; i < n; i++) {
        if (!HeapLock(heaps[i])) continue;
        PROCESS_HEAP_ENTRY e;
        e.lpData = NULL;
        while (HeapWalk(heaps[i], &e))
            if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY) total += (int64_t)e.cbData;
        HeapUnlock(heaps[i]);
    }
    return total;
}
