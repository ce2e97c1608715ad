/* The Poisson byte sampler and the slow paths of the hooks' counting.
 *
 * Each thread counts down bytes to its next sample, one countdown per hot
 * hook (and one per group of the other allocating hooks); each distance is
 * drawn from an exponential distribution with mean = the sampling interval,
 * so the sample points of each countdown form a Poisson process over the
 * bytes it counts. An allocation of n bytes then holds at least one point
 * with probability p = 1 - exp(-n/interval), independently of every other
 * allocation; charging n/p to its line makes each line's total an unbiased
 * estimate, and blocks much larger than the interval are sampled with p ~ 1
 * and counted exactly. A point that falls in an allocation made inside a
 * hook or inside heapline (thread busy) is dropped: the others stay sampled
 * with the same p.
 */
#include "footprint.h"
#include "live_table.h"
#include "stats_table.h"

#include <math.h>

static _Atomic uint64_t interval = 65536;
static _Atomic uint64_t seed_base = 0x243F6A8885A308D3ull;
static _Atomic uint32_t seed_gen;
static _Atomic uint64_t thread_seq;
static _Atomic int enabled;
static _Atomic(hl_where_fn) where_fn;
static _Atomic uint64_t samples;

void hl_set_sampling_interval(uint64_t bytes) {
    atomic_store(&interval, bytes ? bytes : 1);
}
uint64_t hl_sampling_interval(void) {
    return atomic_load(&interval);
}
void hl_thread_reseed_locked(hl_thread *t, hl_block *b);

void hl_set_seed(uint64_t seed) {
    atomic_store(&seed_base, seed);
    atomic_store(&thread_seq, 0);
    /* threads reseed at their next sample; the calling thread right now */
    atomic_fetch_add(&seed_gen, 1);
    hl_thread *t = hl_self();
    if (t->state == HL_STATE_ATTACHED) {
        hl_lock(&hl_state_lock);
        hl_thread_reseed_locked(t, t->blk);
        hl_unlock(&hl_state_lock);
    }
}

uint32_t hl_seed_generation(void) {
    return atomic_load(&seed_gen);
}

