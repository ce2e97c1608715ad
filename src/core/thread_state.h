/* Per-thread state of the hooks and the fast paths every hook inlines.
 *
 * A thread's TLS block (hl_thread) holds only what the hot hooks touch: the
 * footprint room left before the peak must be checked, the byte countdowns
 * to the next sample of malloc, calloc, free and the Python small-object
 * hooks (which are also their exact byte counts) and their call counts.
 * The rest of the thread's state is in a cold block from a static pool
 * (hl_block, thread_state.c), taken on the thread's first hooked call: the
 * TLS block starts out holding sentinels that send every hook to the slow
 * path. Nothing here allocates or locks.
 */
#ifndef HEAPLINE_THREAD_STATE_H
#define HEAPLINE_THREAD_STATE_H

#include "heapline.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>

/* Internal globals the fast paths read: declared hidden so that the
 * compiler addresses them directly rather than through the GOT. */
#if defined(__GNUC__) && !defined(_WIN32)
#define HL_HIDDEN __attribute__((visibility("hidden")))
#else
#define HL_HIDDEN
#endif

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

/* Bits of hl_thread.busy. */
#define HL_BUSY_PY   1u /* inside a Python-allocator hook: native calls are not sampled */
#define HL_BUSY_CORE 2u /* inside heapline itself: nothing is sampled */

/* The hooks whose counts live in the TLS block. */
enum hl_fast {
    HL_FAST_MALLOC,
    HL_FAST_CALLOC,
    HL_FAST_FREE,
    HL_FAST_PY_MALLOC,
    HL_FAST_PY_CALLOC,
    HL_FAST_COUNT
};

/* Sampling processes of the other allocating hooks (countdowns in the cold
 * block). Each process is a Poisson process of its own over the bytes it is
 * charged: together they sample every allocation independently. */
enum hl_proc { HL_PROC_REALLOC, HL_PROC_ALIGNED, HL_PROC_MMAP, HL_PROC_PY_REALLOC, HL_PROC_COUNT };

enum hl_state {
    HL_STATE_NEW = 0,  /* sentinels: no hooked call yet */
    HL_STATE_ATTACHED, /* has a cold block */
    HL_STATE_OUT,      /* after its exit handler (or with no block left): sentinels, and
                        * each call is counted on the slow path in the shared block */
};

/* Free's countdown: bytes freed between two looks at the thread's room (its
 * free counter's bytes come from it as for the other hot hooks). */
#define HL_FREE_PERIOD (64 * 1024)

/* A countdown or room far below zero: any hook goes to the slow path. */
#define HL_SENTINEL (INT64_MIN / 4)

typedef struct hl_block hl_block;

typedef struct hl_thread {
    int64_t room;                /* footprint growth left before the peak check */
    int64_t left[HL_FAST_COUNT]; /* bytes to the next sample (free: to the next check) */
    uint64_t calls[HL_FAST_COUNT];
    uint32_t busy;
    uint32_t state;
    hl_block *blk;
    /* a native realloc nested in a Python realloc hook tells it the sizes */
    uint32_t nested_set;
    int64_t nested_old;
    int64_t nested_new;
} hl_thread;

/* clang-format off */
#define HL_THREAD_INIT                                                                             \
    {.room = HL_SENTINEL,                                                                          \
     .left = {HL_SENTINEL, HL_SENTINEL, HL_SENTINEL, HL_SENTINEL, HL_SENTINEL}}
/* clang-format on */

/* The cold part, one per thread alive at once, reused by later threads. The
 * counts it holds plus those of its thread's TLS block are exact; a block
 * keeps its counts (and its share of the footprint) when its thread exits, so
 * the sum over all blocks is the process's total. */
