/* C unit tests of the core, linked directly against libheapline (which, being
 * ahead of libc in this executable's link order, interposes the malloc family
 * just as LD_PRELOAD does). Truth is what the test itself allocated. Prints a
 * closing "N passed, N failed" line; exits non-zero on any failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "heapline.h"
#include "../check.h"

#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../says_python.h"

/* Keep the compiler from pairing/eliding malloc+free. */
static void *volatile sink;

static hl_counter before[HL_HOOK_COUNT], after[HL_HOOK_COUNT];
static void snap(hl_counter *c) {
    hl_counters_read(c);
}
static uint64_t dcalls(int h) {
    return after[h].calls - before[h].calls;
}
static uint64_t dbytes(int h) {
    return after[h].bytes - before[h].bytes;
}

static void test_hooks_active(void) {
    CHECK(hl_native_hooks_active(), "malloc is not heapline's in this executable");
}

static void test_exact_counters(void) {
    snap(before);
    void *a = malloc(1000);
    void *b = calloc(10, 300);
    void *volatile nothing = NULL;
    void *c = realloc(nothing, 777);
    void *d = NULL;
    int rc = posix_memalign(&d, 64, 5000);
    void *e = aligned_alloc(128, 1024);
    void *f = memalign(256, 3000);
    void *g = valloc(4096 * 3);
    void *h = pvalloc(100);
    void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    snap(after);
    CHECK(rc == 0, "posix_memalign failed");
    CHECK(dcalls(HL_HOOK_MALLOC) == 1 && dbytes(HL_HOOK_MALLOC) == 1000, "malloc %lu/%lu",
          (unsigned long)dcalls(HL_HOOK_MALLOC), (unsigned long)dbytes(HL_HOOK_MALLOC));
    CHECK(dcalls(HL_HOOK_CALLOC) == 1 && dbytes(HL_HOOK_CALLOC) == 3000, "calloc");
    CHECK(dcalls(HL_HOOK_REALLOC) == 1 && dbytes(HL_HOOK_REALLOC) == 777, "realloc");
    CHECK(dcalls(HL_HOOK_POSIX_MEMALIGN) == 1 && dbytes(HL_HOOK_POSIX_MEMALIGN) == 5000,
          "posix_memalign");
    CHECK(dcalls(HL_HOOK_ALIGNED_ALLOC) == 1 && dbytes(HL_HOOK_ALIGNED_ALLOC) == 1024,
          "aligned_alloc");
    CHECK(dcalls(HL_HOOK_MEMALIGN) == 1 && dbytes(HL_HOOK_MEMALIGN) == 3000, "memalign");
    CHECK(dcalls(HL_HOOK_VALLOC) == 1 && dbytes(HL_HOOK_VALLOC) == 4096 * 3, "valloc");
    CHECK(dcalls(HL_HOOK_PVALLOC) == 1 && dbytes(HL_HOOK_PVALLOC) == 100, "pvalloc");
    CHECK(dcalls(HL_HOOK_MMAP) == 1 && dbytes(HL_HOOK_MMAP) == (1 << 20), "mmap");

    size_t usable = malloc_usable_size(a) + malloc_usable_size(b) + malloc_usable_size(c) +
                    malloc_usable_size(d) + malloc_usable_size(e) + malloc_usable_size(f) +
                    malloc_usable_size(g) + malloc_usable_size(h);
    snap(before);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
    free(g);
    free(h);
    munmap(m, 1 << 20);
    snap(after);
    CHECK(dcalls(HL_HOOK_FREE) == 8 && dbytes(HL_HOOK_FREE) == usable, "free %lu bytes vs %lu",
          (unsigned long)dbytes(HL_HOOK_FREE), (unsigned long)usable);
    CHECK(dcalls(HL_HOOK_MUNMAP) == 1 && dbytes(HL_HOOK_MUNMAP) == (1 << 20), "munmap");
}

