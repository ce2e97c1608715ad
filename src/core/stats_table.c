/* The per-line statistics table and the file-name table it is keyed by.
 *
 * Both are fixed-size open-addressing tables in hl_T (tables_mem.h: static
 * storage, or a file-backed shared mapping; never malloc, so they can be used
 * from inside the allocator hooks; untouched pages cost no memory). Memory is
 * bounded whatever the run length: when a table fills up, further lines are
 * charged to the "unattributed" pseudo-site. All access is under
 * hl_tables_lock except hl_file_intern's callers, which take it too. The
 * counts are private (a child after fork copies the file table up to its own
 * next_file_id) and mirrored into hl_T's header for readers.
 *
 * hl_file_intern_keyed's cache is read and written without the lock: each
 * entry is checked against the name table (ids below next_file_id never
 * change) and the filter's epoch before it is believed.
 */
#include "stats_table.h"

#include <stdatomic.h>
#include <string.h>

/* ---- files ---------------------------------------------------------------- */
#define FILE_SLOTS   HL_FILE_SLOTS
#define NAME_ARENA   HL_NAME_ARENA
#define FILTER_CHARS 8192u

typedef hl_file_slot file_slot;

static uint32_t next_file_id = HL_FILE_FIRST_REAL;
static uint32_t names_used = 1; /* offset 0 is the empty string */
static uint32_t used_count;     /* entries of used_index[] in use */

static _Atomic uint32_t filter_epoch; /* advanced by hl_set_filter */

static char filter_only[FILTER_CHARS];
static char filter_exclude[FILTER_CHARS];
static char filter_sep = '\n';

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h | 1; /* 0 marks an empty slot */
}

#ifdef _WIN32
/* Windows file names ignore (ASCII) case, and a slash is a backslash. */
static char path_fold(char c) {
    return c == '/' ? '\\' : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}
#endif

/* File names compare byte for byte, except on Windows (path_fold):
 * C:\Python311\Lib is c:/python311/lib there. */
static int same_bytes(const char *a, const char *b, size_t m) {
#ifdef _WIN32
    for (size_t i = 0; i < m; i++)
        if (path_fold(a[i]) != path_fold(b[i])) return 0;
    return 1;
#else
    return memcmp(a, b, m) == 0;
#endif
}

/* Does `hay` (len n) contain the item [a, b)? or start with it? */
static int item_match(const char *hay, size_t n, const char *a, size_t m, int prefix) {
    if (m == 0 || m > n) return 0;
    if (prefix) return same_bytes(hay, a, m);
    for (size_t i = 0; i + m <= n; i++)
        if (same_bytes(hay + i, a, m)) return 1;
    return 0;
}

/* Does an item of `list` match? Items that start with '!' are exceptions
 * (matched, without the '!', only when `negated`); the others only when not. */
static int list_match(const char *list, const char *hay, size_t n, int prefix, int negated) {
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, filter_sep);
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if ((*p == '!') == (negated != 0) &&
            item_match(hay, n, p + (negated ? 1 : 0), m - (negated ? 1 : 0), prefix))
            return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Profiled: a file whose name contains an `only` item (when there are any),
 * and does not start with an `exclude` prefix, unless it starts with one of
 * the exclude list's exceptions ("!prefix": the files of a `heapline run -m`
 * target that is an installed package). */
static int8_t judge(const char *name, size_t n) {
    if (filter_only[0] && !list_match(filter_only, name, n, 0, 0)) return 0;
    if (filter_exclude[0] && list_match(filter_exclude, name, n, 1, 0) &&
        !list_match(filter_exclude, name, n, 1, 1))
        return 0;
    return 1;
}

int hl_file_charged(const char *name, size_t len) {
    hl_lock(&hl_tables_lock);
    int8_t v = judge(name, len);
    hl_unlock(&hl_tables_lock);
    return v;
}

static void copy_list(char *dst, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (n >= FILTER_CHARS) n = FILTER_CHARS - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}

void hl_set_filter(const char *only, const char *exclude, char sep) {
    hl_lock(&hl_tables_lock);
    copy_list(filter_only, only);
    copy_list(filter_exclude, exclude);
    filter_sep = sep;
    /* by id, not by slot: the slots are 384 KiB, mostly never touched */
    hl_tables_mem *m = hl_T;
    for (uint32_t id = HL_FILE_FIRST_REAL; id < next_file_id; id++)
        if (m->file_ids[id]) m->file_slots[m->file_ids[id] - 1].verdict = -1;
    atomic_fetch_add(&filter_epoch, 1);
    hl_unlock(&hl_tables_lock);
}

