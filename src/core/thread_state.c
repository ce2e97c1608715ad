/* Per-thread state: the TLS block every hook touches, the pool of cold blocks
 * (exact counters, sampling state, the thread's share of the footprint), and
 * the moves between them. A thread takes a block on its first hooked call;
 * when it exits, what its TLS block counted is added to the block, which goes
 * back to a free list and is reused by the next new thread, so the sum over
 * all blocks is the exact process-wide total and the pool is bounded by the
 * number of threads alive at once. Calls a thread makes after its exit
 * handler (or when no block is left) reach the slow path through the TLS
 * sentinels and are counted in a shared block under the state lock.
 */
#include "footprint.h"

#include <string.h>
#ifndef _WIN32
#include <pthread.h>

_Thread_local hl_thread hl_tls = HL_THREAD_INIT;
intptr_t hl_tls_static_off;
#endif

static hl_block blocks[HL_MAX_BLOCKS];
static _Atomic uint32_t blocks_used; /* high-water mark */
static uint32_t free_list[HL_MAX_BLOCKS];
static uint32_t free_count;
hl_spinlock hl_state_lock = HL_SPINLOCK_INIT;
hl_block hl_shared_block;

hl_block *hl_blocks_in_use(uint32_t *n) {
    uint32_t used = atomic_load_explicit(&blocks_used, memory_order_relaxed);
    *n = used < HL_MAX_BLOCKS ? used : HL_MAX_BLOCKS;
    return blocks;
}

static void sentinels(hl_thread *t) {
    t->room = HL_SENTINEL;
    for (int f = 0; f < HL_FAST_COUNT; f++) {
        t->left[f] = HL_SENTINEL;
        t->calls[f] = 0;
    }
}

/* What the fast paths counted in a TLS block holding sentinels goes to b
 * (counts and footprint); returns the footprint change. */
static int64_t take_pending(hl_thread *t, hl_block *b) {
    for (int f = 0; f < HL_FAST_COUNT; f++) {
        b->calls[hl_fast_hook(f)] += t->calls[f];
        b->bytes[hl_fast_hook(f)] += (uint64_t)(HL_SENTINEL - t->left[f]);
    }
    int64_t grew = HL_SENTINEL - t->room;
    sentinels(t);
    return grew;
}

/* A detached thread: its pending counts go to the shared block. */
static void count_shared(hl_thread *t) {
    hl_lock(&hl_state_lock);
    int64_t grew = take_pending(t, &hl_shared_block);
    hl_shared_block.cur += grew;
    if (grew > 0) hl_fp_shared_grew_locked();
    hl_unlock(&hl_state_lock);
}

#ifdef _WIN32
/* Windows: the hl_thread blocks themselves come from a static pool too, one
 * per live thread, found through a TlsAlloc slot. A fiber-local slot
 * (FlsAlloc) with a callback tells us when a thread exits: its cold block is
 * detached, its hl_thread goes back to its free list, and the thread's TLS
 * slot points at `shared_thread` for whatever its exit path still allocates.
 * Threads beyond the pool share `shared_thread` as well; being shared, the
 * counts its fast paths leave there between two slow paths may race
 * (documented). */
DWORD hl_tls_index = TLS_OUT_OF_INDEXES;
static DWORD fls_index = FLS_OUT_OF_INDEXES;
static hl_thread thread_pool[HL_MAX_BLOCKS];
static _Atomic uint32_t threads_used;
static uint32_t thread_free[HL_MAX_BLOCKS];
static uint32_t thread_free_count;
static hl_thread shared_thread = HL_THREAD_INIT;
static INIT_ONCE tls_once = INIT_ONCE_STATIC_INIT;
static const hl_thread fresh_thread = HL_THREAD_INIT;

static void detach(hl_thread *t);

static void NTAPI thread_exit(void *arg) {
    hl_thread *t = arg;
    if (t == NULL || t < thread_pool || t >= thread_pool + HL_MAX_BLOCKS) return;
    TlsSetValue(hl_tls_index, &shared_thread);
    if (t->state == HL_STATE_ATTACHED) detach(t);
    if (t->state == HL_STATE_OUT) count_shared(t);
    *t = fresh_thread;
    hl_lock(&hl_state_lock);
    thread_free[thread_free_count++] = (uint32_t)(t - thread_pool);
    hl_unlock(&hl_state_lock);
}

static BOOL CALLBACK make_slots(INIT_ONCE *once, void *param, void **ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    shared_thread.state = HL_STATE_OUT;
    fls_index = FlsAlloc(thread_exit);
    hl_tls_index = TlsAlloc();
    return TRUE;
}

