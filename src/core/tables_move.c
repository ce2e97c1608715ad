/* What every platform's move of the tables into a fresh instance shares
 * (platform/<os>/tables_file.c): stamping its header for this process,
 * copying each owner's part into it (stats_table.c's files and lines,
 * footprint.c's timeline), and publishing it, magic last.
 */
#include "footprint.h"
#include "stats_table.h"

void hl_tables_stamp(hl_tables_mem *dst, uint32_t pid, uint32_t ppid) {
    hl_tables_header *h = &dst->hdr.h;
    h->version = HL_TABLES_VERSION;
    h->header_size = HL_TABLES_HEADER;
    h->size = sizeof(hl_tables_mem);
    h->file_slots = HL_FILE_SLOTS;
    h->line_slots = HL_LINE_SLOTS;
    h->name_arena = HL_NAME_ARENA;
    h->timeline_cap = HL_TIMELINE_CAP;
    h->pid = pid;
    h->ppid = ppid;
    h->clock_origin = hl_clock_origin();
}

void hl_tables_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines) {
    hl_stats_copy_locked(dst, src, lines);
    hl_footprint_copy_locked(dst, src, lines);
}

void hl_tables_publish(hl_tables_mem *m) {
    __atomic_store_n(&m->hdr.h.magic, HL_TABLES_MAGIC, __ATOMIC_RELEASE);
}
