/* heapline._core: the Python face of the C core. Configures the sampler and
 * the file filter, installs the Python-allocator hooks, registers the frame
 * walker, and turns the core's tables into Python data (snapshot, counters,
 * and the per-line leak evidence: live_history). The functions of the tables
 * in a file are in tables_file.c, the "compile" audit hook in compile_hook.c.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compile_hook.h"
#include "cpu_sampler.h"
#include "frame_walk.h"
#include "heapline.h"
#include "tables_file.h"
#include "timer_thread.h"

#include <string.h>

static int python_hooks_installed;
static PyMemAllocatorEx saved_allocators[3]; /* what install_python_hooks wrapped */

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    static char *names[] = {"interval", "seed", "only", "exclude", NULL};
    unsigned long long interval = 0, seed = 0;
    const char *only = "", *exclude = "";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|KKss", names, &interval, &seed, &only, &exclude))
        return NULL;
    if (interval) hl_set_sampling_interval(interval);
    if (seed) hl_set_seed(seed);
    hl_set_filter(only, exclude, '\n');
    Py_RETURN_NONE;
}

static PyObject *set_seed(PyObject *self, PyObject *arg) {
    (void)self;
    unsigned long long seed = PyLong_AsUnsignedLongLong(arg);
    if (seed == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    hl_set_seed(seed ? seed : 1);
    Py_RETURN_NONE;
}

static PyObjectArenaAllocator saved_arena;
static int arena_wrapped;

static PyObject *install_python_hooks(PyObject *self, PyObject *args) {
    (void)self;
    int pymalloc = 0;
    if (!PyArg_ParseTuple(args, "|p", &pymalloc)) return NULL;
    if (!python_hooks_installed) {
        /* with pymalloc underneath, small requests reach malloc only through
         * arenas: wrap the arena allocator and let them take the short path */
        size_t direct_max = 0;
        if (pymalloc) {
            PyObjectArenaAllocator arena, hook;
            hl_pyarena a, h;
            PyObject_GetArenaAllocator(&arena);
            saved_arena = arena;
            memcpy(&a, &arena, sizeof a);
            hl_pyarena_wrap(&a, &h);
            memcpy(&hook, &h, sizeof hook);
            PyObject_SetArenaAllocator(&hook);
            arena_wrapped = 1;
            direct_max = 512;
        }
        static const PyMemAllocatorDomain doms[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                     PYMEM_DOMAIN_OBJ};
        for (int d = 0; d < 3; d++) {
            PyMemAllocatorEx prev, hook;
            hl_pyalloc p, h;
            PyMem_GetAllocator(doms[d], &prev);
            saved_allocators[d] = prev;
            memcpy(&p, &prev, sizeof p);
            hl_pyalloc_wrap(d, &p, &h, direct_max);
            memcpy(&hook, &h, sizeof hook);
            PyMem_SetAllocator(doms[d], &hook);
        }
        python_hooks_installed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *uninstall_python_hooks(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (python_hooks_installed) {
        static const PyMemAllocatorDomain doms[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                     PYMEM_DOMAIN_OBJ};
        for (int d = 0; d < 3; d++)
            PyMem_SetAllocator(doms[d], &saved_allocators[d]);
        if (arena_wrapped) PyObject_SetArenaAllocator(&saved_arena);
        arena_wrapped = 0;
        python_hooks_installed = 0;
    }
    Py_RETURN_NONE;
}

static PyObject *inprocess_start(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(hl_inprocess_start());
}

static PyObject *inprocess_stop(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_inprocess_stop();
    Py_RETURN_NONE;
}

static PyObject *got_slots_into_heapline(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(hl_got_slots_into_heapline());
}

static PyObject *set_enabled(PyObject *self, PyObject *arg) {
    (void)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
    if (on) hl_set_where(heapline_where);
    hl_set_enabled(on);
    Py_RETURN_NONE;
}

static PyObject *detach(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_set_enabled(0);
    hl_set_where(NULL);
    Py_RETURN_NONE;
}

static PyObject *cpu_start(PyObject *self, PyObject *args) {
    (void)self;
    double interval;
    int wall;
    if (!PyArg_ParseTuple(args, "dp", &interval, &wall)) return NULL;
    if (hl_cpu_start(interval, wall) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "could not start the CPU sampling thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *cpu_pause(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(hl_cpu_pause());
}

static PyObject *cpu_resume(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (hl_cpu_resume() != 0) {
        PyErr_SetString(PyExc_RuntimeError, "could not start the CPU sampling thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The resume, when the interpreter next handles pending calls in the main
 * thread, rather than inside the after-fork hook. (CPython 3.13 counts the
 * process's threads after the hooks and after pending calls have run, so
 * there heapline's thread is counted all the same; 3.12, 3.14 and 3.15 count
 * before the hooks.) */
static int resume_pending(void *unused) {
    (void)unused;
    if (hl_cpu_resume() != 0) {
        PyErr_SetString(PyExc_RuntimeError, "could not start the CPU sampling thread");
        return -1;
    }
    return 0;
}

static PyObject *cpu_resume_soon(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (Py_AddPendingCall(resume_pending, NULL) != 0) return cpu_resume(NULL, NULL);
    Py_RETURN_NONE;
}

static PyObject *cpu_stop(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_cpu_stop();
    Py_RETURN_NONE;
}

/* os._exit(): the core's _exit hook calls this. Python runs only when the
 * exiting thread holds the GIL (os._exit does); a C thread calling _exit
 * without it must not wait for a GIL another thread may never release. */
static PyObject *exit_callback;

static void call_exit_callback(int status) {
    (void)status;
    if (!exit_callback || !PyGILState_Check()) return;
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) return;
#else
    if (_Py_IsFinalizing()) return;
#endif
    PyObject *r = PyObject_CallNoArgs(exit_callback); /* this thread holds the GIL */
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
}

static PyObject *set_exit_callback(PyObject *self, PyObject *cb) {
    (void)self;
    if (cb != Py_None && !PyCallable_Check(cb)) {
        PyErr_SetString(PyExc_TypeError, "set_exit_callback: a callable or None");
        return NULL;
    }
    Py_XSETREF(exit_callback, cb == Py_None ? NULL : Py_NewRef(cb));
    hl_set_exit_hook(exit_callback ? call_exit_callback : NULL);
    Py_RETURN_NONE;
}

/* fork_child_sigterm_default(on): see hl_set_fork_child_sigterm_default. */
static PyObject *fork_child_sigterm_default(PyObject *self, PyObject *arg) {
    (void)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
#ifndef _WIN32
    hl_set_fork_child_sigterm_default(on);
#endif
    Py_RETURN_NONE;
}

/* install_term_note() -> bool: see hl_install_term_note. */
static PyObject *install_term_note(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
#ifndef _WIN32
    return PyBool_FromLong(hl_install_term_note());
#else
    Py_RETURN_FALSE;
#endif
}

static PyObject *file_str(uint32_t id) {
    const char *s = hl_file_name(id);
    if (!s) s = "<unknown>";
    return PyUnicode_DecodeFSDefault(s);
}

static PyObject *counters_dict(void) {
    hl_counter c[HL_HOOK_COUNT];
    hl_counters_read(c);
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (int h = 0; h < HL_HOOK_COUNT; h++) {
        PyObject *v =
            Py_BuildValue("(KK)", (unsigned long long)c[h].calls, (unsigned long long)c[h].bytes);
        if (!v || PyDict_SetItemString(d, hl_hook_name(h), v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyObject *counters(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return counters_dict();
}

PyObject *hl_py_line_row(PyObject *path, const hl_line_stats *r) {
    return Py_BuildValue("(NiddKdddddK)", path, (int)r->line, r->alloc_python, r->alloc_native,
                         (unsigned long long)r->samples, r->live, r->at_peak, r->cpu_python,
                         r->cpu_native, r->cpu_system, (unsigned long long)r->cpu_samples);
}

static PyObject *lines_list(void) {
    size_t cap = hl_stats_read(NULL, 0) + 64;
    hl_line_stats *rows = PyMem_RawMalloc(cap * sizeof *rows);
    if (!rows) return PyErr_NoMemory();
    size_t n = hl_stats_read(rows, cap);
    if (n > cap) n = cap;
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < n; i++) {
        hl_line_stats *r = &rows[i];
        PyObject *path = file_str(r->file);
        PyObject *t = path ? hl_py_line_row(path, r) : NULL;
        if (!t || PyList_Append(out, t) < 0) Py_CLEAR(out);
        Py_XDECREF(t);
    }
    PyMem_RawFree(rows);
    return out;
}

static PyObject *timeline_list(void) {
    enum { CAP = 4096 };
    double *s = PyMem_RawMalloc(CAP * sizeof *s);
    int64_t *b = PyMem_RawMalloc(CAP * sizeof *b);
    PyObject *out = NULL;
    if (s && b) {
        size_t n = hl_timeline_read(s, b, CAP);
        out = PyList_New((Py_ssize_t)n);
        for (size_t i = 0; out && i < n; i++) {
            PyObject *pt = Py_BuildValue("(dL)", s[i], (long long)b[i]);
            if (!pt) {
                Py_CLEAR(out);
                break;
            }
            PyList_SET_ITEM(out, (Py_ssize_t)i, pt);
        }
    } else {
        PyErr_NoMemory();
    }
    PyMem_RawFree(s);
    PyMem_RawFree(b);
    return out;
}

/* live_history(t0, t1): [(path, line, blocks, bytes, (count, ...), (bytes, ...))]
 * for each line with live sampled blocks, by allocation time in
 * HL_LEAK_BINS bins of [t0, t1] (the core's clock). */
static PyObject *live_history(PyObject *self, PyObject *args) {
    (void)self;
    double t0, t1;
    if (!PyArg_ParseTuple(args, "dd", &t0, &t1)) return NULL;
    size_t cap = hl_stats_read(NULL, 0) + 64;
    hl_live_history *rows = PyMem_RawMalloc(cap * sizeof *rows);
    if (!rows) return PyErr_NoMemory();
    size_t n = hl_live_history_read(t0, t1, rows, cap);
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < n; i++) {
        hl_live_history *r = &rows[i];
        PyObject *counts = PyTuple_New(HL_LEAK_BINS);
        PyObject *bytes = PyTuple_New(HL_LEAK_BINS);
        for (int b = 0; counts && bytes && b < HL_LEAK_BINS; b++) {
            PyObject *c = PyLong_FromUnsignedLong(r->count[b]);
            PyObject *v = PyFloat_FromDouble(r->bin_bytes[b]);
            if (!c || !v) {
                Py_XDECREF(c);
                Py_XDECREF(v);
                Py_CLEAR(counts);
                break;
            }
            PyTuple_SET_ITEM(counts, b, c);
            PyTuple_SET_ITEM(bytes, b, v);
        }
        PyObject *path = counts && bytes ? file_str(r->file) : NULL;
        PyObject *t = path ? Py_BuildValue("(NiKdNN)", path, (int)r->line,
                                           (unsigned long long)r->blocks, r->bytes, counts, bytes)
                           : NULL;
        if (!t) {
            if (!path) {
                Py_XDECREF(counts);
                Py_XDECREF(bytes);
            }
            Py_CLEAR(out);
            break;
        }
        if (PyList_Append(out, t) < 0) Py_CLEAR(out);
        Py_DECREF(t);
    }
    PyMem_RawFree(rows);
    return out;
}

static PyObject *snapshot(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_footprint fp;
    hl_footprint_read(&fp);
    PyObject *peak_file = fp.peak_file ? file_str(fp.peak_file) : Py_NewRef(Py_None);
    hl_cpu_totals c = hl_cpu_read_totals();
    PyObject *cpu =
        Py_BuildValue("{s:d,s:O,s:K,s:d,s:d,s:d}", "interval_s", c.interval_s, "wall",
                      c.wall ? Py_True : Py_False, "samples", (unsigned long long)c.samples,
                      "python_s", c.python_s, "native_s", c.native_s, "system_s", c.system_s);
    return Py_BuildValue(
        "{s:K,s:N,s:N,s:N,s:N,s:L,s:L,s:d,s:N,s:i,s:K,s:K,s:d,s:i}", "live_untracked",
        (unsigned long long)hl_live_dropped(), "cpu", cpu, "lines", lines_list(), "timeline",
        timeline_list(), "counters", counters_dict(), "current_bytes", (long long)fp.current,
        "peak_bytes", (long long)fp.peak, "peak_at_s", fp.peak_at_s, "peak_file", peak_file,
        "peak_line", (int)fp.peak_line, "samples", (unsigned long long)hl_samples_taken(),
        "interval_bytes", (unsigned long long)hl_sampling_interval(), "now_s", hl_now_s(),
        "native_hooks", hl_native_hooks_active());
}

static PyObject *footprint(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_footprint fp;
    hl_footprint_read(&fp);
    return Py_BuildValue("(LL)", (long long)fp.current, (long long)fp.peak);
}

static PyObject *now_s(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyFloat_FromDouble(hl_now_s());
}

static PyObject *reset(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    hl_reset();
    Py_RETURN_NONE;
}

static PyObject *native_hooks_active(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(hl_native_hooks_active());
}

static PyObject *file_charged(PyObject *self, PyObject *arg) {
    (void)self;
    Py_ssize_t n;
    const char *name = PyUnicode_AsUTF8AndSize(arg, &n);
    if (!name) return NULL;
    return PyBool_FromLong(hl_file_charged(name, (size_t)n));
}

static PyObject *check_walk(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    char why[160];
    if (heapline_check_walk(why, sizeof why) == 0) Py_RETURN_NONE;
    return PyUnicode_FromString(why);
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(interval=0, seed=0, only='', exclude='')\n\nSampling interval in bytes, RNG "
     "seed, and the file filter (newline-separated substrings / path prefixes; an exclude "
     "item \"!prefix\" is an exception)."},
    {"install_python_hooks", install_python_hooks, METH_VARARGS,
     "install_python_hooks(pymalloc=False)\n\nWrap the RAW, MEM and OBJ allocator domains; "
     "pymalloc=True when pymalloc serves MEM/OBJ (then its arenas are wrapped too)."},
    {"uninstall_python_hooks", uninstall_python_hooks, METH_NOARGS,
     "Put back the allocators that were in place before install_python_hooks."},
    {"inprocess_start", inprocess_start, METH_NOARGS,
     "Patch the import slots of every loaded module to the native hooks (no-op when "
     "preloaded); True when native hooks are on."},
    {"inprocess_stop", inprocess_stop, METH_NOARGS, "Write every patched import slot back."},
    {"got_slots_into_heapline", got_slots_into_heapline, METH_NOARGS,
     "How many import slots of hooked names point into heapline now (tests)."},
    {"set_enabled", set_enabled, METH_O, "Start/stop charging samples to lines."},
    {"set_compile_callback", hl_set_compile_callback, METH_O,
     "cb(source, filename) for each 'compile' audit event from now on (None: off); "
     "False when the audit hook could not be added."},
    {"detach", detach, METH_NOARGS, "Stop sampling and forget the frame walker (at exit)."},
    {"snapshot", snapshot, METH_NOARGS, "The core's tables as Python data."},
    {"live_history", live_history, METH_VARARGS,
     "live_history(t0, t1): per line with live sampled blocks, (path, line, blocks, bytes, "
     "counts, bytes_by_bin): the blocks by allocation time in equal bins of [t0, t1]."},
    {"cpu_start", cpu_start, METH_VARARGS,
     "cpu_start(interval_s, wall): start the CPU sampling thread (main thread only)."},
    {"cpu_stop", cpu_stop, METH_NOARGS, "Stop CPU sampling and charge the last interval."},
    {"cpu_pause", cpu_pause, METH_NOARGS,
     "Stop the CPU sampling thread, keeping the totals (around a fork); True if it ran."},
    {"cpu_resume", cpu_resume, METH_NOARGS, "Start the thread again after cpu_pause()."},
    {"cpu_resume_soon", cpu_resume_soon, METH_NOARGS,
     "cpu_resume() when the main thread next runs Python code (after a fork returns)."},
    {"install_term_note", install_term_note, METH_NOARGS,
     "SIGTERM notes its status in the tables file, then ends the process (POSIX)."},
    {"fork_child_sigterm_default", fork_child_sigterm_default, METH_O,
     "Children made by fork() start with SIGTERM's default action (POSIX)."},
    {"set_exit_callback", set_exit_callback, METH_O,
     "Call this (no arguments) when the process ends through _exit (os._exit); "
     "None to clear."},
    {"counters", counters, METH_NOARGS, "Exact per-hook {name: (calls, bytes)}."},
    {"footprint", footprint, METH_NOARGS, "(current_bytes, peak_bytes), exact."},
    {"set_seed", set_seed, METH_O,
     "set_seed(seed): the sampling draws start again from this seed, in this thread now and in "
     "the others at their next sample."},
    {"reset", reset, METH_NOARGS, "Forget per-line stats, live blocks, peak and timeline."},
    {"now_s", now_s, METH_NOARGS, "The core's clock (seconds), which timeline times use."},
    {"file_charged", file_charged, METH_O,
     "file_charged(path): whether the file filter charges the lines of this file."},
    {"check_walk", check_walk, METH_NOARGS,
     "None when the frame walk sees the caller's frames as the frame API does; "
     "else the first difference (tests; the module runs it when it loads)."},
    {"native_hooks_active", native_hooks_active, METH_NOARGS,
     "True when the process's malloc family goes through heapline (preload mode)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    "heapline._core",
    "heapline's C core.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    /* Lines are read from the interpreter's own frames; a layout this build
     * does not match would charge bytes and time to wrong lines. */
    char why[160];
    if (heapline_check_walk(why, sizeof why) != 0) {
        PyErr_Format(PyExc_ImportError,
                     "heapline cannot read the frames of this interpreter (Python %d.%d.%d): "
                     "%s, so it would charge wrong lines",
                     (int)(Py_Version >> 24), (int)((Py_Version >> 16) & 0xFF),
                     (int)((Py_Version >> 8) & 0xFF), why);
        return NULL;
    }
    static int forked_handler;
    if (!forked_handler) {
        hl_timer_thread_at_fork_child(hl_cpu_after_fork_child);
        forked_handler = 1;
    }
    PyObject *m = PyModule_Create(&moduledef);
    if (m && PyModule_AddFunctions(m, hl_tables_methods) < 0) Py_CLEAR(m);
    return m;
}
