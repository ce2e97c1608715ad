/* Line lookup from interpreter frames (frame_walk.c). */
#ifndef HEAPLINE_FRAME_WALK_H
#define HEAPLINE_FRAME_WALK_H

#include <Python.h>

#include "heapline.h"

/* Where a thread's innermost frame is: unchanged between two CPU samples means
 * the thread did not execute bytecode in between. */
typedef struct hl_frame_pos {
    const void *frame;
    const void *instr;
} hl_frame_pos;

/* The core's callback: the calling thread's innermost profiled line. */
int heapline_where(hl_site *out);
/* The same for any thread state; the caller holds the GIL or is that thread. */
int heapline_where_in(PyThreadState *ts, hl_site *out, hl_frame_pos *pos);

/* Checks, from a call made by Python code, that the raw walk sees the calling
 * thread's frames as the public frame API does (same code objects and lines).
 * 0 when it does; else -1 with the first difference in `why`. */
int heapline_check_walk(char *why, size_t cap);

/* After Py_AddPendingCall from another thread: make the main thread look. */
void heapline_wake_main(PyThreadState *main_ts);

#endif
