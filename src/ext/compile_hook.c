/* A C audit hook that passes the interpreter's "compile" events to a Python
 * callback (compile_sites.py names code compiled from strings by where it was
 * compiled).
 *
 * Why in C: once any audit hook is installed, CPython calls every hook for
 * every audited event, and some are frequent in ordinary code (`builtins.id`
 * in copy.deepcopy and pprint, `sys._getframe` in logging). A hook written in
 * Python costs a Python call each time: it made id() four times slower and
 * pprint 15% slower under `heapline run --cpu-only`. This one compares the
 * event's name and returns: a few nanoseconds.
 *
 * Audit hooks cannot be removed, so the hook is added once per process and
 * does nothing while no callback is set. It runs with the GIL (or the
 * thread's attached state) held. Only the interpreter that set the callback
 * calls it: the hook is the whole runtime's, subinterpreters included.
 */
#include "compile_hook.h"

#include <string.h>

static PyObject *callback;                  /* strong reference, or NULL */
static PyInterpreterState *callback_interp; /* the interpreter it belongs to */
static int hooked;

static int on_audit(const char *event, PyObject *args, void *data) {
    (void)data;
    if (event[0] != 'c' || strcmp(event, "compile") != 0) return 0;
    PyObject *cb = callback;
    if (cb == NULL || PyInterpreterState_Get() != callback_interp || !PyTuple_Check(args) ||
        PyTuple_GET_SIZE(args) < 2) {
        return 0;
    }
    /* the program's exception state, if any, is left as it was; an error of
     * the callback's is dropped: it must never change what the program sees */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *saved = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
#endif
    Py_INCREF(cb);
    PyObject *r = PyObject_CallFunctionObjArgs(cb, PyTuple_GET_ITEM(args, 0),
                                               PyTuple_GET_ITEM(args, 1), NULL);
    Py_DECREF(cb);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(saved);
#else
    PyErr_Restore(type, value, tb);
#endif
    return 0;
}

PyObject *hl_set_compile_callback(PyObject *self, PyObject *cb) {
    (void)self;
    if (cb != Py_None && !PyCallable_Check(cb)) {
        PyErr_SetString(PyExc_TypeError, "set_compile_callback: a callable or None");
        return NULL;
    }
    if (!hooked) {
        /* PySys_AddAuditHook raises the "sys.addaudithook" event; a hook of
         * the program's may refuse it (then ours is not added) */
        if (PySys_AddAuditHook(on_audit, NULL) != 0) {
            PyErr_Clear();
            Py_RETURN_FALSE;
        }
        hooked = 1;
    }
    PyObject *old = callback;
    callback = cb == Py_None ? NULL : Py_NewRef(cb);
    callback_interp = PyInterpreterState_Get();
    Py_XDECREF(old);
    Py_RETURN_TRUE;
}
