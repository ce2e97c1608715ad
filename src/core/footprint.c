/* The process's heap footprint: exact current and peak bytes, the time of
 * the peak, a bounded timeline, and the per-line "held at the peak" snapshot.
 *
 * Each thread keeps its own share of the footprint, as a room (in its TLS
 * block) below a ceiling (in its cold block): the share is ceiling - room,
 * and the hooks only move the room. The footprint is the sum of all shares,
 * read under hl_state_lock. The exact peak is kept by granting rooms so that,
 * while every thread stays below its ceiling, the sum cannot pass the
 * recorded peak: a thread's ceiling leaves room only for growth up to the
 * peak (at most GRANT at a time), less what the other threads' ceilings
 * hold. A thread that outgrows its room takes the slow path, which adds the
 * shares up, raises the peak, and grants more. Near the peak a thread is
 * granted OVERDRAFT past it and tracked: its frees take a short slow path
 * that notes its highest level, so the peak it reaches is known exactly when
 * it is the only thread changing its footprint (the others' shares are then
 * what the last settle read). With several threads changing theirs at once,
 * each can hold up to GRANT + HL_FREE_PERIOD of growth or OVERDRAFT past the
 * peak that the others do not see: the peak is then within that much per
 * such thread. Frees hand back room above GRANT every HL_FREE_PERIOD bytes.
 *
 * Everything that needs a clock or the tables happens on the sampling slow
 * path (hl_footprint_observe_locked), so timings are as fine as the samples.
 * The timeline lives in hl_T (tables_mem.h), and the footprint as the last
 * slow path saw it is mirrored into hl_T's header there.
 */
#include "footprint.h"

#include "stats_table.h"

#include <string.h>

#define GRANT     (64 * 1024) /* growth between two checks, well below the peak */
#define OVERDRAFT (64 * 1024) /* growth past the peak before the next check */

/* under hl_state_lock */
static hl_block *attached[HL_MAX_BLOCKS]; /* blocks with a thread */
static uint32_t nattached;
static int64_t detached; /* the shares left in the other blocks */
static int64_t peak;
static int peak_time_stale;
static uint32_t tracking; /* threads near the peak */

/* under hl_tables_lock */
static double peak_at_s;
static uint32_t peak_file;
static int32_t peak_line;
static int64_t snapshot_fp; /* footprint at the last per-line peak snapshot */

#define TIMELINE_CAP HL_TIMELINE_CAP
static uint32_t tl_n; /* points in hl_T->tl_s / tl_b */
static double tl_spacing = 0.005;