static void test_dlsym_returns_hooks(void) {
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc != NULL, "libc not loaded?");
    void *(*m)(size_t) = NULL;
    *(void **)&m = dlsym(libc, "malloc");
    snap(before);
    sink = m(4321);
    snap(after);
    free(sink);
    CHECK(dcalls(HL_HOOK_MALLOC) == 1 && dbytes(HL_HOOK_MALLOC) == 4321,
          "malloc looked up by handle bypassed the hook");
}

static void test_footprint_peak(void) {
    hl_footprint f0, f1, f2;
    hl_footprint_read(&f0);
    void *big = malloc(64 << 20);
    sink = big;
    hl_footprint_read(&f1);
    free(big);
    hl_footprint_read(&f2);
    int64_t grew = f1.current - f0.current;
    CHECK(grew >= (64 << 20) && grew < (64 << 20) + 8192, "footprint grew by %lld",
          (long long)grew);
    CHECK(f1.peak >= f1.current, "peak below current");
    CHECK(f2.current == f0.current, "footprint did not come back: %lld vs %lld",
          (long long)f2.current, (long long)f0.current);
}

/* ---- sampling ---------------------------------------------------------- */
static uint32_t site_file;
static int fixed_where(hl_site *out) {
    out->file = site_file;
    out->line = 7;
    return HL_WHERE_FOUND;
}

static hl_line_stats *find_line(hl_line_stats *rows, size_t n, uint32_t file, int line) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].file == file && rows[i].line == line) return &rows[i];
    return NULL;
}

static hl_line_stats rows[1024];

