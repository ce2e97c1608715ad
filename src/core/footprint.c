/* The process's heap footprint: exact current and peak bytes (every hooked
 * allocation and free adjusts one atomic counter), the time of the peak, a
 * bounded timeline, and the per-line "held at the peak" snapshot.
 *
 * The fast path only adds to the counter and, on a new peak, raises the peak.
 * Everything that needs a clock or the tables happens on the sampling slow
 * path (hl_footprint_observe_locked), so timings are as fine as the samples.
 */
#include "footprint.h"

#include "inprocess.h"
#include "stats_table.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

_Atomic int64_t hl_fp_current;
_Atomic int64_t hl_fp_peak;
static _Atomic int peak_time_stale;

static double peak_at_s;
static uint32_t peak_file;
static int32_t peak_line;
static int64_t snapshot_fp; /* footprint at the last per-line peak snapshot */

#define TIMELINE_CAP 2048
static double tl_s[TIMELINE_CAP];
static int64_t tl_b[TIMELINE_CAP];
static size_t tl_n;
static double tl_spacing = 0.005;

#ifdef _WIN32
static LARGE_INTEGER t0, qpc_freq;

__attribute__((constructor)) static void footprint_init(void) {
    QueryPerformanceFrequency(&qpc_freq);
    QueryPerformanceCounter(&t0);
}

double hl_now_s(void) {
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    return (double)(now.QuadPart - t0.QuadPart) / (double)qpc_freq.QuadPart;
}
#else
static struct timespec t0;

__attribute__((constructor)) static void footprint_init(void) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
}

double hl_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) * 1e-9;
}
#endif

void hl_fp_new_peak(int64_t now) {
    int64_t old = atomic_load_explicit(&hl_fp_peak, memory_order_relaxed);
    while (now > old) {
        if (atomic_compare_exchange_weak_explicit(&hl_fp_peak, &old, now, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            atomic_store_explicit(&peak_time_stale, 1, memory_order_relaxed);
            return;
        }
    }
}

static void timeline_add(double s, int64_t b, int force) {
    if (tl_n > 0 && !force && s - tl_s[tl_n - 1] < tl_spacing) return;
    if (tl_n == TIMELINE_CAP) { /* halve the resolution, keep the shape */
        size_t k = 0;
        for (size_t i = 0; i < tl_n; i += 2) {
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
}

void hl_footprint_observe_locked(uint32_t file, int32_t line, int took_sample) {
    double now = hl_now_s();
    int64_t cur = atomic_load_explicit(&hl_fp_current, memory_order_relaxed);
    int64_t peak = atomic_load_explicit(&hl_fp_peak, memory_order_relaxed);
    int new_peak_time = atomic_exchange_explicit(&peak_time_stale, 0, memory_order_relaxed);
    if (new_peak_time) peak_at_s = now;
    /* A per-line snapshot when the footprint is within 1/256 of the peak and
     * has grown by 1/256 since the last snapshot: the snapshot then is within
     * about 0.4% of the true peak, and costs O(lines) rarely. */
    int snap = took_sample && cur >= peak - peak / 256 && cur > snapshot_fp + snapshot_fp / 256;
    if (snap) {
        hl_lines_snapshot_peak_locked();
        snapshot_fp = cur;
        peak_file = file;
        peak_line = line;
        peak_at_s = now;
    }
    timeline_add(now, cur, snap);
}

void hl_footprint_read(hl_footprint *out) {
    hl_lock(&hl_tables_lock);
    out->current = atomic_load(&hl_fp_current);
    out->peak = atomic_load(&hl_fp_peak);
    out->peak_at_s = peak_at_s;
    out->peak_file = peak_file;
    out->peak_line = peak_line;
    hl_unlock(&hl_tables_lock);
}

size_t hl_timeline_read(double *secs, int64_t *bytes, size_t cap) {
    hl_lock(&hl_tables_lock);
    size_t n = tl_n < cap ? tl_n : cap;
    for (size_t i = 0; i < n; i++) {
        secs[i] = tl_s[i];
        bytes[i] = tl_b[i];
    }
    hl_unlock(&hl_tables_lock);
    return n;
}

void hl_footprint_set_baseline(int64_t bytes) {
    hl_lock(&hl_tables_lock);
    atomic_store(&hl_fp_current, bytes);
    atomic_store(&hl_fp_peak, bytes);
    snapshot_fp = 0;
    hl_unlock(&hl_tables_lock);
}

void hl_footprint_reset_locked(void) {
    int64_t cur = atomic_load(&hl_fp_current);
    atomic_store(&hl_fp_peak, cur);
    peak_at_s = hl_now_s();
    peak_file = 0;
    peak_line = 0;
    snapshot_fp = 0;
    tl_n = 0;
    tl_spacing = 0.005;
}