/* ---- shares, rooms and the peak (all under hl_state_lock) ---- */
static int64_t relaxed(const int64_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* The footprint now (the sum of every share); raises the peak to it and to
 * each tracked thread's highest level since the previous settle, which
 * becomes its new reference. *ceilings: the sum of the ceilings; returns
 * whether the peak rose in *raised. */
static int64_t settle_locked(int64_t *ceilings, int *raised) {
    int64_t cur = hl_shared_block.cur + detached, ceil = cur, over = 0;
    for (uint32_t i = 0; i < nattached; i++) {
        hl_block *b = attached[i];
        int64_t room = relaxed(&b->tls->room);
        cur += b->ceiling - room;
        ceil += b->ceiling;
        if (b->tracking) {
            int64_t low = atomic_load_explicit(&b->track_low, memory_order_relaxed);
            if (room - low > over) over = room - low;
            atomic_store_explicit(&b->track_low, room, memory_order_relaxed);
        }
    }
    int rose = cur + over > peak;
    if (rose) {
        peak = cur + over;
        peak_time_stale = 1;
    }
    if (ceilings) *ceilings = ceil;
    if (raised) *raised = rose;
    return cur;
}

/* Free's countdown of an attached thread set to v (its bytes carried over). */
static void set_free_left_locked(hl_thread *t, hl_block *b, int64_t v) {
    b->bytes[HL_HOOK_FREE] += (uint64_t)(b->anchor[HL_FAST_FREE] - t->left[HL_FAST_FREE]);
    t->left[HL_FAST_FREE] = b->anchor[HL_FAST_FREE] = v;
}

/* A new room for an attached thread, from the peak and the others' ceilings
 * (ceilings: the sum of all, b's included, from settle_locked; raised:
 * whether that settle found a new peak). A thread below the peak gets the
 * headroom the others leave, up to GRANT (none at all is fine: its frees give
 * room back). One that is growing past the peak (at the new peak the settle
 * just found), or whose share is more than the others leave, gets OVERDRAFT
 * past where it is and is tracked until its share falls back to where the
 * peak leaves it. */
static void grant_locked(hl_thread *t, hl_block *b, int64_t ceilings, int raised) {
    int64_t cur = b->ceiling - t->room;
    int64_t others = ceilings - b->ceiling;
    int64_t avail = peak - others - cur;
    if (avail > 0 || (avail == 0 && !raised)) {
        int64_t g = avail < GRANT ? avail : GRANT;
        b->ceiling = cur + g;
        t->room = g;
        if (b->tracking) {
            b->tracking = 0;
            tracking--;
            set_free_left_locked(t, b, HL_FREE_PERIOD);
        }
        return;
    }
    b->ceiling = cur + OVERDRAFT;
    t->room = OVERDRAFT;
    atomic_store_explicit(&b->track_low, OVERDRAFT, memory_order_relaxed);
    b->track_exit = OVERDRAFT - avail; /* the room when the share is back at peak - others */
    if (!b->tracking) {
        b->tracking = 1;
        tracking++;
        set_free_left_locked(t, b, 0); /* every free comes to hl_fp_free_slow */
    }
}

void hl_fp_attach_locked(hl_thread *t, hl_block *b, int64_t cur) {
    detached -= b->cur; /* what the block's earlier threads left moves with it */
    b->attached_at = nattached;
    attached[nattached++] = b;
    b->ceiling = cur;
    t->room = 0;
    int64_t ceilings;
    int raised;
    settle_locked(&ceilings, &raised);
    grant_locked(t, b, ceilings, raised);
}

void hl_fp_detach_locked(hl_thread *t, hl_block *b) {
    settle_locked(NULL, NULL);
    b->cur = b->ceiling - t->room;
    detached += b->cur;
    hl_block *last = attached[--nattached];
    attached[b->attached_at] = last;
    last->attached_at = b->attached_at;
    if (b->tracking) {
        b->tracking = 0;
        tracking--;
    }
}

void hl_fp_shared_grew_locked(void) {
    settle_locked(NULL, NULL);
}

void hl_fp_room_slow(hl_thread *t) {
    hl_block *b = t->blk;
    hl_lock(&hl_state_lock);
    int64_t ceilings;
    int raised;
    settle_locked(&ceilings, &raised);
    grant_locked(t, b, ceilings, raised);
    hl_unlock(&hl_state_lock);
}

/* A tracked thread's share just fell by d from room - d (its level before). */
static void tracked_fall(hl_thread *t, hl_block *b, int64_t d) {
    int64_t before = t->room - d;
    if (before < atomic_load_explicit(&b->track_low, memory_order_relaxed))
        atomic_store_explicit(&b->track_low, before, memory_order_relaxed);
    if (t->room < b->track_exit) return;
    hl_fp_room_slow(t); /* clear of the peak: settle and grant anew */
}

void hl_fp_free_slow(hl_thread *t, size_t u) {
    hl_block *b = t->blk;
    if (b->tracking) {
        tracked_fall(t, b, (int64_t)u);
        return;
    }
    hl_lock(&hl_state_lock);
    set_free_left_locked(t, b, HL_FREE_PERIOD);
    if (t->room > GRANT) { /* hand back what the frees made */
        b->ceiling -= t->room - GRANT;
        t->room = GRANT;
    }
    if (tracking) settle_locked(NULL, NULL); /* a new reference for the tracked threads */
    hl_unlock(&hl_state_lock);
}

void hl_fp_shrink(hl_thread *t, int64_t d) {
    hl_block *b = t->blk;
    t->room += d;
    if (b->tracking) {
        tracked_fall(t, b, d);
    } else if (t->room > 2 * GRANT) {
        hl_lock(&hl_state_lock);
        b->ceiling -= t->room - GRANT;
        t->room = GRANT;
        hl_unlock(&hl_state_lock);
    }
}

static void timeline_add(double s, int64_t b, int force) {
    double *tl_s = hl_T->tl_s;
    int64_t *tl_b = hl_T->tl_b;
    if (tl_n > 0 && !force && s - tl_s[tl_n - 1] < tl_spacing) return;
    if (tl_n == TIMELINE_CAP) { /* halve the resolution, keep the shape */
        HL_MIRROR(tl_n, 0);     /* readers see no points while they move */
        uint32_t k = 0;
        for (uint32_t i = 0; i < tl_n; i += 2) {
            /* of each pair keep the larger value so peaks survive */
            size_t j = (i + 1 < tl_n && tl_b[i + 1] > tl_b[i]) ? i + 1 : i;
            tl_s[k] = tl_s[j];
            tl_b[k] = tl_b[j];
            k++;
        }
        tl_n = k;
        tl_spacing *= 2;
    }
    tl_s[tl_n] = s;
    tl_b[tl_n] = b;
    tl_n++;
    HL_MIRROR(tl_n, tl_n);
}

/* The footprint as the slow paths last saw it, for readers of hl_T. */
static void mirror_footprint(int64_t cur, int64_t pk, double now) {
    HL_MIRROR(current_bytes, cur);
    HL_MIRROR(peak_bytes, pk);
    HL_MIRROR(peak_at_s, peak_at_s);
    hl_tables_touch_locked(now);
}

void hl_footprint_observe_locked(uint32_t file, int32_t line, int took_sample) {
    double now = hl_now_s();
    hl_lock(&hl_state_lock);
    int64_t cur = settle_locked(NULL, NULL);
    int64_t pk = peak;
    int new_peak_time = peak_time_stale;
    peak_time_stale = 0;
    hl_unlock(&hl_state_lock);
    if (new_peak_time) peak_at_s = now;
    /* A per-line snapshot when the footprint is within 1/256 of the peak and
     * has grown by 1/256 since the last snapshot: the snapshot then is within
     * about 0.4% of the true peak, and costs O(lines) rarely. */
    int snap = took_sample && cur >= pk - pk / 256 && cur > snapshot_fp + snapshot_fp / 256;
    if (snap) {
        hl_lines_snapshot_peak_locked();
        snapshot_fp = cur;
        peak_file = file;
        peak_line = line;
        peak_at_s = now;
    }
    timeline_add(now, cur, snap);
    mirror_footprint(cur, pk, now);
}

void hl_footprint_read(hl_footprint *out) {
    hl_lock(&hl_tables_lock);
    hl_lock(&hl_state_lock);
    out->current = settle_locked(NULL, NULL);
    out->peak = peak;
    hl_unlock(&hl_state_lock);
    out->peak_at_s = peak_at_s;
    out->peak_file = peak_file;
    out->peak_line = peak_line;
    hl_unlock(&hl_tables_lock);
}

size_t hl_timeline_read(double *secs, int64_t *bytes, size_t cap) {
    hl_lock(&hl_tables_lock);
    size_t n = tl_n < cap ? tl_n : cap;
    for (size_t i = 0; i < n; i++) {
        secs[i] = hl_T->tl_s[i];
        bytes[i] = hl_T->tl_b[i];
    }
    hl_unlock(&hl_tables_lock);
    return n;
}

/* The peak starts again from the footprint `now` (the calling thread t,
 * which is the one that restarts profiling, gets a room from it; the others
 * keep theirs until their next check). t is found before the lock is taken:
 * on Windows a thread's first hl_self() takes it. */
static void restart_peak_locked(hl_thread *t, int64_t now) {
    peak = now;
    if (t->state == HL_STATE_ATTACHED) {
        int64_t ceilings;
        settle_locked(&ceilings, NULL);
        grant_locked(t, t->blk, ceilings, 0);
    }
}

void hl_footprint_set_baseline(int64_t bytes) {
    hl_thread *t = hl_self();
    hl_lock(&hl_tables_lock);
    hl_lock(&hl_state_lock);
    int64_t cur = settle_locked(NULL, NULL);
    hl_shared_block.cur += bytes - cur;
    restart_peak_locked(t, bytes);
    hl_unlock(&hl_state_lock);
    snapshot_fp = 0;
    mirror_footprint(bytes, bytes, hl_now_s());
    hl_unlock(&hl_tables_lock);
}

void hl_footprint_reset_locked(hl_thread *t) {
    hl_lock(&hl_state_lock);
    int64_t cur = settle_locked(NULL, NULL);
    restart_peak_locked(t, cur);
    hl_unlock(&hl_state_lock);
    peak_at_s = hl_now_s();
    peak_file = 0;
    peak_line = 0;
    snapshot_fp = 0;
    tl_n = 0;
    tl_spacing = 0.005;
    HL_MIRROR(tl_n, 0);
    mirror_footprint(cur, cur, peak_at_s);
}

void hl_footprint_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines) {
    hl_lock(&hl_state_lock);
    int64_t cur = settle_locked(NULL, NULL), pk = peak;
    hl_unlock(&hl_state_lock);
    dst->hdr.h.current_bytes = cur;
    dst->hdr.h.peak_bytes = pk;
    dst->hdr.h.peak_at_s = peak_at_s;
    dst->hdr.h.updated_s = src->hdr.h.updated_s;
    if (!lines) return;
    memcpy(dst->tl_s, src->tl_s, tl_n * sizeof dst->tl_s[0]);
    memcpy(dst->tl_b, src->tl_b, tl_n * sizeof dst->tl_b[0]);
    dst->hdr.h.tl_n = tl_n;
}