static void test_sampling_unbiased(void) {
    int profiled = 0;
    site_file = hl_file_intern("/tmp/prog.py", 12, &profiled);
    CHECK(site_file >= HL_FILE_FIRST_REAL && profiled, "intern failed");
    hl_reset();
    hl_set_sampling_interval(16384);
    hl_set_seed(12345);
    hl_set_where(fixed_where);
    hl_set_enabled(1);
    enum { N = 40000, SZ = 1000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        sink = blocks[i] = malloc(SZ);
    size_t n = hl_stats_read(rows, 1024);
    hl_line_stats *r = find_line(rows, n, site_file, 7);
    double truth = (double)N * SZ;
    CHECK(r != NULL, "no line");
    if (r) {
        double err = fabs(r->alloc_native - truth) / truth;
        CHECK(err < 0.05, "estimate %.0f vs %.0f (%.1f%%)", r->alloc_native, truth, err * 100);
        CHECK(r->alloc_python == 0, "python bytes on a native line");
        CHECK(fabs(r->live - r->alloc_native) < 1, "live %.0f != alloc %.0f", r->live,
              r->alloc_native);
        CHECK(r->samples > 1000 && r->samples < 4000, "samples %lu", (unsigned long)r->samples);
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    n = hl_stats_read(rows, 1024);
    r = find_line(rows, n, site_file, 7);
    CHECK(r && fabs(r->live) < 1, "live after free: %.1f", r ? r->live : -1.0);

    /* a block far larger than the interval is counted (almost) exactly */
    hl_reset();
    void *big = malloc(10 << 20);
    sink = big;
    n = hl_stats_read(rows, 1024);
    r = find_line(rows, n, site_file, 7);
    CHECK(r && fabs(r->alloc_native - (10 << 20)) < 1, "big block %.0f", r ? r->alloc_native : 0);
    free(big);

    /* realloc growth is charged once, not once per call */
    hl_reset();
    void *p = NULL;
    for (size_t sz = 4096; sz <= (64u << 20); sz *= 2)
        sink = p = realloc(p, sz);
    n = hl_stats_read(rows, 1024);
    r = find_line(rows, n, site_file, 7);
    double grown = (double)(64u << 20);
    CHECK(r && fabs(r->alloc_native - grown) / grown < 0.05, "realloc growth %.0f vs %.0f",
          r ? r->alloc_native : 0, grown);
    CHECK(r && fabs(r->live - r->alloc_native) / grown < 0.05, "realloc live %.0f",
          r ? r->live : 0);
    /* shrinking keeps the block on its line with the smaller size */
    sink = p = realloc(p, 16u << 20);
    n = hl_stats_read(rows, 1024);
    r = find_line(rows, n, site_file, 7);
    CHECK(r && fabs(r->live - (double)(16u << 20)) / (double)(16u << 20) < 0.05,
          "live after shrinking to 16 MiB: %.0f", r ? r->live : 0);
    free(p);
    n = hl_stats_read(rows, 1024);
    r = find_line(rows, n, site_file, 7);
    CHECK(r && fabs(r->live) < 1, "realloc'd block still live: %.0f", r ? r->live : 0);
    hl_set_enabled(0);
    hl_set_where(NULL);
}

/* Live blocks by allocation time: blocks kept from three moments land in
 * three bins; freed ones are gone. */
static hl_live_history hist[64];

static void test_live_history(void) {
    int profiled = 0;
    site_file = hl_file_intern("/tmp/prog.py", 12, &profiled);
    hl_reset();
    hl_set_sampling_interval(1); /* every block sampled */
    hl_set_seed(7);              /* a countdown drawn at that interval */
    hl_set_where(fixed_where);
    hl_set_enabled(1);
    enum { N = 30 };
    static void *kept[3][N];
    double t[4];
    for (int k = 0; k < 3; k++) {
        t[k] = hl_now_s();
        for (int i = 0; i < N; i++) {
            sink = kept[k][i] = malloc(100);
            free(malloc(100)); /* churn: never live at the end */
        }
        usleep(20000);
    }
    t[3] = hl_now_s();
    size_t n = hl_live_history_read(t[0], t[3], hist, 64);
    hl_live_history *h = NULL;
    for (size_t i = 0; i < n; i++)
        if (hist[i].file == site_file && hist[i].line == 7) h = &hist[i];
    CHECK(h != NULL, "no history row for the line");
    if (h) {
        CHECK(h->blocks == 3 * N, "live blocks %lu, want %d", (unsigned long)h->blocks, 3 * N);
        for (int k = 0; k < 3; k++) {
            int bin = (int)((t[k] - t[0]) / (t[3] - t[0]) * HL_LEAK_BINS);
            if (bin >= HL_LEAK_BINS) bin = HL_LEAK_BINS - 1;
            CHECK(h->count[bin] >= N, "bin %d holds %u blocks, want >= %d", bin, h->count[bin], N);
        }
        CHECK(h->bytes >= 3 * N * 100 && h->bytes < 3 * N * 200, "bytes %.0f", h->bytes);
    }
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N; i++)
            free(kept[k][i]);
    n = hl_live_history_read(t[0], t[3], hist, 64);
    h = NULL;
    for (size_t i = 0; i < n; i++)
        if (hist[i].file == site_file && hist[i].line == 7) h = &hist[i];
    CHECK(h == NULL, "freed blocks still in the history");
    hl_set_enabled(0);
    hl_set_where(NULL);
    hl_set_sampling_interval(65536);
}

/* Many live samples, spread over the whole table: the history finds every
 * one of them, and after a reset none (the walks visit only the parts of the
 * table that insertions touched). */
static void test_live_history_everywhere(void) {
    int profiled = 0;
    site_file = hl_file_intern("/tmp/prog.py", 12, &profiled);
    hl_reset();
    hl_set_sampling_interval(1);
    hl_set_seed(11);
    hl_set_where(fixed_where);
    hl_set_enabled(1);
    enum { N = 20000 };
    static void *kept[N];
    double t0 = hl_now_s();
    for (int i = 0; i < N; i++)
        sink = kept[i] = malloc(64);
    size_t n = hl_live_history_read(t0, hl_now_s(), hist, 64);
    unsigned long blocks = 0;
    for (size_t i = 0; i < n; i++)
        if (hist[i].file == site_file && hist[i].line == 7) blocks = (unsigned long)hist[i].blocks;
    CHECK(blocks == N, "live blocks %lu, want %d", blocks, N);
    hl_set_enabled(0);
    hl_reset();
    n = hl_live_history_read(t0, hl_now_s(), hist, 64);
    CHECK(n == 0, "%zu history rows after a reset", n);
    hl_set_enabled(1);
    for (int i = 0; i < 3; i++)
        free(kept[i]); /* were live before the reset: not in the table now */
    sink = kept[0] = malloc(64);
    n = hl_live_history_read(t0, hl_now_s(), hist, 64);
    CHECK(n == 1 && hist[0].blocks == 1, "after the reset: %zu rows, %lu blocks", n,
          n ? (unsigned long)hist[0].blocks : 0ul);
    hl_set_enabled(0);
    free(kept[0]);
    for (int i = 3; i < N; i++)
        free(kept[i]);
    hl_set_where(NULL);
    hl_set_sampling_interval(65536);
}

static void test_filter(void) {
    int p1 = -1, p2 = -1, p3 = -1;
    hl_set_filter("", "/usr/lib/python3\n/site/", '\n');
    hl_file_intern("/usr/lib/python3/os.py", 22, &p1);
    hl_file_intern("/site/pkg/x.py", 14, &p2);
    hl_file_intern("/home/me/app.py", 15, &p3);
    CHECK(p1 == 0 && p2 == 0 && p3 == 1, "exclude prefixes: %d %d %d", p1, p2, p3);
    hl_set_filter("", "/site/\n!/site/pkg/", '\n');
    hl_file_intern("/site/pkg/x.py", 14, &p2);
    hl_file_intern("/site/other/y.py", 16, &p1);
    hl_file_intern("/home/me/app.py", 15, &p3);
    CHECK(p1 == 0 && p2 == 1 && p3 == 1, "exclude exceptions: %d %d %d", p1, p2, p3);
    hl_set_filter("app", "", '\n');
    hl_file_intern("/usr/lib/python3/os.py", 22, &p1);
    hl_file_intern("/home/me/app.py", 15, &p3);
    CHECK(p1 == 0 && p3 == 1, "only substrings: %d %d", p1, p3);
    hl_set_filter("", "", '\n');
    uint32_t a = hl_file_intern("/x/y.py", 7, &p1);
    uint32_t b = hl_file_intern("/x/y.py", 7, &p2);
    CHECK(a == b && strcmp(hl_file_name(a), "/x/y.py") == 0, "interning not stable");
}

/* The keyed cache (the frame walk's): the same id and verdict as interning by
 * name, when the key stands for another name than before, and after the
 * filter changes. */
static void test_file_intern_keyed(void) {
    static const char names[][16] = {"/k/one.py", "/k/two.py", "/lib/three.py"};
    int key_a, key_b, p = -1, q = -1;
    hl_set_filter("", "/lib/", '\n');
    uint32_t one = hl_file_intern(names[0], 9, &q);
    for (int round = 0; round < 3; round++) {
        uint32_t got = hl_file_intern_keyed(&key_a, names[0], 9, &p);
        CHECK(got == one && p == 1, "round %d: id %u (want %u), profiled %d", round, got, one, p);
    }
    /* the same key for another name (an address reused): that name's id */
    uint32_t two = hl_file_intern_keyed(&key_a, names[1], 9, &p);
    CHECK(two != one && two == hl_file_intern(names[1], 9, &q) && p == 1,
          "reused key: id %u, by name %u", two, hl_file_intern(names[1], 9, &q));
    CHECK(hl_file_intern_keyed(&key_a, names[0], 9, &p) == one, "the first name again");
    uint32_t three = hl_file_intern_keyed(&key_b, names[2], 13, &p);
    CHECK(three == hl_file_intern(names[2], 13, &q) && p == 0, "excluded: id %u, profiled %d",
          three, p);
    hl_set_filter("three", "", '\n');
    CHECK(hl_file_intern_keyed(&key_b, names[2], 13, &p) == three && p == 1,
          "after the filter changed: profiled %d", p);
    CHECK(hl_file_intern_keyed(&key_a, names[0], 9, &p) == one && p == 0,
          "after the filter changed: one.py profiled %d", p);
    hl_set_filter("", "", '\n');
}

/* ---- threads ------------------------------------------------------------- */
enum { THREADS = 8, ROUNDS = 20000 };
static void *thread_body(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        void *p = malloc(100 + (size_t)(i % 7));
        sink = p;
        free(p);
    }
    return NULL;
}

