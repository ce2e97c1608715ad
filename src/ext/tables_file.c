/* heapline._core's face of the tables in a file (heapline.h): tables_to_file,
 * tables_set_state, tables_path, clock_origin, and read_tables_file, which
 * turns any process's file (checked by the core's reader: a bad file is a
 * ValueError, never a crash) into a dict whose rows are those of
 * snapshot()["lines"].
 */
#include "tables_file.h"

#include <errno.h>

static PyObject *tables_to_file(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) return NULL;
    int rc = hl_tables_to_file(PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    if (rc != 0) {
        errno = hl_tables_error();
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
    }
    Py_RETURN_NONE;
}

static PyObject *tables_set_state(PyObject *self, PyObject *arg) {
    (void)self;
    long state = PyLong_AsLong(arg);
    if (state == -1 && PyErr_Occurred()) return NULL;
    if (state < 0 || state > 2) {
        PyErr_Format(PyExc_ValueError,
                     "tables_set_state: 0 (not profiling), 1 (profiling) or 2 (finished), not %ld",
                     state);
        return NULL;
    }
    hl_tables_set_state((int)state);
    Py_RETURN_NONE;
}

static PyObject *tables_path(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    const char *p = hl_tables_path();
    if (!p) Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(p);
}

static PyObject *clock_origin(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyFloat_FromDouble(hl_clock_origin());
}

/* A file id's name, decoded once per id (names: id -> str). */
static PyObject *name_of(const hl_tables_reader *r, uint32_t id, PyObject *names) {
    PyObject *key = PyLong_FromUnsignedLong(id);
    if (!key) return NULL;
    PyObject *name = PyDict_GetItemWithError(names, key);
    if (name) {
        Py_DECREF(key);
        return Py_NewRef(name);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    const char *s = hl_tables_reader_file_name(r, id); /* the reader checked every row's id */
    name = PyUnicode_DecodeFSDefault(s ? s : "<unknown>");
    if (name && PyDict_SetItem(names, key, name) < 0) Py_CLEAR(name);
    Py_DECREF(key);
    return name;
}

static PyObject *reader_lines(const hl_tables_reader *r, size_t n) {
    PyObject *names = PyDict_New();
    PyObject *out = names ? PyList_New((Py_ssize_t)n) : NULL;
    for (size_t i = 0; out && i < n; i++) {
        const hl_line_stats *s = hl_tables_reader_line(r, i);
        PyObject *path = name_of(r, s->file, names);
        PyObject *row = path ? hl_py_line_row(path, s) : NULL;
        if (!row) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, row);
    }
    Py_XDECREF(names);
    return out;
}

static PyObject *reader_timeline(const hl_tables_reader *r, size_t n) {
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        double s = 0;
        int64_t b = 0;
        hl_tables_reader_point(r, i, &s, &b);
        PyObject *pt = Py_BuildValue("(dL)", s, (long long)b);
        if (!pt) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, pt);
    }
    return out;
}

/* The exception of a failed read (rc -1: the OS's error; -2: a bad file). */
static PyObject *read_failed(int rc, PyObject *path, const char *why) {
    if (rc == -1) {
        errno = hl_tables_error();
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    }
    PyErr_Format(PyExc_ValueError, "%R: %s", path, why);
    return NULL;
}

/* The header's facts as a dict (exit_status None when the process did not
 * record an exit). */
static PyObject *info_dict(const hl_tables_info *info) {
    PyObject *exit_status = info->exited ? PyLong_FromLong(info->exit_status) : Py_NewRef(Py_None);
    if (!exit_status) return NULL;
    return Py_BuildValue("{s:k,s:k,s:k,s:d,s:d,s:L,s:L,s:d,s:N}", "pid", (unsigned long)info->pid,
                         "ppid", (unsigned long)info->ppid, "state", (unsigned long)info->state,
                         "clock_origin", info->clock_origin, "updated_s", info->updated_s,
                         "current_bytes", (long long)info->current_bytes, "peak_bytes",
                         (long long)info->peak_bytes, "peak_at_s", info->peak_at_s, "exit_status",
                         exit_status);
}

static PyObject *read_tables_file(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) return NULL;
    hl_tables_reader *r = NULL;
    char why[200];
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = hl_tables_read_file(PyBytes_AS_STRING(bytes), &r, why, sizeof why);
    Py_END_ALLOW_THREADS Py_DECREF(bytes);
    if (rc != 0) return read_failed(rc, arg, why);
    hl_tables_info info;
    hl_tables_reader_info(r, &info);
    PyObject *out = info_dict(&info);
    PyObject *lines = reader_lines(r, info.lines);
    PyObject *timeline = reader_timeline(r, info.timeline);
    hl_tables_reader_close(r);
    if (!out || !lines || !timeline || PyDict_SetItemString(out, "lines", lines) < 0 ||
        PyDict_SetItemString(out, "timeline", timeline) < 0)
        Py_CLEAR(out);
    Py_XDECREF(lines);
    Py_XDECREF(timeline);
    return out;
}

static PyObject *read_tables_header(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) return NULL;
    hl_tables_info info;
    char why[200];
    int rc = hl_tables_read_header(PyBytes_AS_STRING(bytes), &info, why, sizeof why);
    Py_DECREF(bytes);
    if (rc != 0) return read_failed(rc, arg, why);
    return info_dict(&info);
}

PyMethodDef hl_tables_methods[] = {
    {"read_tables_header", read_tables_header, METH_O,
     "read_tables_header(path): read_tables_file's dict without lines and timeline, from the "
     "header alone (one small read)."},
    {"tables_to_file", tables_to_file, METH_O,
     "tables_to_file(dir): move this process's tables into the file dir/tables-<pid>, updated "
     "as it runs (children after fork get their own there). OSError on failure."},
    {"tables_set_state", tables_set_state, METH_O,
     "tables_set_state(state): the file's state: 0 not profiling (readers skip it), "
     "1 profiling, 2 finished."},
    {"tables_path", tables_path, METH_NOARGS, "The file the tables are in, or None."},
    {"clock_origin", clock_origin, METH_NOARGS,
     "The origin of now_s() in the OS's monotonic clock (time.monotonic() on Linux), s."},
    {"read_tables_file", read_tables_file, METH_O,
     "read_tables_file(path): a tables file as a dict (pid, ppid, state, clock_origin, "
     "updated_s, current_bytes, peak_bytes, peak_at_s, exit_status or None, lines as in "
     "snapshot(), timeline). ValueError for a file that is not a valid tables file."},
    {NULL, NULL, 0, NULL},
};
