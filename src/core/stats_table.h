/* Internal interface of the per-line stats table and file table (stats_table.c).
 * Every *_locked function expects hl_tables_lock to be held. */
#ifndef HEAPLINE_STATS_TABLE_H
#define HEAPLINE_STATS_TABLE_H

#include "tables_mem.h"

uint32_t hl_file_intern_locked(const char *name, size_t len, int *profiled);
/* Slot index of (file, line), created if needed; never fails (falls back to
 * the unattributed pseudo-site when full). */
uint32_t hl_line_slot_locked(uint32_t file, int32_t line);
hl_line_stats *hl_line_at(uint32_t slot);
/* Copies every line's live estimate into its at_peak field. */
void hl_lines_snapshot_peak_locked(void);
void hl_lines_reset_locked(void);
/* Copies the file table (ids below the private next_file_id only) and, when
 * `lines`, the lines into dst; else the private line count starts at 0. */
void hl_stats_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines);

#endif