static void test_threads_exact(void) {
    hl_set_where(fixed_where);
    hl_set_enabled(1);
    snap(before);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, thread_body, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    snap(after);
    uint64_t want_bytes = 0;
    for (int i = 0; i < ROUNDS; i++)
        want_bytes += 100 + (uint64_t)(i % 7);
    want_bytes *= THREADS;
    /* glibc's pthread_create may malloc a few small blocks of its own */
    uint64_t calls = dcalls(HL_HOOK_MALLOC) + dcalls(HL_HOOK_CALLOC);
    CHECK(calls >= (uint64_t)THREADS * ROUNDS && calls < (uint64_t)THREADS * ROUNDS + 64,
          "thread malloc calls %lu", (unsigned long)calls);
    CHECK(dbytes(HL_HOOK_MALLOC) >= want_bytes && dbytes(HL_HOOK_MALLOC) < want_bytes + 65536,
          "thread malloc bytes %lu vs %lu", (unsigned long)dbytes(HL_HOOK_MALLOC),
          (unsigned long)want_bytes);
    hl_set_enabled(0);
    hl_set_where(NULL);
}

/* ---- the peak, against the test's own running sum of usable sizes ---------- */
enum { KEEP = 3000 };
typedef struct {
    void *keep[KEEP];
    int64_t max; /* highest level of this run's blocks (usable bytes) */
} growth;

