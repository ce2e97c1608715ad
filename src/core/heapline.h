/* heapline core: the interface between the allocator hooks, the sampler, the
 * stats tables and their users (the Python extension and the C unit tests).
 *
 * The core lives in one shared library (libheapline.so) with no dependency on
 * libpython, so that it can be LD_PRELOADed into any process. Everything that
 * needs Python (frame walking, snapshots as Python objects) is in the extension,
 * which registers a line-lookup callback here.
 */
#ifndef HEAPLINE_H
#define HEAPLINE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
/* the core's own sources are compiled with HL_BUILD_CORE */
#if defined(HL_BUILD_CORE)
#define HL_EXPORT __declspec(dllexport)
#else
#define HL_EXPORT __declspec(dllimport)
#endif
#if defined(__GNUC__)
#define HL_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HL_LIKELY(x)   (x)
#define HL_UNLIKELY(x) (x)
#endif
#elif defined(__GNUC__)
#define HL_EXPORT      __attribute__((visibility("default")))
#define HL_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HL_EXPORT
#define HL_LIKELY(x)   (x)
#define HL_UNLIKELY(x) (x)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exact counters, one per hooked function ---------------------------- */
enum hl_hook {
    HL_HOOK_MALLOC,
    HL_HOOK_CALLOC,
    HL_HOOK_REALLOC,
    HL_HOOK_FREE,
    HL_HOOK_POSIX_MEMALIGN,
    HL_HOOK_ALIGNED_ALLOC,
    HL_HOOK_MEMALIGN,
    HL_HOOK_VALLOC,
    HL_HOOK_PVALLOC,
    HL_HOOK_MMAP,
    HL_HOOK_MUNMAP,
    HL_HOOK_PY_MALLOC,
    HL_HOOK_PY_CALLOC,
    HL_HOOK_PY_REALLOC,
    HL_HOOK_ALIGNED_MALLOC,  /* Windows: _aligned_malloc */
    HL_HOOK_ALIGNED_REALLOC, /* Windows: _aligned_realloc */
    HL_HOOK_ALIGNED_FREE,    /* Windows: _aligned_free (bytes: the block's requested size) */
    HL_HOOK_COUNT
};

HL_EXPORT const char *hl_hook_name(int hook);

typedef struct hl_counter {
    uint64_t calls;
    uint64_t bytes; /* requested bytes (allocating hooks), released bytes (free, munmap) */
} hl_counter;

/* Sums the per-thread counters of every thread that ever ran. */
HL_EXPORT void hl_counters_read(hl_counter out[HL_HOOK_COUNT]);

/* ---- footprint (exact) ---------------------------------------------------- */
typedef struct hl_footprint {
    int64_t current;    /* live malloc'd (usable size) + anonymous mmapped bytes */
    int64_t peak;       /* highest value of current */
    double peak_at_s;   /* seconds since hl_init at (about) the peak */
    uint32_t peak_file; /* file id / line of the sample that reached the peak */
    int32_t peak_line;
} hl_footprint;

HL_EXPORT void hl_footprint_read(hl_footprint *out);
/* Timeline of (seconds, bytes), bounded; returns the number of points written. */
HL_EXPORT size_t hl_timeline_read(double *secs, int64_t *bytes, size_t cap);
HL_EXPORT double hl_now_s(void);

/* ---- sampling ------------------------------------------------------------- */
/* Mean bytes between samples. Applies to every thread from its next sample. */
HL_EXPORT void hl_set_sampling_interval(uint64_t bytes);
HL_EXPORT uint64_t hl_sampling_interval(void);
HL_EXPORT void hl_set_seed(uint64_t seed);
/* Turns attribution of samples to lines on/off (counters always run). */
HL_EXPORT void hl_set_enabled(int on);
HL_EXPORT uint64_t hl_samples_taken(void);
/* Sampled blocks not tracked as live because the live table was full. */
HL_EXPORT uint64_t hl_live_dropped(void);

/* ---- line lookup ---------------------------------------------------------- */
enum hl_where_result {
    HL_WHERE_FOUND = 0,     /* site filled in */
    HL_WHERE_OUTSIDE = 1,   /* Python thread, but no frame in profiled code */
    HL_WHERE_NO_PYTHON = 2, /* thread without a Python thread state */
};
typedef struct hl_site {
    uint32_t file; /* id from hl_file_intern */
    int32_t line;
} hl_site;
/* Called on the allocating thread, inside an allocator hook: must not allocate,
 * must not take the GIL. */
typedef int (*hl_where_fn)(hl_site *out);
HL_EXPORT void hl_set_where(hl_where_fn fn);

/* File names: interned into a bounded table; each gets an id and a verdict
 * (profiled or not) from the filter, computed once. Never allocates with malloc.
 * Returns 0 when the table is full (id 0 is never a real file). */