struct hl_block {
    uint64_t calls[HL_HOOK_COUNT];
    uint64_t bytes[HL_HOOK_COUNT];
    /* attached: a hot hook's bytes are bytes[hook] + anchor[f] - tls->left[f] */
    int64_t anchor[HL_FAST_COUNT];
    int64_t left[HL_PROC_COUNT];
    int64_t ceiling; /* attached: the thread's footprint is ceiling - tls->room */
    int64_t cur;     /* detached: the footprint its threads left */
    /* near the peak (footprint.c): the lowest room seen before a free since the
     * last settle, and the room at which the thread is clear of the peak */
    _Atomic int64_t track_low;
    int64_t track_exit;
    uint32_t tracking;
    uint32_t attached_at; /* its place in footprint.c's list of attached blocks */
    uint32_t seed_gen;    /* hl_set_seed generation its rng follows */
    uint64_t rng;
    hl_thread *tls; /* the attached thread's TLS block; NULL when detached */
};

/* Guards the pool, attaching and detaching, the countdown refills of the hot
 * hooks, the counters' reads and the footprint's peak. */
extern hl_spinlock hl_state_lock;

/* Threads alive at once that get a block of their own. */
#define HL_MAX_BLOCKS 4096

/* The block of threads that have none (counted under hl_state_lock). */
extern hl_block hl_shared_block;
/* Blocks handed out so far (attached or not): [0, *n). */
hl_block *hl_blocks_in_use(uint32_t *n);
#ifndef _WIN32
/* In a child after fork (posix/fork.c): hl_state_lock starts free, and the
 * blocks of the threads that did not come along are detached. */
void hl_thread_after_fork_child(void);
#endif

/* The hook each hot counter counts. */
static inline int hl_fast_hook(int f) {
    static const int hooks[HL_FAST_COUNT] = {HL_HOOK_MALLOC, HL_HOOK_CALLOC, HL_HOOK_FREE,
                                             HL_HOOK_PY_MALLOC, HL_HOOK_PY_CALLOC};
    return hooks[f];
}

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

/* Where hl_tls sits relative to the thread pointer when it is in static TLS
 * (the library preloaded, or dlopen'ed into glibc's surplus), the same for
 * every thread; 0 when not known to be (the hooks then use the descriptor). */
extern HL_HIDDEN intptr_t hl_tls_static_off;
/* Finds hl_tls_static_off (once) and returns it. */
intptr_t hl_tls_offset_init(void);

#if defined(__x86_64__)
static inline hl_thread *hl_tls_at(intptr_t off) {
    char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return (hl_thread *)(tp + off);
}
#define HL_HAVE_TLS_OFF 1

#if defined(__GCC_ASM_FLAG_OUTPUTS__)
/* The fast paths' operations on a field of this thread's TLS block, given the
 * static offset: %fs is the thread pointer, so %fs:field(off) is the field,
 * with no thread pointer to load and no address to form. `field` is a member
 * designator of hl_thread; SUB sets `res` to the condition `cc` (le, s) of
 * the result. */
#define HL_FS_INC(off, field)                                                                      \
    __asm__ volatile("addq $1, %%fs:%c1(%0)" ::"r"(off), "i"(offsetof(hl_thread, field))           \
                     : "memor"                                                                     \
                       "y")
#define HL_FS_ADD(off, field, d)                                                                   \
    __asm__ volatile("addq %1, %%fs:%c2(%0)" ::"r"(off), "er"((int64_t)(d)),                       \
                     "i"(offsetof(hl_thread, field))                                               \
                     : "memory")
#define HL_FS_SUB(cc, res, off, field, d)                                                          \
    __asm__ volatile("subq %2, %%fs:%c3(%1)"                                                       \
                     : "=@cc" #cc(res)                                                             \
                     : "r"(off), "er"((int64_t)(d)), "i"(offsetof(hl_thread, field))               \
                     : "memory")
#define HL_HAVE_FS_OPS 1
#endif
#endif
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

/* ---- the thread's cold block (thread_state.c) ---- */
/* Attaches a new thread to a block or, after its exit (or with no block
 * left), counts what its fast paths left in the TLS block into the shared
 * block. Returns the block, or NULL. `f`/`n`: the hot hook and bytes of the
 * call that got here (f < 0: none to sample); *sample says whether the
 * thread's fresh countdown puts a sample point in it. */
hl_block *hl_thread_settle(hl_thread *t, int f, size_t n, int *sample);
static inline hl_block *hl_thread_block(hl_thread *t) {
    if (HL_LIKELY(t->state == HL_STATE_ATTACHED)) return t->blk;
    return hl_thread_settle(t, -1, 0, NULL);
}