hl_thread *hl_thread_attach(void) {
    InitOnceExecuteOnce(&tls_once, make_slots, NULL, NULL);
    if (hl_tls_index == TLS_OUT_OF_INDEXES) return &shared_thread;
    hl_thread *t = TlsGetValue(hl_tls_index);
    if (t) return t;
    uint32_t idx = UINT32_MAX;
    hl_lock(&hl_state_lock);
    if (thread_free_count > 0) idx = thread_free[--thread_free_count];
    hl_unlock(&hl_state_lock);
    if (idx == UINT32_MAX) {
        uint32_t n = atomic_fetch_add(&threads_used, 1);
        if (n < HL_MAX_BLOCKS) {
            idx = n;
            /* never used: all zero, not sentinels (a free-list entry was reset
             * by thread_exit). A zero room and countdowns would make the
             * first slow path take "pending" counts of -2^61 each. */
            thread_pool[idx] = fresh_thread;
        }
    }
    t = idx == UINT32_MAX ? &shared_thread : &thread_pool[idx];
    TlsSetValue(hl_tls_index, t);
    /* FlsSetValue may allocate from the process heap (not the C runtime) */
    if (t != &shared_thread && fls_index != FLS_OUT_OF_INDEXES) FlsSetValue(fls_index, t);
    return t;
}
#else
static pthread_key_t exit_key;
static int exit_key_made;

static void detach(hl_thread *t);

static void thread_exit(void *arg) {
    (void)arg;
    hl_thread *t = &hl_tls;
    if (t->state == HL_STATE_ATTACHED) detach(t);
}

#if defined(HL_HAVE_TLS_OFF)
/* hl_tls's offset from the thread pointer, if it is in static TLS. The TLS
 * descriptor (x86-64 ABI: a resolver function and its argument) of a variable
 * in static TLS returns its argument, the offset; one in dynamic TLS returns
 * an offset computed for the calling thread from an argument that points to
 * the module's slot. So: call the descriptor, and compare. */
static intptr_t static_tls_offset(void) {
    intptr_t got;
    /* skip the red zone: the call pushes a return address */
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "lea hl_tls@TLSDESC(%%rip), %%rax\n\t"
                     "call *hl_tls@TLSCALL(%%rax)\n\t"
                     "add $128, %%rsp"
                     : "=a"(got)
                     :
                     : "memory", "cc");
    const intptr_t *desc;
    __asm__("lea hl_tls@TLSDESC(%%rip), %0" : "=r"(desc));
    intptr_t arg = atomic_load_explicit((const _Atomic intptr_t *)&desc[1], memory_order_relaxed);
    return arg == got && hl_tls_at(got) == &hl_tls ? got : 0;
}
#endif

intptr_t hl_tls_offset_init(void) {
#if defined(HL_HAVE_TLS_OFF)
    static int done;
    if (!done) {
        hl_tls_static_off = static_tls_offset();
        done = 1;
    }
#endif
    return hl_tls_static_off;
}

__attribute__((constructor)) static void thread_state_init(void) {
    exit_key_made = pthread_key_create(&exit_key, thread_exit) == 0;
    hl_tls_offset_init();
}
#endif

/* Takes a block for a new thread; NULL when none is left. */
static hl_block *take_block(uint32_t *idx_out) {
    uint32_t idx = UINT32_MAX;
    if (free_count > 0) idx = free_list[--free_count];
    if (idx == UINT32_MAX) {
        uint32_t n = atomic_load_explicit(&blocks_used, memory_order_relaxed);
        if (n < HL_MAX_BLOCKS) {
            idx = n;
            atomic_store_explicit(&blocks_used, n + 1, memory_order_relaxed);
        }
    }
    *idx_out = idx;
    return idx == UINT32_MAX ? NULL : &blocks[idx];
}

/* Fresh countdowns for every process of an attached thread. */
static void draw_all_locked(hl_thread *t, hl_block *b) {
    for (int f = 0; f < HL_FAST_COUNT; f++) {
        b->bytes[hl_fast_hook(f)] += (uint64_t)(b->anchor[f] - t->left[f]);
        if (f == HL_FAST_FREE) /* not sampled: footprint.c's check period */
            t->left[f] = b->anchor[f] = b->tracking ? 0 : HL_FREE_PERIOD;
        else
            t->left[f] = b->anchor[f] = hl_draw_countdown(&b->rng);
    }
    for (int p = 0; p < HL_PROC_COUNT; p++)
        b->left[p] = hl_draw_countdown(&b->rng);
}

/* Called with the lock held: the seed follows hl_set_seed's generation. */
void hl_thread_reseed_locked(hl_thread *t, hl_block *b) {
    b->rng = hl_rng_seed_for_thread();
    b->seed_gen = hl_seed_generation();
    draw_all_locked(t, b);
}

