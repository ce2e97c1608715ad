/* The per-line statistics table and the file-name table it is keyed by.
 *
 * Both are fixed-size open-addressing tables in static storage (never malloc,
 * so they can be used from inside the allocator hooks; untouched pages cost no
 * memory). Memory is bounded whatever the run length: when a table fills up,
 * further lines are charged to the "unattributed" pseudo-site. All access is
 * under hl_tables_lock except hl_file_intern's callers, which take it too.
 */
#include "stats_table.h"

#include <string.h>

hl_spinlock hl_tables_lock = HL_SPINLOCK_INIT;

/* ---- files ---------------------------------------------------------------- */
#define FILE_SLOTS   16384u /* power of two */
#define NAME_ARENA   (4u << 20)
#define FILTER_CHARS 8192u

typedef struct {
    uint64_t hash;
    uint32_t off, len; /* into names[] */
    uint32_t id;
    int8_t verdict; /* -1 unknown, 0 not profiled, 1 profiled */
} file_slot;

static file_slot file_slots[FILE_SLOTS];
static uint32_t file_ids[FILE_SLOTS]; /* id -> slot index + 1 */
static uint32_t next_file_id = HL_FILE_FIRST_REAL;
static char names[NAME_ARENA];
static uint32_t names_used = 1; /* offset 0 is the empty string */

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
    for (uint32_t i = 0; i < FILE_SLOTS; i++)
        if (file_slots[i].hash) file_slots[i].verdict = -1;
    hl_unlock(&hl_tables_lock);
}

uint32_t hl_file_intern_locked(const char *name, size_t len, int *profiled) {
    uint64_t h = hash_bytes(name, len);
    uint32_t i = (uint32_t)h & (FILE_SLOTS - 1);
    for (uint32_t probes = 0; probes < FILE_SLOTS; probes++, i = (i + 1) & (FILE_SLOTS - 1)) {
        file_slot *s = &file_slots[i];
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
            file_ids[next_file_id] = i + 1;
            *profiled = s->verdict;
            return next_file_id++;
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

const char *hl_file_name(uint32_t id) {
    if (id == HL_FILE_NATIVE_THREAD) return "<native thread>";
    if (id == HL_FILE_UNATTRIBUTED) return "<unattributed>";
    if (id < HL_FILE_FIRST_REAL || id >= next_file_id || file_ids[id] == 0) return NULL;
    return names + file_slots[file_ids[id] - 1].off;
}

/* ---- lines ---------------------------------------------------------------- */
#define LINE_SLOTS HL_LINE_SLOTS

static hl_line_stats lines[LINE_SLOTS];
static uint32_t used_index[LINE_SLOTS]; /* slots in use, in insertion order */
static uint32_t used_count;

static uint32_t line_hash(uint32_t file, int32_t line) {
    uint64_t k = ((uint64_t)file << 32) | (uint32_t)line;
    return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (LINE_SLOTS - 1);
}

static hl_line_stats *find_or_add(uint32_t file, int32_t line) {
    uint32_t i = line_hash(file, line);
    for (uint32_t probes = 0; probes < LINE_SLOTS; probes++, i = (i + 1) & (LINE_SLOTS - 1)) {
        hl_line_stats *s = &lines[i];
        if (s->file == file && s->line == line) return s;
        if (s->file == 0) {
            if (used_count >= LINE_SLOTS * 3 / 4) return NULL;
            s->file = file;
            s->line = line;
            used_index[used_count++] = i;
            return s;
        }
    }
    return NULL;
}

uint32_t hl_line_slot_locked(uint32_t file, int32_t line) {
    hl_line_stats *s = find_or_add(file, line);
    if (!s) s = find_or_add(HL_FILE_UNATTRIBUTED, 0); /* table full */
    return s ? (uint32_t)(s - lines) : 0;
}

hl_line_stats *hl_line_at(uint32_t slot) {
    return &lines[slot];
}

void hl_lines_snapshot_peak_locked(void) {
    for (uint32_t k = 0; k < used_count; k++) {
        hl_line_stats *s = &lines[used_index[k]];
        s->at_peak = s->live;
    }
}

void hl_cpu_charge(uint32_t file, int32_t line, double python_s, double native_s, double system_s) {
    hl_lock(&hl_tables_lock);
    hl_line_stats *s = &lines[hl_line_slot_locked(file, line)];
    s->cpu_python += python_s;
    s->cpu_native += native_s;
    s->cpu_system += system_s;
    s->cpu_samples++;
    hl_unlock(&hl_tables_lock);
}

size_t hl_stats_read(hl_line_stats *out, size_t cap) {
    hl_lock(&hl_tables_lock);
    size_t n = used_count;
    for (size_t k = 0; k < n && k < cap; k++)
        out[k] = lines[used_index[k]];
    hl_unlock(&hl_tables_lock);
    return n;
}

void hl_lines_reset_locked(void) {
    for (uint32_t k = 0; k < used_count; k++)
        memset(&lines[used_index[k]], 0, sizeof(lines[0]));
    used_count = 0;
}
