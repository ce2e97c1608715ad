/* Per-thread state of the hooks (TLS) and the fast-path helpers every hook
 * inlines: recursion guard, exact counters, the byte countdown to the next
 * sample, and the footprint counter. Nothing here allocates or locks.
 */
#ifndef HEAPLINE_THREAD_STATE_H
#define HEAPLINE_THREAD_STATE_H

#include "heapline.h"

#include <stdatomic.h>
#include <stdbool.h>

/* Bits of hl_thread.busy. */
#define HL_BUSY_PY   1u /* inside a Python-allocator hook: native calls are not sampled */
#define HL_BUSY_CORE 2u /* inside heapline itself: nothing is sampled */

typedef struct hl_thread {
    int64_t countdown; /* bytes left before the next sample; <= 0 means "take the slow path" */
    uint32_t busy;
    uint32_t nested_set; /* a native realloc ran inside a Python realloc hook */
    uint32_t seed_gen;   /* hl_set_seed generation this thread's rng follows */
    int64_t nested_old;  /* ...and the block's usable size before and after */
    int64_t nested_new;
    uint64_t rng;
    hl_counter *ctr; /* this thread's counter block (NULL until registered) */
} hl_thread;

void hl_thread_register(hl_thread *t);

#ifdef _WIN32
/* Windows: gcc's _Thread_local on MinGW is emulated TLS, which calls malloc on
 * a thread's first touch (re-entrancy), so the per-thread block comes from a
 * TlsAlloc slot instead. The block itself is taken from a static pool on the
 * thread's first hooked call (hl_thread_attach, thread_state.c), never malloc. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

extern DWORD hl_tls_index; /* TLS_OUT_OF_INDEXES until the first attach */
hl_thread *hl_thread_attach(void);
#else
/* The TLS model: the default for -fPIC, compiled with TLS descriptors where the
 * compiler supports them, so the library works both preloaded and dlopen'ed. */
extern _Thread_local hl_thread hl_tls;
#endif

/* The sampler's random numbers (sampler.c). */
uint64_t hl_rng_seed_for_thread(void);
int64_t hl_draw_countdown(uint64_t *rng);
uint32_t hl_seed_generation(void);

/* This thread's state. The address is computed once per hook: the empty asm
 * keeps the compiler from redoing the TLS-descriptor call after each call
 * the hook makes. */
#ifdef _WIN32
/* TlsGetValue clears the thread's last-error code on success; a hook must not
 * change what GetLastError() tells the program, so it is saved and restored
 * (both are plain loads/stores of the thread environment block). */
static inline hl_thread *hl_self(void) {
    DWORD err = GetLastError();
    hl_thread *t = (hl_thread *)TlsGetValue(hl_tls_index);
    if (HL_UNLIKELY(t == NULL)) t = hl_thread_attach();
    SetLastError(err);
    return t;
}
#else
static inline hl_thread *hl_self(void) {
    hl_thread *t = &hl_tls;
    __asm__("" : "+r"(t));
    return t;
}
#endif

/* Exact per-thread counters. */
static inline void hl_count(hl_thread *t, int hook, uint64_t bytes) {
    hl_counter *c = t->ctr;
    if (HL_UNLIKELY(c == NULL)) {
        hl_thread_register(t);
        c = t->ctr;
    }
    c[hook].calls += 1;
    c[hook].bytes += bytes;
}

/* ---- footprint ---- */
extern _Atomic int64_t hl_fp_current;
extern _Atomic int64_t hl_fp_peak;
void hl_fp_new_peak(int64_t now);

static inline void hl_fp_add(int64_t delta) {
    int64_t now = atomic_fetch_add_explicit(&hl_fp_current, delta, memory_order_relaxed) + delta;
    if (delta > 0 && HL_UNLIKELY(now > atomic_load_explicit(&hl_fp_peak, memory_order_relaxed)))
        hl_fp_new_peak(now);
}

/* ---- sampling slow paths (sampler.c) ---- */
enum hl_kind { HL_KIND_PYTHON = 0, HL_KIND_NATIVE = 1 };

/* The countdown went <= 0 while accounting `n` bytes at `ptr`: maybe a sample. */
void hl_sample_slow(hl_thread *t, void *ptr, size_t n, int kind);
/* A block that may be a sampled live block is going away. */
void hl_free_slow(void *ptr);
/* A block moved or resized from `old` (may be NULL) to `new_`. With
 * old_size >= 0 the sizes are known and only growth is charged; with
 * old_size < 0 (a block of Python's small-object allocator) the new block
 * counts as a fresh allocation of new_size. The countdown has not been
 * charged yet. */
