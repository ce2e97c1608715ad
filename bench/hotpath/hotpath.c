/* The loop bench/hotpath/run.py counts instructions of: N pairs of
 * malloc(SIZE) + free, under one of three set-ups:
 *   plain      nothing hooked;
 *   preload    run with LD_PRELOAD=libheapline.so (the hooks interpose);
 *   inprocess  libheapline.so loaded with dlopen and this executable's import
 *              slots patched by hl_inprocess_start, as heapline.start() does.
 * Sampling is on (hl_set_enabled) at heapline's default interval.
 * usage: hotpath plain|preload|inprocess N SIZE [LIBHEAPLINE]
 * The per-pair cost is the difference of two runs with different N divided by
 * the difference of N, so start-up and exit cancel out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink; /* keeps the compiler from pairing malloc and free away */

static void usage(void) {
    fprintf(stderr, "usage: hotpath plain|preload|inprocess N SIZE [LIBHEAPLINE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 4) usage();
    const char *mode = argv[1];
    long n = strtol(argv[2], NULL, 10);
    size_t size = (size_t)strtoul(argv[3], NULL, 10);
    if (n <= 0 || size == 0) usage();
    void *lib = RTLD_DEFAULT;
    if (strcmp(mode, "inprocess") == 0) {
        if (argc < 5) usage();
        lib = dlopen(argv[4], RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            fprintf(stderr, "hotpath: %s\n", dlerror());
            return 1;
        }
        int (*start)(void);
        *(void **)&start = dlsym(lib, "hl_inprocess_start");
        if (!start || start() != 1) {
            fprintf(stderr, "hotpath: hl_inprocess_start failed\n");
            return 1;
        }
    } else if (strcmp(mode, "preload") == 0) {
        if (!dlsym(RTLD_DEFAULT, "hl_native_hooks_active")) {
            fprintf(stderr, "hotpath: preload mode without libheapline in LD_PRELOAD\n");
            return 1;
        }
    } else if (strcmp(mode, "plain") != 0) {
        usage();
    }
    if (strcmp(mode, "plain") != 0) {
        /* sampling on, as during a profile: the rare sampled path is counted too
         * (without a Python frame walk: there is no interpreter here) */
        void (*set_enabled)(int);
        *(void **)&set_enabled = dlsym(lib, "hl_set_enabled");
        if (!set_enabled) {
            fprintf(stderr, "hotpath: hl_set_enabled not found\n");
            return 1;
        }
        set_enabled(1);
    }
    for (long i = 0; i < n; i++) {
        sink = malloc(size);
        free(sink);
    }
    return 0;
}