/* Grows with temporaries (each free of one comes at a new high), shrinks by
 * a third, grows again, then frees everything; truth in g->max. */
static void grow_and_free(growth *g, size_t base_size) {
    int64_t cur = 0;
    g->max = 0;
#define NOTE(d)                                                                                    \
    do {                                                                                           \
        cur += (d);                                                                                \
        if (cur > g->max) g->max = cur;                                                            \
    } while (0)
    for (int i = 0; i < KEEP; i++) {
        g->keep[i] = malloc(base_size + (size_t)(i % 50) * 8);
        NOTE((int64_t)malloc_usable_size(g->keep[i]));
        void *tmp = malloc(200 + (size_t)(i % 7) * 100);
        NOTE((int64_t)malloc_usable_size(tmp));
        sink = tmp;
        NOTE(-(int64_t)malloc_usable_size(tmp));
        free(tmp);
        if (i % 3 == 2) {
            NOTE(-(int64_t)malloc_usable_size(g->keep[i - 1]));
            free(g->keep[i - 1]);
            g->keep[i - 1] = NULL;
        }
    }
    for (int i = 0; i < KEEP; i++)
        if (g->keep[i]) {
            NOTE(-(int64_t)malloc_usable_size(g->keep[i]));
            free(g->keep[i]);
        }
#undef NOTE
}

static growth g_main, g_a, g_b;

static void test_peak_exact_one_thread(void) {
    hl_reset(); /* the peak starts again from the footprint now */
    hl_footprint f0, f1;
    hl_footprint_read(&f0);
    grow_and_free(&g_main, 100);
    hl_footprint_read(&f1);
    CHECK(f0.peak == f0.current, "peak %lld after reset, footprint %lld", (long long)f0.peak,
          (long long)f0.current);
    CHECK(f1.current == f0.current, "footprint %lld, want %lld", (long long)f1.current,
          (long long)f0.current);
    CHECK(f1.peak == f0.current + g_main.max, "peak %lld, want %lld (+%lld)", (long long)f1.peak,
          (long long)(f0.current + g_main.max), (long long)g_main.max);
}

static sem_t go_a, go_b, done;
static void *worker_a(void *arg) {
    (void)arg;
    sem_wait(&go_a);
    grow_and_free(&g_a, 300);
    sem_post(&done);
    return NULL;
}
static void *worker_b(void *arg) {
    (void)arg;
    sem_wait(&go_b);
    grow_and_free(&g_b, 500);
    sem_post(&done);
    return NULL;
}

/* Two threads that grow one after the other: the peak is still exact. Then
 * both at once: the true peak lies between the higher of the two and their
 * sum, and the reported one within the documented slack of that. */
