/* C tests of in-process mode: this executable does not link libheapline, so
 * nothing is interposed; it loads the library with dlopen (as the Python
 * extension does), patches import slots with hl_inprocess_start, and checks
 * exact counts, patching of libraries loaded later (one found only through a
 * RUNPATH with $ORIGIN), restoration on stop, and start/stop under threads.
 * Usage: test_inprocess LIBHEAPLINE RPATH_USER_LIB. Prints "N passed, N failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "heapline.h"
#include "../check.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int (*start)(void);
    void (*stop)(void);
    int (*active)(void);
    size_t (*slots_into)(void);
    void (*counters)(hl_counter *);
} hl;

static void *volatile sink;

static hl_counter c0[HL_HOOK_COUNT], c1[HL_HOOK_COUNT];

#define LOAD(field, name) *(void **)&hl.field = dlsym(lib, name)

static _Atomic int stop_threads;
static void *churn(void *arg) {
    (void)arg;
    while (!atomic_load(&stop_threads)) {
        void *p = malloc(64);
        sink = p;
        free(p);
        p = calloc(3, 100);
        sink = p;
        p = realloc(p, 5000);
        sink = p;
        free(p);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        printf("usage: %s LIBHEAPLINE RPATH_USER_LIB\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    LOAD(start, "hl_inprocess_start");
    LOAD(stop, "hl_inprocess_stop");
    LOAD(active, "hl_native_hooks_active");
    LOAD(slots_into, "hl_got_slots_into_heapline");
    LOAD(counters, "hl_counters_read");
    CHECK(hl.start && hl.stop && hl.active && hl.slots_into && hl.counters, "missing symbols");
    if (failed) return 1;

    CHECK(!hl.active(), "hooks active before start");
    CHECK(hl.slots_into() == 0, "slots point into heapline before start");

    CHECK(hl.start() == 1 && hl.active(), "start failed");
    CHECK(hl.slots_into() > 0, "no slot patched");
    hl.counters(c0);
    sink = malloc(12345);
    hl.counters(c1);
    free(sink);
    CHECK(c1[HL_HOOK_MALLOC].calls - c0[HL_HOOK_MALLOC].calls == 1 &&
              c1[HL_HOOK_MALLOC].bytes - c0[HL_HOOK_MALLOC].bytes == 12345,
          "malloc from the executable not counted exactly");

    /* a library loaded now, which loads its own dependency through RUNPATH */
    void *user = dlopen(argv[2], RTLD_NOW);
    CHECK(user != NULL, "loading the RUNPATH user library failed: %s", dlerror());
    if (user) {
        void *(*load_alloc)(size_t) = NULL;
        *(void **)&load_alloc = dlsym(user, "user_load_and_alloc");
        hl.counters(c0);
        void *p = load_alloc ? load_alloc(77777) : NULL;
        hl.counters(c1);
        CHECK(p != NULL, "the dependency was not found through RUNPATH ($ORIGIN)");
        CHECK(c1[HL_HOOK_MALLOC].bytes - c0[HL_HOOK_MALLOC].bytes >= 77777,
              "malloc in a library loaded after start not counted");
        free(p);
    }

    hl.stop();
    CHECK(!hl.active(), "still active after stop");
    CHECK(hl.slots_into() == 0, "%zu import slots still point into heapline after stop",
          hl.slots_into());
    hl.counters(c0);
    sink = malloc(999);
    hl.counters(c1);
    free(sink);
    CHECK(c1[HL_HOOK_MALLOC].calls == c0[HL_HOOK_MALLOC].calls, "malloc counted after stop");

    /* start/stop 100 times while threads allocate and free */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, churn, NULL);
    for (int round = 0; round < 100; round++) {
        hl.start();
        for (int k = 0; k < 200; k++) {
            void *p = malloc((size_t)(k + 1) * 16);
            sink = p;
            free(p);
        }
        hl.stop();
    }
    atomic_store(&stop_threads, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(hl.slots_into() == 0, "slots left after 100 start/stop rounds");

    /* counts stay exact across rounds: 100 rounds x one known malloc */
    hl.counters(c0);
    for (int round = 0; round < 100; round++) {
        hl.start();
        sink = malloc(1000);
        free(sink);
        hl.stop();
    }
    hl.counters(c1);
    CHECK(c1[HL_HOOK_MALLOC].calls - c0[HL_HOOK_MALLOC].calls == 100 &&
              c1[HL_HOOK_MALLOC].bytes - c0[HL_HOOK_MALLOC].bytes == 100000,
          "counts across start/stop: %lu calls",
          (unsigned long)(c1[HL_HOOK_MALLOC].calls - c0[HL_HOOK_MALLOC].calls));
    return check_summary();
}
