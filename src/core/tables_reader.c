/* Reading a tables file another process wrote (heapline.h, hl_tables_read_file).
 *
 * The file is not trusted: its writer may have died at any instruction, or
 * it may not be heapline's at all. The reader works on a private copy
 * (platform/<os>/tables_file.c), checked once, in full, before anything is
 * handed out: the header (magic, version, the table sizes, every count in
 * range, the state), each file id below next_file_id (its slot within the
 * table and naming it, its name within the used arena, NUL-terminated, with
 * no NUL inside), and each listed row (its slot within the table and listed
 * once, its file id one of the files). Rows cleared by a reset the writer was in
 * (file 0) are left out. A file written while it was copied is read as of
 * its header (the writer publishes each count after the data it covers).
 */
#include "tables_mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct hl_tables_reader {
    const hl_tables_mem *m; /* the copy, just before this struct */
    uint32_t nrows;
    uint32_t rows[HL_LINE_SLOTS];      /* slots of the valid rows, in the file's order */
    uint8_t listed[HL_LINE_SLOTS / 8]; /* slots seen in used_index */
};

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t n, const char *fmt, ...) {
    if (n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -2;
}

static int check_header(const hl_tables_header *h, char *why, size_t n) {
    if (h->magic != HL_TABLES_MAGIC)
        return bad(why, n,
                   h->magic == 0 ? "not a tables file (no magic: never finished)"
                                 : "not a tables file (bad magic)");
    if (h->version != HL_TABLES_VERSION)
        return bad(why, n, "tables file version %u, this heapline reads %u", (unsigned)h->version,
                   (unsigned)HL_TABLES_VERSION);
    if (h->header_size != HL_TABLES_HEADER || h->size != sizeof(hl_tables_mem) ||
        h->file_slots != HL_FILE_SLOTS || h->line_slots != HL_LINE_SLOTS ||
        h->name_arena != HL_NAME_ARENA || h->timeline_cap != HL_TIMELINE_CAP)
        return bad(why, n, "table sizes differ from this heapline's");
    if (h->state > HL_TABLES_FINISHED) return bad(why, n, "state %u", (unsigned)h->state);
    if (h->exited > 1) return bad(why, n, "exited flag %u", (unsigned)h->exited);
    if (h->next_file_id < HL_FILE_FIRST_REAL || h->next_file_id > HL_FILE_SLOTS)
        return bad(why, n, "next_file_id %u out of range", (unsigned)h->next_file_id);
    if (h->names_used < 1 || h->names_used > HL_NAME_ARENA)
        return bad(why, n, "names_used %u out of range", (unsigned)h->names_used);
    if (h->used_count > HL_LINE_SLOTS)
        return bad(why, n, "used_count %u out of range", (unsigned)h->used_count);
    if (h->tl_n > HL_TIMELINE_CAP) return bad(why, n, "tl_n %u out of range", (unsigned)h->tl_n);
    return 0;
}

static int check_files(const hl_tables_mem *m, char *why, size_t n) {
    const hl_tables_header *h = &m->hdr.h;
    for (uint32_t id = HL_FILE_FIRST_REAL; id < h->next_file_id; id++) {
        uint32_t k = m->file_ids[id];
        if (k == 0 || k > HL_FILE_SLOTS)
            return bad(why, n, "file id %u: slot %u out of range", (unsigned)id, (unsigned)k);
        const hl_file_slot *s = &m->file_slots[k - 1];
        if (s->id != id)
            return bad(why, n, "file id %u: its slot names id %u", (unsigned)id, (unsigned)s->id);
        uint64_t end = (uint64_t)s->off + s->len; /* the NUL's offset */
        if (end >= h->names_used)
            return bad(why, n, "file id %u: name beyond the names in use", (unsigned)id);
        if (m->names[end] != 0 || memchr(m->names + s->off, 0, s->len) != NULL)
            return bad(why, n, "file id %u: name not NUL-terminated where it ends", (unsigned)id);
    }
    return 0;
}

static int check_rows(hl_tables_reader *r, char *why, size_t n) {
    const hl_tables_mem *m = r->m;
    const hl_tables_header *h = &m->hdr.h;
    for (uint32_t k = 0; k < h->used_count; k++) {
        uint32_t slot = m->used_index[k];
        if (slot >= HL_LINE_SLOTS)
            return bad(why, n, "row %u: slot %u out of range", (unsigned)k, (unsigned)slot);
        if (r->listed[slot / 8] & (1u << (slot % 8)))
            return bad(why, n, "row %u: slot %u listed twice", (unsigned)k, (unsigned)slot);
        r->listed[slot / 8] |= (uint8_t)(1u << (slot % 8));
        uint32_t file = m->lines[slot].file;
        if (file == 0) continue; /* cleared by a reset in progress */
        if (file != HL_FILE_NATIVE_THREAD && file != HL_FILE_UNATTRIBUTED &&
            (file < HL_FILE_FIRST_REAL || file >= h->next_file_id))
            return bad(why, n, "row %u: file id %u is not one of the %u files", (unsigned)k,
                       (unsigned)file, (unsigned)(h->next_file_id - HL_FILE_FIRST_REAL));
        r->rows[r->nrows++] = slot;
    }
    return 0;
}

int hl_tables_read_file(const char *path, hl_tables_reader **out, char *why, size_t why_len) {
    *out = NULL;
    if (why_len) why[0] = 0;
    void *buf;
    int rc = hl_tables_os_load(path, sizeof(hl_tables_reader), &buf, why, why_len);
    if (rc != 0) return rc;
    hl_tables_reader *r = (hl_tables_reader *)((char *)buf + sizeof(hl_tables_mem));
    r->m = buf;
    rc = check_header(&r->m->hdr.h, why, why_len);
    if (rc == 0) rc = check_files(r->m, why, why_len);
    if (rc == 0) rc = check_rows(r, why, why_len);
    if (rc != 0) {
        hl_tables_os_unload(buf, sizeof(hl_tables_reader));
        return rc;
    }
    *out = r;
    return 0;
}

/* The facts of a checked header (no rows, no points). */
static void info_from_header(const hl_tables_header *h, hl_tables_info *out) {
    memset(out, 0, sizeof *out);
    out->pid = h->pid;
    out->ppid = h->ppid;
    out->state = h->state;
    out->exited = (int)h->exited;
    out->exit_status = h->exit_status;
    out->clock_origin = h->clock_origin;
    out->updated_s = h->updated_s;
    out->current_bytes = h->current_bytes;
    out->peak_bytes = h->peak_bytes;
    out->peak_at_s = h->peak_at_s;
}

void hl_tables_reader_info(const hl_tables_reader *r, hl_tables_info *out) {
    info_from_header(&r->m->hdr.h, out);
    out->lines = r->nrows;
    out->timeline = r->m->hdr.h.tl_n;
}

const hl_line_stats *hl_tables_reader_line(const hl_tables_reader *r, size_t i) {
    return i < r->nrows ? &r->m->lines[r->rows[i]] : NULL;
}

const char *hl_tables_reader_file_name(const hl_tables_reader *r, uint32_t id) {
    if (id == HL_FILE_NATIVE_THREAD) return "<native thread>";
    if (id == HL_FILE_UNATTRIBUTED) return "<unattributed>";
    const hl_tables_mem *m = r->m;
    if (id < HL_FILE_FIRST_REAL || id >= m->hdr.h.next_file_id) return NULL;
    return m->names + m->file_slots[m->file_ids[id] - 1].off; /* checked when read */
}

int hl_tables_reader_point(const hl_tables_reader *r, size_t i, double *s, int64_t *bytes) {
    if (i >= r->m->hdr.h.tl_n) return 0;
    *s = r->m->tl_s[i];
    *bytes = r->m->tl_b[i];
    return 1;
}

void hl_tables_reader_close(hl_tables_reader *r) {
    if (r) hl_tables_os_unload((void *)r->m, sizeof(hl_tables_reader));
}

/* The header alone (pid, state, exit status, footprint): what a merge needs
 * of a process that saved its whole part another way. Read with stdio, checked
 * as hl_tables_read_file checks it; no rows. */
int hl_tables_read_header(const char *path, hl_tables_info *out, char *why, size_t why_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        hl_tables_set_error(errno);
        return -1;
    }
    hl_tables_header h;
    size_t got = fread(&h, 1, sizeof h, f);
    fclose(f);
    if (got != sizeof h) return bad(why, why_len, "shorter than a tables file's header");
    int rc = check_header(&h, why, why_len);
    if (rc == 0) info_from_header(&h, out);
    return rc;
}
