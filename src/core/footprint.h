/* Internal interface of the footprint tracker (footprint.c). */
#ifndef HEAPLINE_FOOTPRINT_H
#define HEAPLINE_FOOTPRINT_H

#include "tables_mem.h"
#include "thread_state.h"

/* Called on the slow paths with hl_tables_lock held: stamps the peak time,
 * extends the timeline and, near a new peak, snapshots per-line live bytes
 * (charging the peak to file:line when took_sample). */
void hl_footprint_observe_locked(uint32_t file, int32_t line, int took_sample);
/* t: the calling thread, found before hl_tables_lock was taken */
void hl_footprint_reset_locked(hl_thread *t);

/* With hl_state_lock held: a thread's share of the footprint (cur) enters
 * with its block, and leaves it (the share stays in the block); the shared
 * block's share grew. */
void hl_fp_attach_locked(hl_thread *t, hl_block *b, int64_t cur);
void hl_fp_detach_locked(hl_thread *t, hl_block *b);
void hl_fp_shared_grew_locked(void);
/* Copies the timeline and the footprint mirrors into dst (or, !lines, none). */
void hl_footprint_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines);

/* Starts counting the footprint from `bytes`: what the heap held when the
 * hooks went on in a running process (the platform's in-process start). */
void hl_footprint_set_baseline(int64_t bytes);

#endif