hl_block *hl_thread_settle(hl_thread *t, int f, size_t n, int *sample) {
    if (sample) *sample = 0;
    if (t->state == HL_STATE_ATTACHED) return t->blk;
    if (t->state == HL_STATE_OUT) {
        count_shared(t);
        return NULL;
    }
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    uint32_t idx;
    hl_lock(&hl_state_lock);
    hl_block *b = take_block(&idx);
    if (b == NULL) {
        t->state = HL_STATE_OUT;
        hl_unlock(&hl_state_lock);
        count_shared(t);
        t->busy = saved;
        return NULL;
    }
    int64_t grew = take_pending(t, b);
    for (int k = 0; k < HL_FAST_COUNT; k++)
        b->anchor[k] = t->left[k] = 0;
    b->tracking = 0;
    b->rng = hl_rng_seed_for_thread();
    b->seed_gen = hl_seed_generation();
    draw_all_locked(t, b);
    /* the call that got here: its bytes are counted; a sample point falls in
     * it when the fresh countdown is shorter */
    if (f >= 0 && f != HL_FAST_FREE) {
        if (t->left[f] > (int64_t)n) {
            t->left[f] -= (int64_t)n;
            b->anchor[f] = t->left[f];
        } else {
            if (sample) *sample = 1;
            t->left[f] = b->anchor[f] = hl_draw_countdown(&b->rng);
        }
    }
    b->tls = t;
    t->blk = b;
    t->state = HL_STATE_ATTACHED;
    hl_fp_attach_locked(t, b, b->cur + grew);
    hl_unlock(&hl_state_lock);
#ifndef _WIN32
    /* a key below 32 stores its value in the thread itself: no allocation */
    if (exit_key_made) pthread_setspecific(exit_key, (void *)(uintptr_t)(idx + 1));
#endif
    t->busy = saved;
    return b;
}

/* The thread is going away: its counts and footprint stay in its block. */
static void detach(hl_thread *t) {
    hl_block *b = t->blk;
    hl_lock(&hl_state_lock);
    hl_fp_detach_locked(t, b); /* b->cur from the room; settles the peak */
    for (int f = 0; f < HL_FAST_COUNT; f++) {
        b->calls[hl_fast_hook(f)] += t->calls[f];
        b->bytes[hl_fast_hook(f)] += (uint64_t)(b->anchor[f] - t->left[f]);
        b->anchor[f] = 0;
    }
    b->tls = NULL;
    free_list[free_count++] = (uint32_t)(b - blocks);
    t->blk = NULL;
    t->state = HL_STATE_OUT;
    sentinels(t);
    hl_unlock(&hl_state_lock);
}

static void add_block(hl_counter out[HL_HOOK_COUNT], const hl_block *b) {
    for (int h = 0; h < HL_HOOK_COUNT; h++) {
        out[h].calls += __atomic_load_n(&b->calls[h], __ATOMIC_RELAXED);
        out[h].bytes += __atomic_load_n(&b->bytes[h], __ATOMIC_RELAXED);
    }
    const hl_thread *t = b->tls;
    if (t == NULL) return;
    for (int f = 0; f < HL_FAST_COUNT; f++) {
        int h = hl_fast_hook(f);
        out[h].calls += __atomic_load_n(&t->calls[f], __ATOMIC_RELAXED);
        out[h].bytes += (uint64_t)(b->anchor[f] - __atomic_load_n(&t->left[f], __ATOMIC_RELAXED));
    }
}

void hl_counters_read(hl_counter out[HL_HOOK_COUNT]) {
    memset(out, 0, sizeof(hl_counter) * HL_HOOK_COUNT);
    hl_lock(&hl_state_lock);
    uint32_t n;
    hl_block *bl = hl_blocks_in_use(&n);
    for (uint32_t i = 0; i < n; i++)
        add_block(out, &bl[i]);
    add_block(out, &hl_shared_block);
    hl_unlock(&hl_state_lock);
}

const char *hl_hook_name(int hook) {
    static const char *const names[HL_HOOK_COUNT] = {
        "malloc",           "calloc",        "realloc",   "free",       "posix_memalign",
        "aligned_alloc",    "memalign",      "valloc",    "pvalloc",    "mmap",
        "munmap",           "py_malloc",     "py_calloc", "py_realloc", "_aligned_malloc",
        "_aligned_realloc", "_aligned_free",
    };
    return (hook >= 0 && hook < HL_HOOK_COUNT) ? names[hook] : "?";
}

#ifndef _WIN32
/* A child after fork has only the forking thread: the lock is free again,
 * and the blocks of the other threads are detached (their TLS blocks are
 * still there, in the child's copy of their stacks); their counts and
 * footprint stay, as part of the parent's history the child inherits. */
void hl_thread_after_fork_child(void) {
    hl_spinlock fresh = HL_SPINLOCK_INIT;
    hl_state_lock = fresh;
    hl_thread *self = &hl_tls;
    uint32_t n;
    hl_block *bl = hl_blocks_in_use(&n);
    for (uint32_t i = 0; i < n; i++) {
        hl_thread *t = bl[i].tls;
        if (t != NULL && t != self) detach(t);
    }
}
#endif
