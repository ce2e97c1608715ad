/* heapline._core's functions for the tables in a file (tables_file.c): move
 * this process's tables into a file, set its state, and read any process's
 * file back as the rows snapshot() gives. */
#ifndef HEAPLINE_EXT_TABLES_FILE_H
#define HEAPLINE_EXT_TABLES_FILE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "heapline.h"

/* One row of snapshot()["lines"] (module.c): steals `path`; NULL on error. */
PyObject *hl_py_line_row(PyObject *path, const hl_line_stats *r);

/* The methods, for module.c's table. */
extern PyMethodDef hl_tables_methods[];

#endif
