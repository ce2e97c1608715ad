/* A stand-in for python3.dll's allocator API, enough to drive heapline's
 * Python-allocator layer (hl_pyalloc_wrap) on Windows without Python:
 * PyMem_GetAllocator / PyMem_SetAllocator on three domains, and PyMem_Malloc &
 * co. that call the MEM domain's allocator. The default allocators are the C
 * runtime's (msvcrt, through this DLL's import table, so the native hooks see
 * them underneath, as they see pymalloc's arenas in a real interpreter).
 */
#include <stdlib.h>

#define API __declspec(dllexport)

typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} PyMemAllocatorEx;

static void *raw_malloc(void *ctx, size_t n) {
    (void)ctx;
    return malloc(n ? n : 1);
}
static void *raw_calloc(void *ctx, size_t a, size_t b) {
    (void)ctx;
    return calloc(a ? a : 1, b ? b : 1);
}
static void *raw_realloc(void *ctx, void *p, size_t n) {
    (void)ctx;
    return realloc(p, n ? n : 1);
}
static void raw_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

static PyMemAllocatorEx domains[3] = {
    {NULL, raw_malloc, raw_calloc, raw_realloc, raw_free},
    {NULL, raw_malloc, raw_calloc, raw_realloc, raw_free},
    {NULL, raw_malloc, raw_calloc, raw_realloc, raw_free},
};

API void PyMem_GetAllocator(int domain, PyMemAllocatorEx *a) {
    *a = domains[domain];
}
API void PyMem_SetAllocator(int domain, PyMemAllocatorEx *a) {
    domains[domain] = *a;
}
API void *PyMem_Malloc(size_t n) {
    return domains[1].malloc(domains[1].ctx, n);
}
API void *PyMem_Calloc(size_t a, size_t b) {
    return domains[1].calloc(domains[1].ctx, a, b);
}
API void *PyMem_Realloc(void *p, size_t n) {
    return domains[1].realloc(domains[1].ctx, p, n);
}
API void PyMem_Free(void *p) {
    domains[1].free(domains[1].ctx, p);
}
