/* The interpreter's "compile" audit events, for compile_sites.py
 * (compile_hook.c). */
#ifndef HEAPLINE_COMPILE_HOOK_H
#define HEAPLINE_COMPILE_HOOK_H

#include <Python.h>

/* _core.set_compile_callback(cb): cb(source, filename) is called for each
 * "compile" event of this interpreter from now on (None: no more calls).
 * Returns True when the hook is in place. */
PyObject *hl_set_compile_callback(PyObject *self, PyObject *cb);

#endif