/* ---- footprint (footprint.c) ---- */
/* The thread's room ran out: check the peak, grant more. */
void hl_fp_room_slow(hl_thread *t);
/* Free's countdown ran out (every so many freed bytes, or each free near the
 * peak); u: the bytes of the free that got here. */
void hl_fp_free_slow(hl_thread *t, size_t u);
/* Footprint changes of the rare paths (the thread is attached). */
static inline void hl_fp_grow(hl_thread *t, int64_t d) {
    t->room -= d;
    if (HL_UNLIKELY(t->room < 0)) hl_fp_room_slow(t);
}
void hl_fp_shrink(hl_thread *t, int64_t d);

/* ---- sampling and counting slow paths (sampler.c) ---- */
enum hl_kind { HL_KIND_PYTHON = 0, HL_KIND_NATIVE = 1 };

/* A hot hook's countdown went <= 0 while counting `n` bytes at `ptr` (calls
 * and countdown already updated): maybe a sample. */
void hl_count_slow(hl_thread *t, int f, void *ptr, size_t n, int kind);
/* A native allocation found the room gone: the whole call is accounted here. */
void hl_alloc_slow(hl_thread *t, int f, void *ptr, size_t n, size_t u, int kind);
/* Free's countdown went below zero (the free is already counted). */
void hl_free_count_slow(hl_thread *t, size_t u);
/* An allocating hook with no TLS counters: `counted` bytes on its counter,
 * `fp` bytes of footprint, `charge` bytes for process `proc`. */
void hl_rare_alloc(hl_thread *t, int hook, int proc, void *p, size_t counted, size_t fp,
                   size_t charge, int kind);
/* A releasing hook with no TLS counters (munmap, _aligned_free, realloc(p, 0)). */
void hl_rare_free(hl_thread *t, int hook, void *p, size_t u);
/* Counts a call of a hook without TLS counters and changes the footprint by
 * fp; returns the thread's block (NULL: counted in the shared block). */
hl_block *hl_rare_count(hl_thread *t, int hook, size_t counted, int64_t fp);
/* A block that may be a sampled live block is going away (nothing when the
 * thread is busy: inside a hook or inside heapline). */
void hl_free_slow(void *ptr);
/* A block moved or resized from `old` (may be NULL) to `new_`. With
 * old_size >= 0 the sizes are known and only growth is charged; with
 * old_size < 0 (a block of Python's small-object allocator) the new block
 * counts as a fresh allocation of new_size. The countdown of `proc` has not
 * been charged yet. */
void hl_realloc_slow(hl_thread *t, hl_block *b, int proc, void *old, void *new_, int64_t old_size,
                     int64_t new_size, int kind);
/* Realloc's fast path (both layers): the slow path only when the old block
 * may be a sampled one or the countdown of `proc` runs out. */
void hl_on_realloc(hl_thread *t, hl_block *b, int proc, void *old, void *new_, int64_t old_size,
                   int64_t new_size, int kind);

/* ---- live-block filter (live_table.c) ---- */
#define HL_FILTER_BITS 20
extern HL_HIDDEN _Atomic uint8_t hl_filter[1u << HL_FILTER_BITS];

/* Blocks are at least 16-byte aligned: the address bits above those pick the
 * slot, so neighbouring blocks take neighbouring slots (a 64-byte line of the
 * filter covers 1 KiB of heap) and the check is a shift, a mask and a load. */
static inline uint32_t hl_filter_slot(const void *p) {
    return (uint32_t)((uintptr_t)p >> 4) & ((1u << HL_FILTER_BITS) - 1);
}
/* False means "certainly not a sampled live block". (x86-64: the byte is
 * compared in place; a plain load of one byte is what an atomic relaxed load
 * is there too.) */
static inline bool hl_filter_maybe(const void *p) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    bool set;
    __asm__("cmpb $0, %1" : "=@ccne"(set) : "m"(hl_filter[hl_filter_slot(p)]));
    return set;
#else
    return atomic_load_explicit(&hl_filter[hl_filter_slot(p)], memory_order_relaxed) != 0;
#endif
}