void hl_realloc_slow(hl_thread *t, void *old, void *new_, int64_t old_size, int64_t new_size,
                     int kind);

/* ---- live-block filter (live_table.c) ---- */
#define HL_FILTER_BITS 20
extern _Atomic uint8_t hl_filter[1u << HL_FILTER_BITS];

/* Blocks are at least 16-byte aligned: the address bits above those pick the
 * slot, so neighbouring blocks take neighbouring slots (a 64-byte line of the
 * filter covers 1 KiB of heap) and the check is a shift, a mask and a load. */
static inline uint32_t hl_filter_slot(const void *p) {
    return (uint32_t)((uintptr_t)p >> 4) & ((1u << HL_FILTER_BITS) - 1);
}
/* False means "certainly not a sampled live block". */
static inline bool hl_filter_maybe(const void *p) {
    return atomic_load_explicit(&hl_filter[hl_filter_slot(p)], memory_order_relaxed) != 0;
}

/* Fast path shared by every allocating hook once the real call succeeded. */
static inline void hl_on_alloc(hl_thread *t, int hook, void *p, size_t n, int kind) {
    hl_count(t, hook, n);
    if (t->busy) return;
    int64_t left = t->countdown - (int64_t)n;
    t->countdown = left;
    if (HL_UNLIKELY(left <= 0)) hl_sample_slow(t, p, n, kind);
}

/* Fast path of both realloc hooks: the slow path only when the old block
 * may be a sampled one or the countdown runs out. */
static inline void hl_on_realloc(hl_thread *t, void *old, void *new_, int64_t old_size,
                                 int64_t new_size, int kind) {
    int64_t charge = old_size >= 0 ? new_size - old_size : new_size;
    if ((old && hl_filter_maybe(old)) || (charge > 0 && t->countdown - charge <= 0))
        hl_realloc_slow(t, old, new_, old_size, new_size, kind);
    else if (charge > 0)
        t->countdown -= charge;
}

static inline void hl_on_free(hl_thread *t, void *p) {
    if (!t->busy && HL_UNLIKELY(hl_filter_maybe(p))) hl_free_slow(p);
}

/* ---- one call per native event (the Linux hooks and the Windows wrappers) ---- */
/* A block of usable size u came back for a request of n bytes. */
static inline void hl_native_alloc(hl_thread *t, int hook, void *p, size_t n, size_t u) {
    hl_fp_add((int64_t)u);
    hl_on_alloc(t, hook, p, n, HL_KIND_NATIVE);
}

/* Block p of usable size u goes away (`hook`: free, realloc(p, 0), munmap). */
static inline void hl_native_free(hl_thread *t, int hook, void *p, size_t u) {
    hl_fp_add(-(int64_t)u);
    hl_count(t, hook, u);
    hl_on_free(t, p);
}

/* An anonymous mapping of `len` bytes (n of them in whole pages) at p. */
static inline void hl_native_map(hl_thread *t, void *p, size_t len, size_t n) {
    hl_fp_add((int64_t)n);
    hl_count(t, HL_HOOK_MMAP, len);
    if (!t->busy) {
        t->countdown -= (int64_t)n;
        if (HL_UNLIKELY(t->countdown <= 0)) hl_sample_slow(t, p, n, HL_KIND_NATIVE);
    }
}

/* Block p of usable size u0 became q of usable size u1 (n bytes requested;
 * p NULL: a fresh block). Inside a Python hook the sizes are handed up. */
static inline void hl_native_realloc(hl_thread *t, int hook, void *p, void *q, size_t n, size_t u0,
                                     size_t u1) {
    hl_fp_add((int64_t)u1 - (int64_t)u0);
    hl_count(t, hook, n);
    if (t->busy) {
        if (t->busy & HL_BUSY_PY) {
            t->nested_set = 1;
            t->nested_old = (int64_t)u0;
            t->nested_new = (int64_t)u1;
        }
        return;
    }
    hl_on_realloc(t, p, q, p ? (int64_t)u0 : 0, (int64_t)u1, HL_KIND_NATIVE);
}

/* ---- small spinlock for the slow paths ---- */
typedef struct {
    atomic_flag f;
} hl_spinlock;
#define HL_SPINLOCK_INIT                                                                           \
    { ATOMIC_FLAG_INIT }
static inline void hl_lock(hl_spinlock *l) {
    while (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}
static inline void hl_unlock(hl_spinlock *l) {
    atomic_flag_clear_explicit(&l->f, memory_order_release);
}

/* The lock guarding the stats, file and live tables. */
extern hl_spinlock hl_tables_lock;

#endif
