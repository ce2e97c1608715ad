/* Line lookup for the sampler: finds the calling thread's innermost frame in
 * profiled code, reading the thread's own interpreter frames directly. It runs
 * inside allocator hooks, possibly without the GIL, so it takes no lock of
 * Python's, calls nothing that allocates, and only reads frames of its own
 * thread (which no other thread changes). The CPU sampler uses the same walk
 * on other threads' states while it holds the GIL.
 *
 * Frame internals differ in every CPython version, and all this file knows of
 * them is in the small `current_frame`/`frame_*` functions of each version
 * below; the walk itself is shared. Where a version's public "unstable" API
 * does the job as cheaply (the line of a frame, since 3.12) it is used. The
 * module checks this knowledge against the running interpreter when it loads
 * (heapline_check_walk: the raw walk must find the same code objects and
 * lines as the public frame API), and refuses to load when they differ.
 */
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
/* CPython's internal headers are not written for -Wextra -Werror */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_interpframe.h"
#else
#include "internal/pycore_frame.h"
#endif
#if PY_VERSION_HEX < 0x030D0000
#include "internal/pycore_interp.h"
#endif
#pragma GCC diagnostic pop

#include "frame_walk.h"

#include <stdio.h>

#ifdef Py_GIL_DISABLED
#error "heapline does not support free-threaded CPython builds (Py_GIL_DISABLED)"
#endif
#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x03100000
#error "heapline supports CPython 3.11 to 3.15"
#endif

typedef struct _PyInterpreterFrame iframe;

#if PY_VERSION_HEX >= 0x030E0000 /* 3.14, 3.15 */
static iframe *current_frame(PyThreadState *ts) {
    return ts->current_frame;
}
static PyCodeObject *frame_code(iframe *f) {
    /* entry frames of the eval loop and frames on the C stack hold no code */
    if (f->owner >= FRAME_OWNED_BY_INTERPRETER) return NULL;
    PyObject *ex = PyStackRef_AsPyObjectBorrow(f->f_executable);
    if (ex == NULL || !PyCode_Check(ex) || _PyFrame_IsIncomplete(f)) return NULL;
    return (PyCodeObject *)ex;
}
static int frame_line(iframe *f, PyCodeObject *co) {
    (void)co;
    return PyUnstable_InterpreterFrame_GetLine(f);
}
static const void *frame_instr(iframe *f) {
    return f->instr_ptr;
}
#elif PY_VERSION_HEX >= 0x030D0000 /* 3.13 */
static iframe *current_frame(PyThreadState *ts) {
    return ts->current_frame;
}
static PyCodeObject *frame_code(iframe *f) {
    if (f->owner == FRAME_OWNED_BY_CSTACK || _PyFrame_IsIncomplete(f)) return NULL;
    PyObject *ex = f->f_executable;
    return (ex && PyCode_Check(ex)) ? (PyCodeObject *)ex : NULL;
}
static int frame_line(iframe *f, PyCodeObject *co) {
    (void)co;
    return PyUnstable_InterpreterFrame_GetLine(f);
}
static const void *frame_instr(iframe *f) {
    return f->instr_ptr;
}
#elif PY_VERSION_HEX >= 0x030C0000 /* 3.12 */
static iframe *current_frame(PyThreadState *ts) {
    return ts->cframe ? ts->cframe->current_frame : NULL;
}
static PyCodeObject *frame_code(iframe *f) {
    if (f->owner == FRAME_OWNED_BY_CSTACK || _PyFrame_IsIncomplete(f)) return NULL;
    PyCodeObject *co = f->f_code;
    return (co && PyCode_Check(co)) ? co : NULL;
}
static int frame_line(iframe *f, PyCodeObject *co) {
    (void)co;
    return PyUnstable_InterpreterFrame_GetLine(f);
}
static const void *frame_instr(iframe *f) {
    return f->prev_instr;
}
#else                              /* 3.11 */
static iframe *current_frame(PyThreadState *ts) {
    return ts->cframe ? ts->cframe->current_frame : NULL;
}
static PyCodeObject *frame_code(iframe *f) {
    if (_PyFrame_IsIncomplete(f)) return NULL;
    PyCodeObject *co = f->f_code;
    return (co && PyCode_Check(co)) ? co : NULL;
}
static int frame_line(iframe *f, PyCodeObject *co) {
    return PyCode_Addr2Line(co, _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT));
}
static const void *frame_instr(iframe *f) {
    return f->prev_instr;
}
#endif

