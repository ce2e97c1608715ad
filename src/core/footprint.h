/* Internal interface of the footprint tracker (footprint.c). */
#ifndef HEAPLINE_FOOTPRINT_H
#define HEAPLINE_FOOTPRINT_H

#include "thread_state.h"

/* Called on the slow paths with hl_tables_lock held: stamps the peak time,
 * extends the timeline and, near a new peak, snapshots per-line live bytes
 * (charging the peak to file:line when took_sample). */
void hl_footprint_observe_locked(uint32_t file, int32_t line, int took_sample);
void hl_footprint_reset_locked(void);

#endif
