/* Sampled blocks that are still alive: pointer -> (line slot, weight, time of
 * allocation), and the per-line leak evidence read from them
 * (hl_live_history_read: live blocks by allocation time).
 *
 * Every free checks a counting filter first (one load), so frees of blocks that
 * were never sampled (nearly all) cost nothing more. The table proper is a
 * fixed-size linear-probing hash table with backward-shift deletion, in static
 * storage, under hl_tables_lock. When it is full a sample is still counted as
 * allocated but not as live (hl_live_dropped says how often).
 *
 * The table is 12 MiB of zero pages until samples land in it; the walks over
 * it (history, reset) visit only the chunks an insertion has touched, so a
 * process with few live samples does not fault in every page as it ends.
 */
#include "live_table.h"

#include "stats_table.h"

#include <string.h>

_Atomic uint8_t hl_filter[1u << HL_FILTER_BITS];

#define LIVE_SLOTS (1u << 19)
#define LIVE_MAX   (LIVE_SLOTS / 4 * 3)

typedef struct {
    uintptr_t ptr; /* 0 = empty */
    uint32_t slot; /* line slot in the stats table */
    float t;       /* hl_now_s() at insertion (in the padding: the entry stays 24 bytes) */
    double weight;
} live_entry;

static live_entry table[LIVE_SLOTS];
static uint32_t live_count;
static uint64_t dropped;

/* Chunks of CHUNK entries that an insertion has written since the last reset
 * (an entry only ever moves to a slot that held one, so the others are zero). */
#define CHUNK  128u
#define CHUNKS (LIVE_SLOTS / CHUNK)
static uint64_t touched[CHUNKS / 64];

static void touch(uint32_t i) {
    touched[i / CHUNK / 64] |= 1ull << (i / CHUNK % 64);
}

/* The first entry of the next touched chunk at or after entry i, or LIVE_SLOTS. */
static uint32_t next_touched(uint32_t i) {
    for (uint32_t c = i / CHUNK; c < CHUNKS; c = (c / 64 + 1) * 64) {
        uint64_t bits = touched[c / 64] >> (c % 64);
        if (bits) return (c + (uint32_t)__builtin_ctzll(bits)) * CHUNK;
    }
    return LIVE_SLOTS;
}

/* The entry after i in a walk over the touched chunks. */
static uint32_t next_entry(uint32_t i) {
    return (i + 1) % CHUNK ? i + 1 : next_touched(i + 1);
}

static uint32_t home(uintptr_t p) {
    return (uint32_t)(((uint64_t)(p >> 4) * 0xD6E8FEB86659FD93ull) >> 45) & (LIVE_SLOTS - 1);
}

static void filter_inc(uintptr_t p) {
    _Atomic uint8_t *c = &hl_filter[hl_filter_slot((void *)p)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v < 255) atomic_store_explicit(c, (uint8_t)(v + 1), memory_order_relaxed);
}

static void filter_dec(uintptr_t p) {
    _Atomic uint8_t *c = &hl_filter[hl_filter_slot((void *)p)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v > 0 && v < 255) atomic_store_explicit(c, (uint8_t)(v - 1), memory_order_relaxed);
}

int hl_live_insert_locked(void *ptr, uint32_t slot, double weight) {
    uintptr_t p = (uintptr_t)ptr;
    uint32_t i = home(p);
    for (;;) {
        if (table[i].ptr == p) { /* address reused without our seeing the free */
            table[i].slot = slot;
            table[i].weight = weight;
            table[i].t = (float)hl_now_s();
            return 1;
        }
        if (table[i].ptr == 0) break;
        i = (i + 1) & (LIVE_SLOTS - 1);
    }
    if (live_count >= LIVE_MAX) {
        dropped++;
        return 0;
    }
    table[i].ptr = p;
    table[i].slot = slot;
    table[i].weight = weight;
    table[i].t = (float)hl_now_s();
    touch(i);
    live_count++;
    filter_inc(p);
    return 1;
}

int hl_live_remove_locked(void *ptr, uint32_t *slot, double *weight) {
    uintptr_t p = (uintptr_t)ptr;
    uint32_t i = home(p);
    while (table[i].ptr != p) {
        if (table[i].ptr == 0) return 0;
        i = (i + 1) & (LIVE_SLOTS - 1);
    }
    *slot = table[i].slot;
    *weight = table[i].weight;
    filter_dec(p);
    live_count--;
    /* backward-shift deletion keeps every probe chain unbroken */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & (LIVE_SLOTS - 1); table[j].ptr != 0;
         j = (j + 1) & (LIVE_SLOTS - 1)) {
        uint32_t h = home(table[j].ptr);
        /* move j into the hole if its home is not in (hole, j] cyclically */
        int in_range = (hole <= j) ? (h > hole && h <= j) : (h > hole || h <= j);
        if (!in_range) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].ptr = 0;
    return 1;
}

void hl_live_reset_locked(void) {
    if (live_count == 0 && dropped == 0) return; /* nothing to clear: skip the walk */
    for (uint32_t i = next_touched(0); i < LIVE_SLOTS; i = next_entry(i))
        if (table[i].ptr) {
            atomic_store_explicit(&hl_filter[hl_filter_slot((void *)table[i].ptr)], 0,
                                  memory_order_relaxed);
            table[i].ptr = 0;
        }
    memset(touched, 0, sizeof touched);
    live_count = 0;
    dropped = 0;
}

uint64_t hl_live_dropped(void) {
    return dropped;
} /* declared in heapline.h */
uint32_t hl_live_count(void) {
    return live_count;
}

/* hl_live_history_read's scratch: line slot -> row + 1 (static: no malloc) */
static uint32_t row_of_slot[HL_LINE_SLOTS];

size_t hl_live_history_read(double t0, double t1, hl_live_history *out, size_t cap) {
    double span = t1 > t0 ? t1 - t0 : 1.0;
    size_t n = 0;
    hl_lock(&hl_tables_lock);
    for (uint32_t i = next_touched(0); i < LIVE_SLOTS; i = next_entry(i)) {
        const live_entry *e = &table[i];
        if (!e->ptr) continue;
        uint32_t slot = e->slot & (HL_LINE_SLOTS - 1);
        uint32_t row = row_of_slot[slot];
        if (row == 0) {
            if (n >= cap) continue;
            const hl_line_stats *s = hl_line_at(slot);
            memset(&out[n], 0, sizeof out[n]);
            out[n].file = s->file;
            out[n].line = s->line;
            row = row_of_slot[slot] = (uint32_t)++n;
        }
        hl_live_history *h = &out[row - 1];
        double x = ((double)e->t - t0) / span * HL_LEAK_BINS;
        int bin = x < 0 ? 0 : x >= HL_LEAK_BINS ? HL_LEAK_BINS - 1 : (int)x;
        h->blocks++;
        h->bytes += e->weight;
        h->count[bin]++;
        h->bin_bytes[bin] += e->weight;
    }
    memset(row_of_slot, 0, sizeof row_of_slot);
    hl_unlock(&hl_tables_lock);
    return n;
}
