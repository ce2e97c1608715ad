/* CPU clocks for the CPU sampler: one thread's CPU time, readable from another
 * thread, and the process's user and system time. Windows: GetThreadTimes /
 * GetProcessTimes (cpu_clock_win.c); POSIX: the thread's CPU-time clock and
 * getrusage (cpu_clock_posix.c).
 */
#ifndef HEAPLINE_CPU_CLOCK_H
#define HEAPLINE_CPU_CLOCK_H

#include "heapline.h"

#include <stdint.h>

/* A thread whose CPU clock can be read from any thread. */
typedef struct hl_cpu_thread {
    uintptr_t handle; /* Windows: a real (duplicated) thread HANDLE; POSIX: clockid_t */
    int valid;
} hl_cpu_thread;

/* Fills *t for the calling thread; 0 on success. Release it when done. */
HL_EXPORT int hl_cpu_thread_self(hl_cpu_thread *t);
/* The thread's CPU seconds (user + system); negative on error. */
HL_EXPORT double hl_cpu_thread_seconds(const hl_cpu_thread *t);
HL_EXPORT void hl_cpu_thread_release(hl_cpu_thread *t);
/* The process's user and system CPU seconds; 0 on success. */
HL_EXPORT int hl_cpu_process_times(double *user_s, double *system_s);

#endif
