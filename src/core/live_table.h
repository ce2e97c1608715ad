/* Internal interface of the live sampled-block table (live_table.c).
 * Every *_locked function expects hl_tables_lock to be held. */
#ifndef HEAPLINE_LIVE_TABLE_H
#define HEAPLINE_LIVE_TABLE_H

#include "thread_state.h"

/* Returns 0 when the table is full (the block is then not tracked). */
int hl_live_insert_locked(void *ptr, uint32_t slot, double weight);
/* Returns 1 and the entry when ptr was a tracked block. */
int hl_live_remove_locked(void *ptr, uint32_t *slot, double *weight);
void hl_live_reset_locked(void);
uint64_t hl_live_dropped(void);
uint32_t hl_live_count(void);

#endif