/* ---- fast paths ---- */
/* *p -= d, and whether the result is <= 0 (le) or < 0 (lt): one subtraction
 * into memory and a branch on its flags where the compiler lets us say so.
 * (Countdowns and rooms stay far from overflow: sentinels are -2^61.) */
static inline bool hl_sub_le0(int64_t *p, int64_t d) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    bool le;
    __asm__("subq %2, %0" : "+m"(*p), "=@ccle"(le) : "er"(d));
    return le;
#else
    *p -= d;
    return *p <= 0;
#endif
}
static inline bool hl_sub_lt0(int64_t *p, int64_t d) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    bool lt;
    __asm__("subq %2, %0" : "+m"(*p), "=@ccs"(lt) : "er"(d));
    return lt;
#else
    *p -= d;
    return *p < 0;
#endif
}

/* Counts a call of hot hook f for n bytes; a sample when the countdown ends. */
static inline void hl_fast_count(hl_thread *t, int f, void *p, size_t n, int kind) {
    t->calls[f]++;
    if (HL_UNLIKELY(hl_sub_le0(&t->left[f], (int64_t)n))) hl_count_slow(t, f, p, n, kind);
}

/* Counts a Python request of n bytes before it is made, so that the hook can
 * end in a tail call; false when the slow path must make the call (a sample
 * is due, or the thread's first call). */
static inline bool hl_py_precount(hl_thread *t, int f, size_t n) {
    t->calls[f]++;
    return HL_LIKELY(!hl_sub_le0(&t->left[f], (int64_t)n));
}

/* A native allocation by hot hook f: n bytes asked for, u usable. */
static inline void hl_fast_alloc(hl_thread *t, int f, void *p, size_t n, size_t u) {
    if (HL_UNLIKELY(hl_sub_lt0(&t->room, (int64_t)u)))
        hl_alloc_slow(t, f, p, n, u, HL_KIND_NATIVE);
    else
        hl_fast_count(t, f, p, n, HL_KIND_NATIVE);
}

/* A native free of a block of usable size u. */
static inline void hl_fast_free(hl_thread *t, void *p, size_t u) {
    t->room += (int64_t)u;
    t->calls[HL_FAST_FREE]++;
    if (HL_UNLIKELY(hl_sub_lt0(&t->left[HL_FAST_FREE], (int64_t)u))) hl_free_count_slow(t, u);
    if (HL_UNLIKELY(hl_filter_maybe(p))) hl_free_slow(p);
}

/* ---- one call per native event (the Linux hooks and the Windows wrappers) ---- */
/* A block of usable size u came back for a request of n bytes. */
static inline void hl_native_alloc(hl_thread *t, int hook, void *p, size_t n, size_t u) {
    if (hook == HL_HOOK_MALLOC)
        hl_fast_alloc(t, HL_FAST_MALLOC, p, n, u);
    else if (hook == HL_HOOK_CALLOC)
        hl_fast_alloc(t, HL_FAST_CALLOC, p, n, u);
    else
        hl_rare_alloc(t, hook, HL_PROC_ALIGNED, p, n, u, n, HL_KIND_NATIVE);
}

/* Block p of usable size u goes away (`hook`: free, realloc(p, 0), munmap). */
static inline void hl_native_free(hl_thread *t, int hook, void *p, size_t u) {
    if (hook == HL_HOOK_FREE)
        hl_fast_free(t, p, u);
    else
        hl_rare_free(t, hook, p, u);
}

/* An anonymous mapping of `len` bytes (n of them in whole pages) at p. */
static inline void hl_native_map(hl_thread *t, void *p, size_t len, size_t n) {
    hl_rare_alloc(t, HL_HOOK_MMAP, HL_PROC_MMAP, p, len, n, n, HL_KIND_NATIVE);
}

/* Block p of usable size u0 became q of usable size u1 (n bytes requested;
 * p NULL: a fresh block). Inside a Python hook the sizes are handed up. */
void hl_native_realloc(hl_thread *t, int hook, void *p, void *q, size_t n, size_t u0, size_t u1);

/* The lock guarding the stats, file and live tables (tables_mem.c). Taken
 * before hl_state_lock when both are. */
extern hl_spinlock hl_tables_lock;

#endif