HL_EXPORT uint32_t hl_file_intern(const char *name, size_t len, int *profiled);
HL_EXPORT const char *hl_file_name(uint32_t id);
/* hl_file_intern for a caller that has an object standing for the name (the
 * code object's file name string): a small cache keyed by it answers without
 * hashing the name or taking the lock. An entry is used only when the name
 * interned under its id is `name` byte for byte and the filter has not changed
 * since, so a key reused for another name, or two threads writing one entry,
 * cost a lookup, never a wrong id. */
HL_EXPORT uint32_t hl_file_intern_keyed(const void *key, const char *name, size_t len,
                                        int *profiled);
/* Filter: a file is profiled when it matches one "only" substring (if any are
 * set) and starts with none of the "exclude" prefixes, or starts with one of
 * the exclude list's exceptions (items written "!prefix"). Strings are copied.
 * Changing the filter forgets earlier verdicts. `sep` separates items. */
HL_EXPORT void hl_set_filter(const char *only, const char *exclude, char sep);
/* Whether the filter charges lines of the file `name` (nothing is interned). */
HL_EXPORT int hl_file_charged(const char *name, size_t len);

/* ---- per-line stats ------------------------------------------------------- */
/* Reserved file ids for the pseudo-sites. */
#define HL_FILE_NATIVE_THREAD 1u
#define HL_FILE_UNATTRIBUTED  2u
#define HL_FILE_FIRST_REAL    3u

typedef struct hl_line_stats {
    uint32_t file;
    int32_t line;
    double alloc_python; /* estimated bytes */
    double alloc_native;
    uint64_t samples;
    double live;       /* estimated bytes still allocated */
    double at_peak;    /* estimated bytes held at the last peak snapshot */
    double cpu_python; /* seconds */
    double cpu_native;
    double cpu_system;
    uint64_t cpu_samples;
} hl_line_stats;

/* Charges CPU (or wall) seconds to a line: the CPU sampler's only entry. */
HL_EXPORT void hl_cpu_charge(uint32_t file, int32_t line, double python_s, double native_s,
                             double system_s);

/* Copies up to cap rows; returns the number of rows in the table. */
HL_EXPORT size_t hl_stats_read(hl_line_stats *out, size_t cap);

/* ---- leak evidence ---------------------------------------------------------- */
/* Each sampled block still live remembers when it was allocated (hl_now_s(),
 * or its last resize). Per line, the live blocks by allocation time in
 * HL_LEAK_BINS equal bins of [t0, t1] (earlier times count in the first bin,
 * later ones in the last): a line whose memory grows steadily has blocks
 * still live from all over the run; a cache filled once has them from one
 * moment, churn only from the last moments. Costs a walk of the live table,
 * under the tables lock, per call; nothing on the allocation paths but the
 * clock read of a sampled allocation. */
#define HL_LEAK_BINS 32
typedef struct hl_live_history {
    uint32_t file;
    int32_t line;
    uint64_t blocks;                /* live sampled blocks */
    double bytes;                   /* their estimated bytes */
    uint32_t count[HL_LEAK_BINS];   /* live sampled blocks by allocation time */
    double bin_bytes[HL_LEAK_BINS]; /* their estimated bytes */
} hl_live_history;
/* Fills up to cap rows (lines with live sampled blocks); returns how many. */
HL_EXPORT size_t hl_live_history_read(double t0, double t1, hl_live_history *out, size_t cap);
/* Forgets all per-line stats, live blocks, peak and timeline (not counters). */
HL_EXPORT void hl_reset(void);

/* ---- the tables in a file --------------------------------------------------- */
/* The file table, the per-line table and the timeline (with a header: pid,
 * clock origin, footprint, exit status, state) move into a file-backed shared
 * mapping, `dir/tables-<pid>` (mode 0600, sparse), updated as the process goes
 * with no system call on the hot path, so that another process can read what
 * this one recorded even after a SIGKILL. A child after fork gets its own
 * file in the same directory (lines and timeline empty, the file table kept,
 * state 0) or, when that fails, a private copy. Returns 0, or -1 with errno
 * set (nothing changed); 0 when already in dir's file, -1/EBUSY when in
 * another's. An existing file of this pid in state 0 (left by the fork
 * before an exec) is taken over; any other existing file is EEXIST. */
HL_EXPORT int hl_tables_to_file(const char *dir);
/* The file the tables are in now, or NULL (static storage). */
HL_EXPORT const char *hl_tables_path(void);
/* The header's state: 0 not profiling (readers skip it), 1 profiling, 2 finished. */
HL_EXPORT void hl_tables_set_state(int state);
/* The origin of hl_now_s() in the OS's monotonic clock, in seconds
 * (CLOCK_MONOTONIC; Windows: QueryPerformanceCounter; run_clock.c). */
