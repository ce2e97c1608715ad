/* Per-thread state: the TLS block every hook touches, and the pool of exact
 * counter blocks. A thread gets a counter block on its first hooked call; when
 * it exits the block goes back to a free list and the next new thread keeps
 * adding to it, so the sum over all blocks is the exact process-wide total and
 * the pool is bounded by the number of threads alive at once.
 */
#include "thread_state.h"

#include <string.h>
#ifndef _WIN32
#include <pthread.h>

_Thread_local hl_thread hl_tls;
#endif

#define HL_MAX_BLOCKS 4096

static hl_counter blocks[HL_MAX_BLOCKS][HL_HOOK_COUNT];
static _Atomic uint32_t blocks_used; /* high-water mark */
static uint32_t free_list[HL_MAX_BLOCKS];
static uint32_t free_count;
static hl_spinlock pool_lock = HL_SPINLOCK_INIT;
/* Shared by threads beyond HL_MAX_BLOCKS and by a thread while it registers
 * or after its exit handlers ran (counts there may race; documented). */
static hl_counter overflow_block[HL_HOOK_COUNT];

#ifdef _WIN32
/* Windows: the hl_thread blocks themselves come from a static pool too, one
 * per live thread, found through a TlsAlloc slot. A fiber-local slot
 * (FlsAlloc) with a callback tells us when a thread exits: its block and its
 * counter block go back to their free lists, and the thread's TLS slot points
 * at `shared_thread` for whatever its exit path still allocates. Threads beyond
 * the pool share `shared_thread` as well (counts there may race; documented). */
DWORD hl_tls_index = TLS_OUT_OF_INDEXES;
static DWORD fls_index = FLS_OUT_OF_INDEXES;
static hl_thread thread_pool[HL_MAX_BLOCKS];
static _Atomic uint32_t threads_used;
static uint32_t thread_free[HL_MAX_BLOCKS];
static uint32_t thread_free_count;
static hl_thread shared_thread = {.ctr = overflow_block};
static INIT_ONCE tls_once = INIT_ONCE_STATIC_INIT;

static void NTAPI thread_exit(void *arg) {
    hl_thread *t = arg;
    if (t == NULL || t < thread_pool || t >= thread_pool + HL_MAX_BLOCKS) return;
    TlsSetValue(hl_tls_index, &shared_thread);
    hl_counter *c = t->ctr;
    uint32_t block = UINT32_MAX;
    if (c >= blocks[0] && c < blocks[0] + (size_t)HL_MAX_BLOCKS * HL_HOOK_COUNT)
        block = (uint32_t)((size_t)(c - blocks[0]) / HL_HOOK_COUNT);
    memset(t, 0, sizeof *t);
    hl_lock(&pool_lock);
    if (block != UINT32_MAX) free_list[free_count++] = block;
    thread_free[thread_free_count++] = (uint32_t)(t - thread_pool);
    hl_unlock(&pool_lock);
}

static BOOL CALLBACK make_slots(INIT_ONCE *once, void *param, void **ctx) {
    (void)once;
    (void)param;
    (void)ctx;
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
    hl_lock(&pool_lock);
    if (thread_free_count > 0) idx = thread_free[--thread_free_count];
    hl_unlock(&pool_lock);
    if (idx == UINT32_MAX) {
        uint32_t n = atomic_fetch_add(&threads_used, 1);
        if (n < HL_MAX_BLOCKS) idx = n;
    }
    t = idx == UINT32_MAX ? &shared_thread : &thread_pool[idx];
    TlsSetValue(hl_tls_index, t);
    /* FlsSetValue may allocate from the process heap (not the C runtime) */
    if (t != &shared_thread && fls_index != FLS_OUT_OF_INDEXES) FlsSetValue(fls_index, t);
    return t;
}
#else
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *arg) {
    uint32_t idx = (uint32_t)(uintptr_t)arg - 1;
    hl_thread *t = &hl_tls;
    t->ctr = overflow_block;
    hl_lock(&pool_lock);
    free_list[free_count++] = idx;
    hl_unlock(&pool_lock);
}

static void make_key(void) {
    pthread_key_create(&exit_key, thread_exit);
}
#endif

void hl_thread_register(hl_thread *t) {
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    t->ctr = overflow_block; /* counts made while registering land here */
    uint32_t idx = UINT32_MAX;
    hl_lock(&pool_lock);
    if (free_count > 0) idx = free_list[--free_count];
    hl_unlock(&pool_lock);
    if (idx == UINT32_MAX) {
        uint32_t n = atomic_fetch_add(&blocks_used, 1);
        if (n < HL_MAX_BLOCKS) idx = n;
    }
    t->rng = hl_rng_seed_for_thread();
    t->seed_gen = hl_seed_generation();
    t->countdown = hl_draw_countdown(&t->rng);
    if (idx != UINT32_MAX) {
#ifndef _WIN32
        pthread_once(&key_once, make_key);
        pthread_setspecific(exit_key, (void *)(uintptr_t)(idx + 1));
#endif
        t->ctr = blocks[idx];
    }
    t->busy = saved;
}

void hl_counters_read(hl_counter out[HL_HOOK_COUNT]) {
    memset(out, 0, sizeof(hl_counter) * HL_HOOK_COUNT);
    uint32_t n = atomic_load(&blocks_used);
    if (n > HL_MAX_BLOCKS) n = HL_MAX_BLOCKS;
    for (uint32_t b = 0; b < n; b++) {
        for (int h = 0; h < HL_HOOK_COUNT; h++) {
            out[h].calls += __atomic_load_n(&blocks[b][h].calls, __ATOMIC_RELAXED);
            out[h].bytes += __atomic_load_n(&blocks[b][h].bytes, __ATOMIC_RELAXED);
        }
    }
    for (int h = 0; h < HL_HOOK_COUNT; h++) {
        out[h].calls += overflow_block[h].calls;
        out[h].bytes += overflow_block[h].bytes;
    }
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

/* A child after fork has only the forking thread: every lock is free again,
 * and the blocks of the other threads stay where they are (their counts are
 * part of the parent's history, which the child inherits). */
void hl_thread_after_fork_child(void) {
    hl_spinlock fresh = HL_SPINLOCK_INIT;
    pool_lock = fresh;
}