/* UTF-8 of a str without allocating: the ASCII data, the cached UTF-8, or an
 * encoding into buf. Returns the length, or -1 when it does not fit. */
static Py_ssize_t utf8_of(PyObject *s, const char **out, char *buf, size_t cap) {
    if (!PyUnicode_Check(s)) return -1;
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *out = (const char *)PyUnicode_DATA(s);
        return PyUnicode_GET_LENGTH(s);
    }
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    size_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (k + 4 > cap) return -1;
        if (c < 0x80) {
            buf[k++] = (char)c;
        } else if (c < 0x800) {
            buf[k++] = (char)(0xC0 | (c >> 6));
            buf[k++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            buf[k++] = (char)(0xE0 | (c >> 12));
            buf[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            buf[k++] = (char)(0xF0 | (c >> 18));
            buf[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
            buf[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    *out = buf;
    return (Py_ssize_t)k;
}

#define MAX_DEPTH 512

int heapline_where_in(PyThreadState *ts, hl_site *out, hl_frame_pos *pos) {
    char buf[1024];
    int depth = 0;
    for (iframe *f = current_frame(ts); f != NULL && depth < MAX_DEPTH; f = f->previous, depth++) {
        PyCodeObject *co = frame_code(f);
        if (co == NULL) continue;
        const char *name;
        Py_ssize_t n = utf8_of(co->co_filename, &name, buf, sizeof buf);
        if (n < 0) continue;
        int profiled = 0;
        uint32_t id = hl_file_intern_keyed(co->co_filename, name, (size_t)n, &profiled);
        if (id == 0 || !profiled) continue;
        out->file = id;
        out->line = frame_line(f, co);
        /* an instruction with no line (-1: some synthesized or resumed code)
         * is charged to the code's first line, its `def` */
        if (out->line < 1) out->line = co->co_firstlineno > 0 ? co->co_firstlineno : 1;
        if (pos) {
            /* the innermost frame says whether the thread moved on since */
            iframe *top = current_frame(ts);
            pos->frame = top;
            pos->instr = frame_instr(top);
        }
        return HL_WHERE_FOUND;
    }
    return HL_WHERE_OUTSIDE;
}

/* How many frames the load-time check compares. */
#define CHECK_DEPTH 8

int heapline_check_walk(char *why, size_t cap) {
    PyThreadState *ts = PyThreadState_Get();
    PyFrameObject *pub = PyThreadState_GetFrame(ts); /* new reference */
    iframe *f = current_frame(ts);
    int depth = 0, ok = 1;
    while (pub != NULL && depth < CHECK_DEPTH && ok) {
        while (f != NULL && frame_code(f) == NULL)
            f = f->previous;
        PyCodeObject *want = PyFrame_GetCode(pub); /* new reference */
        int want_line = PyFrame_GetLineNumber(pub);
        if (f == NULL) {
            snprintf(why, cap, "frame %d is missing from the interpreter's frame chain", depth);
            ok = 0;
        } else if (frame_code(f) != want) {
            snprintf(why, cap, "frame %d holds another code object", depth);
            ok = 0;
        } else if (frame_line(f, want) != want_line) {
            snprintf(why, cap, "frame %d is at line %d, not %d", depth, frame_line(f, want),
                     want_line);
            ok = 0;
        }
        Py_DECREF(want);
        PyFrameObject *back = PyFrame_GetBack(pub);
        Py_DECREF(pub);
        pub = back;
        if (f) f = f->previous;
        depth++;
    }
    Py_XDECREF(pub);
    if (ok && depth == 0) {
        snprintf(why, cap, "no Python frame to check the frame walk with");
        ok = 0;
    }
    return ok ? 0 : -1;
}

int heapline_where(hl_site *out) {
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (ts == NULL) return HL_WHERE_NO_PYTHON;
    return heapline_where_in(ts, out, NULL);
}

/* Py_AddPendingCall from a thread other than the main one does not wake the
 * main thread's eval loop in 3.11 and 3.12 (the "can handle pending calls" test
 * is made on the calling thread); 3.13 signals the main thread itself. */
void heapline_wake_main(PyThreadState *main_ts) {
#if PY_VERSION_HEX < 0x030D0000
    _Py_atomic_store_relaxed(&main_ts->interp->ceval.eval_breaker, 1);
#else
    (void)main_ts;
#endif
}
