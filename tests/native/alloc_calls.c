/* Test library for heapline's native hooks (tests/test_native_counters.py).
 *
 * Built by the test itself with `cc -shared -fPIC -O0` and loaded by
 * tests/programs/native_calls.py through ctypes. Each measured entry point has
 * the same signature, `void f(size_t count, size_t size)`, so the Python side
 * of a call costs the same for every function and `hl_noop` can be used as the
 * baseline: (delta of counters around f) - (delta around hl_noop) is exactly
 * what f did in C.
 *
 * Blocks are kept in static arrays until hl_free_all / hl_munmap_all release
 * them; those record how many blocks they released and how many bytes
 * (malloc_usable_size, or the page-rounded mapping length) so the test can
 * check the exact `free` / `munmap` counters.
 *
 * Compiled at -O0 -fno-builtin so that no call is elided, merged or replaced
 * by the compiler.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_BLOCKS 8192
#define MAX_MAPS 1024
#define MAX_THREAD_BLOCKS 65536

/* calloc(HL_CALLOC_NMEMB, size): the test expects count * 3 * size bytes. */
#define HL_CALLOC_NMEMB 3
/* Alignment used by posix_memalign, aligned_alloc and memalign. */
#define HL_ALIGN 64

static void *blocks[MAX_BLOCKS];
static size_t nblocks;

static void *maps[MAX_MAPS];
static size_t map_len[MAX_MAPS];
static size_t nmaps;

static void *thread_blocks[MAX_THREAD_BLOCKS];
static size_t nthread_blocks;

static size_t freed_count, freed_bytes;
static size_t unmapped_count, unmapped_bytes;
static int errors;

static void keep(void *p) {
    if (p == NULL || nblocks >= MAX_BLOCKS) {
        errors++;
        return;
    }
    blocks[nblocks++] = p;
}

/* ---- getters (not measured) ---- */

int hl_errors(void) { return errors; }
size_t hl_freed_count(void) { return freed_count; }
size_t hl_freed_bytes(void) { return freed_bytes; }
size_t hl_unmapped_count(void) { return unmapped_count; }
size_t hl_unmapped_bytes(void) { return unmapped_bytes; }
size_t hl_calloc_nmemb(void) { return HL_CALLOC_NMEMB; }

/* ---- measured entry points: void f(size_t count, size_t size) ---- */

void hl_noop(size_t count, size_t size) {
    (void)count;
    (void)size;
}

void hl_malloc(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(malloc(size));
}

void hl_calloc(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(calloc(HL_CALLOC_NMEMB, size));
}

/* malloc(size) then realloc to 2 * size: one malloc and one realloc each. */
void hl_realloc_grow(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++) {
        void *p = malloc(size);
        if (p == NULL) {
            errors++;
            continue;
        }
        memset(p, 1, size < 64 ? size : 64);
        void *q = realloc(p, 2 * size);
        if (q == NULL) {
            free(p);
            errors++;
            continue;
        }
        keep(q);
    }
}

/* realloc(NULL, size): a realloc call asking for `size` new bytes. The null
 * pointer is read through a volatile so that the compiler cannot fold the call
 * into malloc(size) (GCC does, even at -O0). */
static void *volatile null_block = NULL;

void hl_realloc_null(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(realloc(null_block, size));
}

void hl_posix_memalign(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++) {
        void *p = NULL;
        if (posix_memalign(&p, HL_ALIGN, size) != 0)
            p = NULL;
        keep(p);
    }
}

/* size must be a multiple of HL_ALIGN (C11); the test passes such sizes. */
void hl_aligned_alloc(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(aligned_alloc(HL_ALIGN, size));
}

void hl_memalign(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(memalign(HL_ALIGN, size));
}

void hl_valloc(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(valloc(size));
}

void hl_pvalloc(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        keep(pvalloc(size));
}

/* Frees every kept block; records their number and usable bytes first. */
void hl_free_all(size_t count, size_t size) {
    (void)count;
    (void)size;
    size_t bytes = 0;
    for (size_t i = 0; i < nblocks; i++)
        bytes += malloc_usable_size(blocks[i]);
    for (size_t i = 0; i < nblocks; i++)
        free(blocks[i]);
    freed_count = nblocks;
    freed_bytes = bytes;
    nblocks = 0;
}

/* Anonymous private read/write mappings of `size` bytes (need not be page-sized). */
void hl_mmap(size_t count, size_t size) {
    for (size_t i = 0; i < count; i++) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || nmaps >= MAX_MAPS) {
            errors++;
            continue;
        }
        maps[nmaps] = p;
        map_len[nmaps] = size;
        nmaps++;
    }
}

