/* A library that dlopens libhl_rpath_dep.so by bare name: glibc finds it only
 * through this library's RUNPATH ($ORIGIN/deps), using the caller's address. */
#include <dlfcn.h>
#include <stddef.h>

__attribute__((visibility("default"))) void *user_load_and_alloc(size_t n) {
    void *h = dlopen("libhl_rpath_dep.so", RTLD_NOW);
    if (!h) return NULL;
    void *(*dep_alloc)(size_t) = NULL;
    *(void **)&dep_alloc = dlsym(h, "dep_alloc");
    return dep_alloc ? dep_alloc(n) : NULL;
}
