/* The live-summary channel: a small fixed struct in named shared memory that a
 * running profiled process publishes and another process (`heapline top`)
 * reads by pid. Windows: file mapping `Local\heapline-<pid>` plus the named
 * auto-reset event `Local\heapline-<pid>-updated`; POSIX: shm_open
 * "/heapline-<pid>", and the reader polls the sequence number.
 *
 * The block is a seqlock: `seq` is odd while the writer is inside it, and a
 * reader retries until it sees the same even value before and after copying.
 */
#ifndef HEAPLINE_SHM_H
#define HEAPLINE_SHM_H

#include "heapline.h"

#include <stdatomic.h>
#include <stdint.h>

#define HL_SHM_MAGIC   0x4C504548u /* "HEPL" */
#define HL_SHM_VERSION 1u

typedef struct hl_shm_summary {
    int64_t fp_current; /* footprint now, bytes */
    int64_t fp_peak;    /* footprint peak, bytes */
    uint64_t samples;   /* samples taken */
    uint64_t seq;       /* publication number (even; filled in by the channel) */
} hl_shm_summary;

/* The shared block itself. */
typedef struct hl_shm_block {
    uint32_t magic;
    uint32_t version;
    uint32_t pid;
    uint32_t reserved;
    _Atomic uint64_t seq;
    int64_t fp_current;
    int64_t fp_peak;
    uint64_t samples;
} hl_shm_block;

/* One end of the channel (publisher or reader). Opaque handles. */
typedef struct hl_shm {
    hl_shm_block *block;
    void *mapping; /* Windows: file-mapping handle */
    void *event;   /* Windows: event handle */
    int fd;        /* POSIX: shm descriptor */
    int owner;     /* 1 for the publisher */
    uint32_t pid;
} hl_shm;

/* Publisher: creates the channel of process `pid`. 0 on success. */
HL_EXPORT int hl_shm_create(hl_shm *s, uint32_t pid);
/* Publishes `d` (its seq is ignored) and signals readers. */
HL_EXPORT void hl_shm_publish(hl_shm *s, const hl_shm_summary *d);
/* Publishes the core's footprint and sample count now. */
HL_EXPORT void hl_shm_publish_current(hl_shm *s);

/* Reader: opens the channel of process `pid`. 0 on success. */
HL_EXPORT int hl_shm_open(hl_shm *s, uint32_t pid);
/* Copies a consistent summary; 0 on success, -1 when it never settled. */
HL_EXPORT int hl_shm_read(hl_shm *s, hl_shm_summary *out);
/* Waits up to timeout_ms for a publication newer than `seen` (a seq from
 * hl_shm_read); 1 when there is one, 0 on timeout. */
HL_EXPORT int hl_shm_wait(hl_shm *s, uint64_t seen, int timeout_ms);

/* Either end: releases it (the publisher also removes the name on POSIX). */
HL_EXPORT void hl_shm_close(hl_shm *s);

/* Shared by both implementations. */
/* A publisher's new block: its header, the magic last so a reader never
 * takes a half-made block for a valid one. */
static inline void hl_shm_stamp_block(hl_shm_block *b, uint32_t pid) {
    b->pid = pid;
    b->version = HL_SHM_VERSION;
    atomic_thread_fence(memory_order_release);
    b->magic = HL_SHM_MAGIC;
}

static inline void hl_shm_write_block(hl_shm_block *b, const hl_shm_summary *d) {
    uint64_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
    atomic_store_explicit(&b->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    b->fp_current = d->fp_current;
    b->fp_peak = d->fp_peak;
    b->samples = d->samples;
    atomic_store_explicit(&b->seq, s + 2, memory_order_release);
}

static inline int hl_shm_read_block(hl_shm_block *b, hl_shm_summary *out) {
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t s0 = atomic_load_explicit(&b->seq, memory_order_acquire);
        if (s0 & 1) continue;
        out->fp_current = b->fp_current;
        out->fp_peak = b->fp_peak;
        out->samples = b->samples;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s0) {
            out->seq = s0;
            return 0;
        }
    }
    return -1;
}

#endif
