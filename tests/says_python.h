/* Included once by each POSIX C test program linked directly against
 * libheapline: preloaded into a process that is not Python, the core passes
 * the malloc family straight through (linux/native_hooks.c). These programs
 * count, so they say they are Python (exported: the programs are linked with
 * export_dynamic). */
#ifndef HEAPLINE_TESTS_SAYS_PYTHON_H
#define HEAPLINE_TESTS_SAYS_PYTHON_H

__attribute__((visibility("default"))) int Py_IsInitialized(void);
int Py_IsInitialized(void) {
    return 0;
}

#endif