uint32_t hl_file_intern_locked(const char *name, size_t len, int *profiled) {
    uint64_t h = hash_bytes(name, len);
    hl_tables_mem *m = hl_T;
    char *names = m->names;
    uint32_t i = (uint32_t)h & (FILE_SLOTS - 1);
    for (uint32_t probes = 0; probes < FILE_SLOTS; probes++, i = (i + 1) & (FILE_SLOTS - 1)) {
        file_slot *s = &m->file_slots[i];
        if (s->hash == h && s->len == len && memcmp(names + s->off, name, len) == 0) {
            if (s->verdict < 0) s->verdict = judge(name, len);
            *profiled = s->verdict;
            return s->id;
        }
        if (s->hash == 0) {
            /* keep a quarter of the slots free so probes stay short */
            if (next_file_id >= FILE_SLOTS * 3 / 4 || names_used + len + 1 > NAME_ARENA) break;
            memcpy(names + names_used, name, len);
            names[names_used + len] = 0;
            s->off = names_used;
            s->len = (uint32_t)len;
            names_used += (uint32_t)len + 1;
            s->verdict = judge(name, len);
            s->hash = h;
            s->id = next_file_id;
            m->file_ids[next_file_id] = i + 1;
            *profiled = s->verdict;
            __atomic_store_n(&next_file_id, next_file_id + 1, __ATOMIC_RELEASE);
            HL_MIRROR(names_used, names_used);
            HL_MIRROR(next_file_id, next_file_id);
            return s->id;
        }
    }
    *profiled = 0;
    return 0;
}

uint32_t hl_file_intern(const char *name, size_t len, int *profiled) {
    hl_lock(&hl_tables_lock);
    uint32_t id = hl_file_intern_locked(name, len, profiled);
    hl_unlock(&hl_tables_lock);
    return id;
}

/* hl_file_intern_keyed's cache: direct-mapped by the key's address. */
#define KEYED_SLOTS 1024u
static struct {
    _Atomic(const void *) key;
    _Atomic uint64_t val; /* id | profiled << 32 | filter epoch << 33 */
} keyed[KEYED_SLOTS];

uint32_t hl_file_intern_keyed(const void *key, const char *name, size_t len, int *profiled) {
    uintptr_t k = (uintptr_t)key;
    size_t i = (size_t)((k >> 4) ^ (k >> 14)) & (KEYED_SLOTS - 1);
    uint32_t epoch = atomic_load_explicit(&filter_epoch, memory_order_acquire);
    if (atomic_load_explicit(&keyed[i].key, memory_order_relaxed) == key) {
        uint64_t v = atomic_load_explicit(&keyed[i].val, memory_order_relaxed);
        uint32_t id = (uint32_t)v;
        const hl_tables_mem *m = __atomic_load_n(&hl_T, __ATOMIC_ACQUIRE);
        if ((uint32_t)(v >> 33) == (epoch & 0x7FFFFFFFu) && id >= HL_FILE_FIRST_REAL &&
            id < __atomic_load_n(&next_file_id, __ATOMIC_ACQUIRE) && m->file_ids[id] != 0) {
            const file_slot *s = &m->file_slots[m->file_ids[id] - 1];
            if (s->len == len && same_bytes(m->names + s->off, name, len)) {
                *profiled = (int)((v >> 32) & 1);
                return id;
            }
        }
    }
    uint32_t id = hl_file_intern(name, len, profiled);
    if (id != 0) {
        uint64_t v = (uint64_t)id | (uint64_t)(*profiled ? 1 : 0) << 32 |
                     (uint64_t)(epoch & 0x7FFFFFFFu) << 33;
        atomic_store_explicit(&keyed[i].key, key, memory_order_relaxed);
        atomic_store_explicit(&keyed[i].val, v, memory_order_relaxed);
    }
    return id;
}

const char *hl_file_name(uint32_t id) {
    if (id == HL_FILE_NATIVE_THREAD) return "<native thread>";
    if (id == HL_FILE_UNATTRIBUTED) return "<unattributed>";
    /* without the lock: ids below next_file_id never change */
    const hl_tables_mem *m = __atomic_load_n(&hl_T, __ATOMIC_ACQUIRE);
    if (id < HL_FILE_FIRST_REAL || id >= __atomic_load_n(&next_file_id, __ATOMIC_ACQUIRE) ||
        m->file_ids[id] == 0)
        return NULL;
    return m->names + m->file_slots[m->file_ids[id] - 1].off;
}