/* Unmaps every kept mapping with the length it was mapped with. */
void hl_munmap_all(size_t count, size_t size) {
    (void)count;
    (void)size;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = 0;
    for (size_t i = 0; i < nmaps; i++) {
        if (munmap(maps[i], map_len[i]) != 0)
            errors++;
        bytes += (map_len[i] + page - 1) / page * page;
    }
    unmapped_count = nmaps;
    unmapped_bytes = bytes;
    nmaps = 0;
}

/* ---- Python's allocator ------------------------------------------------------
 * Found in the process at run time (the library is not linked with libpython)
 * and called through a ctypes.PyDLL handle, so with the GIL held. Requests of
 * 0 bytes and of more than 512 go to PyMem_RawMalloc (malloc) below pymalloc:
 * those blocks are counted in freed_count / freed_bytes when released. */
#include <dlfcn.h>

typedef void *(*alloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void (*free_fn)(void *);

static void *pyblocks[MAX_BLOCKS];
static free_fn pyfree[MAX_BLOCKS];
static size_t pysize[MAX_BLOCKS];
static size_t npyblocks;

static void *python_fn(const char *name) {
    void *f = dlsym(RTLD_DEFAULT, name);
    if (f == NULL) errors++;
    return f;
}

static void keep_py(void *p, free_fn release, size_t size) {
    if (p == NULL || npyblocks >= MAX_BLOCKS) {
        errors++;
        return;
    }
    pyblocks[npyblocks] = p;
    pyfree[npyblocks] = release;
    pysize[npyblocks] = size;
    npyblocks++;
}

static void py_allocs(const char *alloc, const char *release, size_t count, size_t size) {
    alloc_fn a = (alloc_fn)python_fn(alloc);
    free_fn f = (free_fn)python_fn(release);
    if (a == NULL || f == NULL) return;
    for (size_t i = 0; i < count; i++)
        keep_py(a(size), f, size);
}

void hl_pyobject_malloc(size_t count, size_t size) {
    py_allocs("PyObject_Malloc", "PyObject_Free", count, size);
}

void hl_pymem_malloc(size_t count, size_t size) {
    py_allocs("PyMem_Malloc", "PyMem_Free", count, size);
}

void hl_pymem_rawmalloc(size_t count, size_t size) {
    py_allocs("PyMem_RawMalloc", "PyMem_RawFree", count, size);
}

void hl_pyobject_calloc(size_t count, size_t size) {
    calloc_fn a = (calloc_fn)python_fn("PyObject_Calloc");
    free_fn f = (free_fn)python_fn("PyObject_Free");
    if (a == NULL || f == NULL) return;
    for (size_t i = 0; i < count; i++)
        keep_py(a(HL_CALLOC_NMEMB, size), f, HL_CALLOC_NMEMB * size);
}

/* Releases every Python block; counts those malloc holds (see above). */
void hl_pyfree_all(size_t count, size_t size) {
    (void)count;
    (void)size;
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < npyblocks; i++)
        if (pysize[i] == 0 || pysize[i] > 512 || pyfree[i] == (free_fn)python_fn("PyMem_RawFree")) {
            n++;
            bytes += malloc_usable_size(pyblocks[i]);
        }
    for (size_t i = 0; i < npyblocks; i++)
        pyfree[i](pyblocks[i]);
    freed_count = n;
    freed_bytes = bytes;
    npyblocks = 0;
}

/* ---- a thread with no Python thread state ---- */

struct thread_job {
    size_t count;
    size_t size;
};

static void *thread_main(void *arg) {
    struct thread_job *job = arg;
    for (size_t i = 0; i < job->count; i++) {
        void *p = malloc(job->size);
        if (p == NULL || nthread_blocks >= MAX_THREAD_BLOCKS) {
            errors++;
            free(p);
            continue;
        }
        thread_blocks[nthread_blocks++] = p; /* kept until exit */
    }
    return NULL;
}

/* Starts a pthread that mallocs `count` blocks of `size` bytes, keeps them, and
 * joins it. The small stack keeps the caller's own mapping negligible. */
void hl_thread_malloc(size_t count, size_t size) {
    struct thread_job job = {count, size};
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&tid, &attr, thread_main, &job) != 0) {
        errors++;
    } else {
        pthread_join(tid, NULL);
    }
    pthread_attr_destroy(&attr);
}
