/* The storage of the tables another process may read: the file-name table,
 * the per-line table and the footprint timeline, in one pointer-free struct
 * (hl_tables_mem) with a self-describing header. hl_T points at it: at a
 * static instance by default (untouched pages cost nothing), or at a
 * file-backed shared mapping after hl_tables_to_file
 * (platform/<os>/tables_file.c), so that what the process recorded up to a
 * SIGKILL stays readable.
 *
 * All writes are under hl_tables_lock. The authoritative counts stay private
 * to their owners (stats_table.c, footprint.c); each is mirrored into the
 * header, with a release store after the data it covers, wherever it
 * changes. A reader treats the file as untrusted (tables_reader.c).
 */
#ifndef HEAPLINE_TABLES_MEM_H
#define HEAPLINE_TABLES_MEM_H

#include "thread_state.h"

#define HL_TABLES_MAGIC   0x314C424154504548ull /* "HEPTABL1" in little-endian bytes */
#define HL_TABLES_VERSION 1u

#define HL_FILE_SLOTS    16384u /* power of two */
#define HL_NAME_ARENA    (4u << 20)
#define HL_LINE_SLOTS    65536u /* power of two */
#define HL_TIMELINE_CAP  2048u
#define HL_TABLES_HEADER 256u

/* Python's hl_tables_set_state values. */
enum hl_tables_state { HL_TABLES_IDLE = 0, HL_TABLES_PROFILING = 1, HL_TABLES_FINISHED = 2 };

typedef struct hl_file_slot {
    uint64_t hash;     /* 0: empty */
    uint32_t off, len; /* the name: names[off, off + len), NUL after it */
    uint32_t id;
    int8_t verdict; /* -1 unknown, 0 not profiled, 1 profiled */
    uint8_t pad[3];
} hl_file_slot;

typedef struct hl_tables_header {
    uint64_t magic; /* written last, when the rest is in place */
    uint32_t version;
    uint32_t header_size; /* HL_TABLES_HEADER */
    uint64_t size;        /* sizeof(hl_tables_mem) */
    /* the sizes of the tables below */
    uint32_t file_slots, line_slots, name_arena, timeline_cap;
    uint32_t pid, ppid;
    double clock_origin; /* the t0 of hl_now_s(): CLOCK_MONOTONIC s (Windows: QPC s) */
    double updated_s;    /* hl_now_s() of the last slow-path write */
    int64_t current_bytes, peak_bytes; /* the footprint at the last slow path */
    double peak_at_s;
    uint32_t next_file_id; /* ids [HL_FILE_FIRST_REAL, next_file_id) are valid */
    uint32_t names_used;   /* bytes of names[] in use */
    uint32_t used_count;   /* entries of used_index[] in use */
    uint32_t tl_n;         /* timeline points */
    int32_t exit_status;
    uint32_t exited; /* 1: exit_status is the status the process ended with */
    uint32_t state;  /* enum hl_tables_state, set by Python */
} hl_tables_header;

typedef struct hl_tables_mem {
    union {
        hl_tables_header h;
        char pad[HL_TABLES_HEADER];
    } hdr;
    uint32_t file_ids[HL_FILE_SLOTS]; /* id -> slot index + 1 (0: none) */
    hl_file_slot file_slots[HL_FILE_SLOTS];
    hl_line_stats lines[HL_LINE_SLOTS];
    uint32_t used_index[HL_LINE_SLOTS]; /* slots in use, in insertion order */
    double tl_s[HL_TIMELINE_CAP];
    int64_t tl_b[HL_TIMELINE_CAP];
    char names[HL_NAME_ARENA]; /* offset 0 is the empty string */
} hl_tables_mem;

_Static_assert(sizeof(hl_tables_header) <= HL_TABLES_HEADER, "header outgrew its room");

/* The tables now (changed only under hl_tables_lock). */
extern hl_tables_mem *hl_T;
/* The static instance: hl_T before any hl_tables_to_file. */
extern hl_tables_mem hl_tables_static;

/* A header field set to v for readers (after the data it covers). */
#define HL_MIRROR(field, v)                                                                        \
    do {                                                                                           \
        __typeof__(hl_T->hdr.h.field) v_ = (v);                                                    \
        __atomic_store(&hl_T->hdr.h.field, &v_, __ATOMIC_RELEASE);                                 \
    } while (0)

/* ---- tables_move.c: what every platform's move shares ---- */
/* Stamps dst's header for this process (magic left for hl_tables_publish). */
void hl_tables_stamp(hl_tables_mem *dst, uint32_t pid, uint32_t ppid);
/* Copies the tables into dst (fresh, zero): the file table always, the lines
 * and the timeline when `lines` (else dst starts them empty, and so do the
 * private counts). With hl_tables_lock held. */
void hl_tables_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines);
/* The magic, last. */
void hl_tables_publish(hl_tables_mem *m);

/* ---- tables_mem.c ---- */
/* Records the status the process ends with, when m is its own file. */
void hl_tables_record_exit(int status);
/* The calling process's id (per OS file). */
uint32_t hl_tables_os_pid(void);
/* hl_now_s() stamped into the header (a slow path wrote the tables). */
static inline void hl_tables_touch_locked(double now) {
    HL_MIRROR(updated_s, now);
}

/* ---- platform/<os>/tables_file.c ---- */
/* The longest run directory, and a file path in one ("/tables-" and a pid). */
#define HL_TABLES_DIR_MAX  4000u
#define HL_TABLES_PATH_CAP (HL_TABLES_DIR_MAX + 32u)
/* The file hl_T is in (tables_mem.c; written by the platform's move). */
extern char hl_tables_path_buf[HL_TABLES_PATH_CAP];
/* hl_tables_error()'s value, also in errno (tables_mem.c). */
void hl_tables_set_error(int e);
/* The reader's copy of the file at path, in fresh memory (not the program's
 * heap) of sizeof(hl_tables_mem) + extra bytes, the rest zero. 0 and *buf;
 * -1: an OS error (hl_tables_set_error); -2: not a tables file (why). */
int hl_tables_os_load(const char *path, size_t extra, void **buf, char *why, size_t why_len);
void hl_tables_os_unload(void *buf, size_t extra);
#ifndef _WIN32
/* Fork handlers of the tables (posix/tables_file.c, registered by posix/fork.c):
 * prepare takes the tables lock (the forking thread marked busy, so that
 * nothing it allocates until the fork is sampled), parent and child release
 * it; the child's first moves its tables into its own file when the parent
 * had one. */
void hl_tables_fork_prepare(void);
void hl_tables_fork_parent(void);
void hl_tables_fork_child(void);
#endif

#endif