HL_EXPORT double hl_clock_origin(void);
/* The errno of the last hl_tables_to_file / hl_tables_read_file that failed
 * (errno itself may be another C runtime's, on Windows). */
HL_EXPORT int hl_tables_error(void);

/* Reading a tables file (any process's; its contents are not trusted: every
 * count, offset and id is checked when it is read). */
typedef struct hl_tables_reader hl_tables_reader;
typedef struct hl_tables_info {
    uint32_t pid, ppid;
    uint32_t state;
    int exited; /* exit_status is the process's when 1 */
    int32_t exit_status;
    double clock_origin; /* of the file's hl_now_s() times */
    double updated_s;
    int64_t current_bytes, peak_bytes;
    double peak_at_s;
    size_t lines;    /* rows: hl_tables_reader_line(r, 0 .. lines - 1) */
    size_t timeline; /* points: hl_tables_reader_point(r, 0 .. timeline - 1) */
} hl_tables_info;
/* 0 and *out; -1: the file could not be read (errno, hl_tables_error());
 * -2: not a valid tables file (why: one line). */
HL_EXPORT int hl_tables_read_file(const char *path, hl_tables_reader **out, char *why,
                                  size_t why_len);
HL_EXPORT void hl_tables_reader_info(const hl_tables_reader *r, hl_tables_info *out);
/* The header only (lines and timeline 0), as cheaply as one small read. */
HL_EXPORT int hl_tables_read_header(const char *path, hl_tables_info *out, char *why,
                                    size_t why_len);
/* Row i (NULL past the end); its file id names a file of the reader. */
HL_EXPORT const hl_line_stats *hl_tables_reader_line(const hl_tables_reader *r, size_t i);
HL_EXPORT const char *hl_tables_reader_file_name(const hl_tables_reader *r, uint32_t id);
HL_EXPORT int hl_tables_reader_point(const hl_tables_reader *r, size_t i, double *s,
                                     int64_t *bytes);
HL_EXPORT void hl_tables_reader_close(hl_tables_reader *r);

/* ---- Python allocator layer ----------------------------------------------- */
/* Same layout as CPython's PyMemAllocatorEx (kept here so the core needs no
 * Python headers). */
typedef struct hl_pyalloc {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} hl_pyalloc;
/* Given the allocator now in place for a domain (0 raw, 1 mem, 2 obj), fills
 * *hook with heapline's wrapper that chains to it. `direct_max`: MEM/OBJ
 * requests up to this size are known to reach the native layer only through
 * the arena allocator (pymalloc, with hl_pyarena_wrap installed); 0 if not. */
HL_EXPORT void hl_pyalloc_wrap(int domain, const hl_pyalloc *prev, hl_pyalloc *hook,
                               size_t direct_max);
/* Same layout as CPython's PyObjectArenaAllocator. */
typedef struct hl_pyarena {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
} hl_pyarena;
HL_EXPORT void hl_pyarena_wrap(const hl_pyarena *prev, hl_pyarena *hook);

/* ---- native layer --------------------------------------------------------- */
/* 1 when the malloc family of this process goes through heapline's hooks
 * (preloaded, or import slots patched by hl_inprocess_start). */
HL_EXPORT int hl_native_hooks_active(void);

/* Called by the _exit hook before the process ends, so that os._exit() still
 * writes the profile; runs only in the process that set it. Preloaded, every
 * _exit comes to the hook; otherwise setting it patches the loaded modules'
 * _exit imports (GOT on Linux, IAT on Windows) and clearing it restores them. */
typedef void (*hl_exit_fn)(int status);
HL_EXPORT void hl_set_exit_hook(hl_exit_fn fn);

/* A child made by fork() starts with SIGTERM's default action when its parent
 * had a handler (the child's Python re-installs it; see posix/fork.c).
 * Only while on: a process in which heapline installed the handler. POSIX. */
HL_EXPORT void hl_set_fork_child_sigterm_default(int on);

/* A profiled child process: SIGTERM (while it has its default action) notes
 * in the tables file that it ended the process, then ends it as the default
 * would (posix/term_signal.c). 1 when installed. POSIX. */
HL_EXPORT int hl_install_term_note(void);

/* In-process mode: patch the import slots of every loaded module (and of
 * modules loaded later) to the hooks; returns 1 when hooks are on (0 means
 * unsupported here). Nothing to do when preloaded. */
HL_EXPORT int hl_inprocess_start(void);
/* Writes every patched slot back (modules since unloaded excepted). */
HL_EXPORT void hl_inprocess_stop(void);
HL_EXPORT int hl_inprocess_active(void);
/* For tests: import slots of hooked names that point into heapline now
 * (ELF GOT entries on Linux, PE import address table slots on Windows). */
HL_EXPORT size_t hl_got_slots_into_heapline(void);

#ifdef __cplusplus
}
#endif
#endif