static void test_peak_threads(void) {
    for (int round = 0; round < 2; round++) {
        sem_init(&go_a, 0, 0);
        sem_init(&go_b, 0, 0);
        sem_init(&done, 0, 0);
        pthread_t a, b;
        pthread_create(&a, NULL, worker_a, NULL);
        pthread_create(&b, NULL, worker_b, NULL);
        hl_reset();
        hl_footprint f0, f1;
        hl_footprint_read(&f0);
        if (round == 0) { /* one at a time */
            sem_post(&go_a);
            sem_wait(&done);
            sem_post(&go_b);
            sem_wait(&done);
        } else {
            sem_post(&go_a);
            sem_post(&go_b);
            sem_wait(&done);
            sem_wait(&done);
        }
        hl_footprint_read(&f1);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        int64_t hi = g_a.max > g_b.max ? g_a.max : g_b.max;
        CHECK(f1.current == f0.current, "round %d: footprint %lld, want %lld", round,
              (long long)f1.current, (long long)f0.current);
        if (round == 0) {
            CHECK(f1.peak == f0.current + hi, "one at a time: peak %lld, want %lld",
                  (long long)f1.peak, (long long)(f0.current + hi));
        } else {
            const int64_t slack = 2 * 128 * 1024; /* per thread changing its footprint */
            CHECK(f1.peak >= f0.current + hi - slack &&
                      f1.peak <= f0.current + g_a.max + g_b.max + slack,
                  "at once: peak +%lld, both alone +%lld/+%lld", (long long)(f1.peak - f0.current),
                  (long long)g_a.max, (long long)g_b.max);
        }
        sem_destroy(&go_a);
        sem_destroy(&go_b);
        sem_destroy(&done);
    }
}

/* A thread's calls after heapline's exit handler (in a destructor of a key
 * made later, which runs after heapline's) are counted too. */
static pthread_key_t late_key;
enum { LATE = 500, LATE_SIZE = 1000 };
static void late_destructor(void *v) {
    (void)v;
    for (int i = 0; i < LATE; i++) {
        void *p = malloc(LATE_SIZE);
        sink = p;
        free(p);
    }
}
static void *late_body(void *arg) {
    (void)arg;
    sink = malloc(10); /* the thread's first hooked call sets heapline's key */
    free(sink);
    pthread_setspecific(late_key, (void *)1);
    return NULL;
}

static void test_calls_after_thread_exit(void) {
    pthread_key_create(&late_key, late_destructor);
    pthread_t th;
    pthread_create(&th, NULL, late_body, NULL); /* warms glibc's stack cache */
    pthread_join(th, NULL);
    hl_footprint f0, f1;
    hl_footprint_read(&f0);
    snap(before);
    pthread_create(&th, NULL, late_body, NULL);
    pthread_join(th, NULL);
    snap(after);
    hl_footprint_read(&f1);
    uint64_t calls = dcalls(HL_HOOK_MALLOC);
    CHECK(calls >= LATE + 1 && calls < LATE + 16, "malloc calls %lu, want %d", (unsigned long)calls,
          LATE + 1);
    CHECK(dbytes(HL_HOOK_MALLOC) >= (uint64_t)LATE * LATE_SIZE &&
              dbytes(HL_HOOK_MALLOC) < (uint64_t)LATE * LATE_SIZE + 4096,
          "malloc bytes %lu", (unsigned long)dbytes(HL_HOOK_MALLOC));
    CHECK(dcalls(HL_HOOK_FREE) >= LATE && dcalls(HL_HOOK_FREE) < LATE + 16, "free calls %lu",
          (unsigned long)dcalls(HL_HOOK_FREE));
    CHECK(f1.current == f0.current, "footprint %lld after the thread, %lld before",
          (long long)f1.current, (long long)f0.current);
    pthread_key_delete(late_key);
}

int main(void) {
    test_hooks_active();
    test_exact_counters();
    test_dlsym_returns_hooks();
    test_footprint_peak();
    test_filter();
    test_file_intern_keyed();
    test_sampling_unbiased();
    test_live_history();
    test_live_history_everywhere();
    test_threads_exact();
    test_peak_exact_one_thread();
    test_peak_threads();
    test_calls_after_thread_exit();
    return check_summary();
}