/* A thread that drew before the last hl_set_seed takes a new seed. */
static void follow_seed(hl_block *b) {
    uint32_t gen = atomic_load_explicit(&seed_gen, memory_order_relaxed);
    if (HL_UNLIKELY(b->seed_gen != gen)) {
        b->seed_gen = gen;
        b->rng = hl_rng_seed_for_thread();
    }
}
void hl_set_enabled(int on) {
    atomic_store(&enabled, on);
}
void hl_set_where(hl_where_fn fn) {
    atomic_store(&where_fn, fn);
}
uint64_t hl_samples_taken(void) {
    return atomic_load(&samples);
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t hl_rng_seed_for_thread(void) {
    uint64_t s = atomic_load(&seed_base) + atomic_fetch_add(&thread_seq, 1) * 0x632BE59BD9B4E019ull;
    return splitmix(&s);
}

int64_t hl_draw_countdown(uint64_t *rng) {
    /* uniform in (0, 1]: 53 random bits, never 0 */
    double u = ((double)(splitmix(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double d = -log(u) * (double)atomic_load_explicit(&interval, memory_order_relaxed);
    if (d < 1.0) d = 1.0;
    if (d > 9.0e18) d = 9.0e18;
    return (int64_t)d;
}

static double weight_of(size_t n) {
    double iv = (double)atomic_load_explicit(&interval, memory_order_relaxed);
    double p = -expm1(-(double)n / iv);
    return p > 0 ? (double)n / p : iv;
}

/* Where is this thread? Called without the tables lock (the callback interns
 * file names, which takes it). */
static hl_site locate(void) {
    hl_site site = {HL_FILE_UNATTRIBUTED, 0};
    hl_where_fn fn = atomic_load_explicit(&where_fn, memory_order_acquire);
    if (fn) {
        int r = fn(&site);
        if (r == HL_WHERE_NO_PYTHON) {
            site.file = HL_FILE_NATIVE_THREAD;
            site.line = 0;
        } else if (r != HL_WHERE_FOUND || site.file == 0) {
            site.file = HL_FILE_UNATTRIBUTED;
            site.line = 0;
        }
    }
    return site;
}

static void charge_locked(uint32_t slot, double w, int kind) {
    hl_line_stats *s = hl_line_at(slot);
    if (kind == HL_KIND_PYTHON)
        s->alloc_python += w;
    else
        s->alloc_native += w;
    s->samples++;
}

/* A sample point fell in the allocation of n bytes at ptr. */
static void take_sample(hl_thread *t, void *ptr, size_t n, int kind) {
    if (t->busy || !atomic_load_explicit(&enabled, memory_order_relaxed)) return;
    t->busy |= HL_BUSY_CORE;
    hl_site site = locate();
    double w = weight_of(n);
    atomic_fetch_add_explicit(&samples, 1, memory_order_relaxed);
    hl_lock(&hl_tables_lock);
    uint32_t slot = hl_line_slot_locked(site.file, site.line);
    charge_locked(slot, w, kind);
    if (hl_live_insert_locked(ptr, slot, w)) hl_line_at(slot)->live += w;
    hl_footprint_observe_locked(site.file, site.line, 1);
    hl_unlock(&hl_tables_lock);
    t->busy = 0;
}

void hl_count_slow(hl_thread *t, int f, void *ptr, size_t n, int kind) {
    if (t->state != HL_STATE_ATTACHED) {
        int sample;
        if (hl_thread_settle(t, f, n, &sample) && sample) take_sample(t, ptr, n, kind);
        return;
    }
    hl_block *b = t->blk;
    /* Memoryless: the distance past this allocation is a fresh draw. The
     * countdown's bytes so far go to the counter first. */
    hl_lock(&hl_state_lock);
    follow_seed(b);
    b->bytes[hl_fast_hook(f)] += (uint64_t)(b->anchor[f] - t->left[f]);
    t->left[f] = b->anchor[f] = hl_draw_countdown(&b->rng);
    hl_unlock(&hl_state_lock);
    take_sample(t, ptr, n, kind);
}

void hl_alloc_slow(hl_thread *t, int f, void *ptr, size_t n, size_t u, int kind) {
    (void)u; /* already taken from the room */
    if (t->state != HL_STATE_ATTACHED) {
        t->calls[f]++;
        t->left[f] -= (int64_t)n;
        int sample;
        if (hl_thread_settle(t, f, n, &sample) && sample) take_sample(t, ptr, n, kind);
        return;
    }
    hl_fp_room_slow(t);
    hl_fast_count(t, f, ptr, n, kind);
}

void hl_free_count_slow(hl_thread *t, size_t u) {
    if (t->state != HL_STATE_ATTACHED)
        hl_thread_settle(t, -1, 0, NULL);
    else
        hl_fp_free_slow(t, u);
}

/* A call of a hook without TLS counters, by a thread without a block. */
static void count_shared(int hook, size_t counted, int64_t fp) {
    hl_lock(&hl_state_lock);
    hl_shared_block.calls[hook]++;
    hl_shared_block.bytes[hook] += counted;
    hl_shared_block.cur += fp;
    if (fp > 0) hl_fp_shared_grew_locked();
    hl_unlock(&hl_state_lock);
}

/* Charges `charge` bytes to process `proc` of an attached thread. */
static void charge_proc(hl_thread *t, hl_block *b, int proc, void *p, size_t charge, int kind) {
    if (t->busy) return;
    b->left[proc] -= (int64_t)charge;
    if (HL_LIKELY(b->left[proc] > 0)) return;
    follow_seed(b);
    b->left[proc] = hl_draw_countdown(&b->rng);
    take_sample(t, p, charge, kind);
}

void hl_rare_alloc(hl_thread *t, int hook, int proc, void *p, size_t counted, size_t fp,
                   size_t charge, int kind) {
    hl_block *b = hl_thread_block(t);
    if (b == NULL) {
        count_shared(hook, counted, (int64_t)fp);
        return;
    }
    b->calls[hook]++;
    b->bytes[hook] += counted;
    if (fp) hl_fp_grow(t, (int64_t)fp);
    charge_proc(t, b, proc, p, charge, kind);
}

void hl_rare_free(hl_thread *t, int hook, void *p, size_t u) {
    hl_block *b = hl_thread_block(t);
    if (b == NULL) {
        count_shared(hook, u, -(int64_t)u);
    } else {
        b->calls[hook]++;
        b->bytes[hook] += u;
        hl_fp_shrink(t, (int64_t)u);
    }
    if (HL_UNLIKELY(hl_filter_maybe(p))) hl_free_slow(p);
}

void hl_on_realloc(hl_thread *t, hl_block *b, int proc, void *old, void *new_, int64_t old_size,
                   int64_t new_size, int kind) {
    int64_t charge = old_size >= 0 ? new_size - old_size : new_size;
    if ((old && hl_filter_maybe(old)) || (charge > 0 && b->left[proc] - charge <= 0))
        hl_realloc_slow(t, b, proc, old, new_, old_size, new_size, kind);
    else if (charge > 0)
        b->left[proc] -= charge;
}

hl_block *hl_rare_count(hl_thread *t, int hook, size_t counted, int64_t fp) {
    hl_block *b = hl_thread_block(t);
    if (b == NULL) {
        count_shared(hook, counted, fp);
        return NULL;
    }
    b->calls[hook]++;
    b->bytes[hook] += counted;
    if (fp > 0)
        hl_fp_grow(t, fp);
    else if (fp < 0)
        hl_fp_shrink(t, -fp);
    return b;
}

void hl_native_realloc(hl_thread *t, int hook, void *p, void *q, size_t n, size_t u0, size_t u1) {
    hl_block *b = hl_rare_count(t, hook, n, (int64_t)u1 - (int64_t)u0);
    if (t->busy) {
        if (t->busy & HL_BUSY_PY) { /* tell the Python hook above the sizes */
            t->nested_set = 1;
            t->nested_old = (int64_t)u0;
            t->nested_new = (int64_t)u1;
        }
        return;
    }
    if (b)
        hl_on_realloc(t, b, HL_PROC_REALLOC, p, q, p ? (int64_t)u0 : 0, (int64_t)u1,
                      HL_KIND_NATIVE);
    else if (p && q != p && HL_UNLIKELY(hl_filter_maybe(p)))
        hl_free_slow(p); /* no block: a sampled block that moved is forgotten */
}

void hl_free_slow(void *ptr) {
    hl_thread *t = hl_self();
    /* inside a hook (the block was dealt with above) or inside heapline */
    if (ptr == NULL || t->busy) return;
    t->busy |= HL_BUSY_CORE;
    uint32_t slot;
    double w;
    hl_lock(&hl_tables_lock);
    if (hl_live_remove_locked(ptr, &slot, &w)) {
        hl_line_at(slot)->live -= w;
        hl_footprint_observe_locked(0, 0, 0);
    }
    hl_unlock(&hl_tables_lock);
    t->busy = 0;
}

void hl_realloc_slow(hl_thread *t, hl_block *b, int proc, void *old, void *new_, int64_t old_size,
                     int64_t new_size, int kind) {
    uint32_t saved = t->busy;
    t->busy |= HL_BUSY_CORE;
    int known = old_size >= 0;
    int64_t charge = known ? new_size - old_size : new_size;
    int sampled = 0;
    hl_site site = {0, 0};
    double wd = 0;
    if (charge > 0) {
        b->left[proc] -= charge;
        if (b->left[proc] <= 0) {
            follow_seed(b);
            b->left[proc] = hl_draw_countdown(&b->rng);
            if (atomic_load_explicit(&enabled, memory_order_relaxed)) {
                sampled = 1;
                site = locate();
                wd = weight_of((size_t)charge);
                atomic_fetch_add_explicit(&samples, 1, memory_order_relaxed);
            }
        }
    }
    hl_lock(&hl_tables_lock);
    uint32_t old_slot = 0;
    double old_w = 0;
    int had_old = old && hl_live_remove_locked(old, &old_slot, &old_w);
    if (had_old) hl_line_at(old_slot)->live -= old_w;
    /* What of the old block's estimate lives on in the new one: all of it
     * when the block kept or grew its size; scaled down with the size when it
     * shrank (the expected value then stays the new size); nothing when it was
     * a small-object block, which counts as freed and allocated anew. */
    double keep = 0;
    if (had_old && known)
        keep = (new_size < old_size && old_size > 0) ? old_w * (double)new_size / (double)old_size
                                                     : old_w;
    if (sampled) {
        uint32_t slot = hl_line_slot_locked(site.file, site.line);
        charge_locked(slot, wd, kind);
        if (hl_live_insert_locked(new_, slot, keep + wd)) hl_line_at(slot)->live += keep + wd;
        hl_footprint_observe_locked(site.file, site.line, 1);
    } else if (keep > 0) {
        if (hl_live_insert_locked(new_, old_slot, keep)) hl_line_at(old_slot)->live += keep;
    }
    hl_unlock(&hl_tables_lock);
    t->busy = saved;
}

void hl_reset(void) {
    hl_thread *t = hl_self();
    hl_lock(&hl_tables_lock);
    hl_lines_reset_locked();
    hl_live_reset_locked();
    hl_footprint_reset_locked(t);
    hl_unlock(&hl_tables_lock);
    atomic_store(&samples, 0);
}
