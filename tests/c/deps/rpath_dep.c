/* A library found only through another library's RUNPATH ($ORIGIN/deps). */
#include <stdlib.h>

__attribute__((visibility("default"))) void *dep_alloc(size_t n) {
    return malloc(n);
}