void hl_stats_copy_locked(hl_tables_mem *dst, const hl_tables_mem *src, int lines) {
    /* src may be the parent's file, which it goes on writing after a fork:
     * only what was there at the fork is copied (names below names_used,
     * ids below next_file_id, each found from its id, never from a slot) */
    memcpy(dst->names, src->names, names_used);
    for (uint32_t id = HL_FILE_FIRST_REAL; id < next_file_id; id++) {
        uint32_t k = src->file_ids[id];
        if (k == 0 || k > FILE_SLOTS || src->file_slots[k - 1].id != id) continue;
        dst->file_slots[k - 1] = src->file_slots[k - 1];
        dst->file_ids[id] = k;
    }
    dst->hdr.h.next_file_id = next_file_id;
    dst->hdr.h.names_used = names_used;
    if (!lines) used_count = 0;
    for (uint32_t k = 0; k < used_count; k++) {
        uint32_t slot = src->used_index[k];
        dst->lines[slot] = src->lines[slot];
        dst->used_index[k] = slot;
    }
    dst->hdr.h.used_count = used_count;
}

/* ---- lines ---------------------------------------------------------------- */
#define LINE_SLOTS HL_LINE_SLOTS

static uint32_t line_hash(uint32_t file, int32_t line) {
    uint64_t k = ((uint64_t)file << 32) | (uint32_t)line;
    return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (LINE_SLOTS - 1);
}

/* The row of (file, line), or NULL; a new row's slot joins used_index before
 * the mirrored count that lets readers see it. */
static int32_t find_or_add(hl_tables_mem *m, uint32_t file, int32_t line) {
    uint32_t i = line_hash(file, line);
    for (uint32_t probes = 0; probes < LINE_SLOTS; probes++, i = (i + 1) & (LINE_SLOTS - 1)) {
        hl_line_stats *s = &m->lines[i];
        if (s->file == file && s->line == line) return (int32_t)i;
        if (s->file == 0) {
            if (used_count >= LINE_SLOTS * 3 / 4) return -1;
            s->file = file;
            s->line = line;
            m->used_index[used_count++] = i;
            HL_MIRROR(used_count, used_count);
            return (int32_t)i;
        }
    }
    return -1;
}

uint32_t hl_line_slot_locked(uint32_t file, int32_t line) {
    hl_tables_mem *m = hl_T;
    int32_t i = find_or_add(m, file, line);
    if (i < 0) i = find_or_add(m, HL_FILE_UNATTRIBUTED, 0); /* table full */
    return i < 0 ? 0 : (uint32_t)i;
}

hl_line_stats *hl_line_at(uint32_t slot) {
    return &hl_T->lines[slot];
}

void hl_lines_snapshot_peak_locked(void) {
    hl_tables_mem *m = hl_T;
    for (uint32_t k = 0; k < used_count; k++) {
        hl_line_stats *s = &m->lines[m->used_index[k]];
        s->at_peak = s->live;
    }
}

void hl_cpu_charge(uint32_t file, int32_t line, double python_s, double native_s, double system_s) {
    double now = hl_now_s();
    hl_lock(&hl_tables_lock);
    hl_line_stats *s = hl_line_at(hl_line_slot_locked(file, line));
    s->cpu_python += python_s;
    s->cpu_native += native_s;
    s->cpu_system += system_s;
    s->cpu_samples++;
    hl_tables_touch_locked(now);
    hl_unlock(&hl_tables_lock);
}

size_t hl_stats_read(hl_line_stats *out, size_t cap) {
    hl_lock(&hl_tables_lock);
    const hl_tables_mem *m = hl_T;
    size_t n = used_count;
    for (size_t k = 0; k < n && k < cap; k++)
        out[k] = m->lines[m->used_index[k]];
    hl_unlock(&hl_tables_lock);
    return n;
}

void hl_lines_reset_locked(void) {
    hl_tables_mem *m = hl_T;
    /* readers first see no rows, then rows being cleared (file 0: skipped) */
    HL_MIRROR(used_count, 0);
    for (uint32_t k = 0; k < used_count; k++)
        memset(&m->lines[m->used_index[k]], 0, sizeof(m->lines[0]));
    used_count = 0;
}
