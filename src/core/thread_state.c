/* Per-thread state: the TLS block every hook touches, and the pool of exact
 * counter blocks. A thread gets a counter block on its first hooked call; when
 * it exits the block goes back to a free list and the next new thread keeps
 * adding to it, so the sum over all blocks is the exact process-wide total and
 * the pool is bounded by the number of threads alive at once.
 */
#include "thread_state.h"

#include <pthread.h>
#include <string.h>

_Thread_local hl_thread hl_tls;

#define HL_MAX_BLOCKS 4096

static hl_counter blocks[HL_MAX_BLOCKS][HL_HOOK_COUNT];
static _Atomic uint32_t blocks_used;   /* high-water mark */
static uint32_t free_list[HL_MAX_BLOCKS];
static uint32_t free_count;
static hl_spinlock pool_lock = HL_SPINLOCK_INIT;
/* Shared by threads beyond HL_MAX_BLOCKS and by a thread while it registers
 * or after its exit handlers ran (counts there may race; documented). */
static hl_counter overflow_block[HL_HOOK_COUNT];

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

static void make_key(void) { pthread_key_create(&exit_key, thread_exit); }

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
        pthread_once(&key_once, make_key);
        pthread_setspecific(exit_key, (void *)(uintptr_t)(idx + 1));
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
        "malloc",  "calloc",  "realloc",   "free",       "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap",
        "munmap",  "py_malloc", "py_calloc", "py_realloc",
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
