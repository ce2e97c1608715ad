/* Clocks for the CPU sampler (src/ext/cpu_sampler.c): any thread's CPU time by
 * its native id, the calling thread's and the process's user/system split, and
 * a monotonic clock. Windows: GetThreadTimes / GetProcessTimes /
 * QueryThreadCycleTime / QueryPerformanceCounter (windows/cpu_clock.c); POSIX:
 * per-thread CPU-time clocks, getrusage and CLOCK_MONOTONIC (posix/cpu_clock.c).
 * All times are in nanoseconds.
 */
#ifndef HEAPLINE_CPU_CLOCK_H
#define HEAPLINE_CPU_CLOCK_H

#include "heapline.h"

#include <stdint.h>

/* A monotonic clock. */
HL_EXPORT int64_t hl_clock_mono_ns(void);

/* The CPU time (user + system) of a thread of this process, given its native
 * id (what PyThread_get_thread_native_id returns); -1 when it cannot be read
 * (the thread is gone, or the platform cannot name threads by id). On Windows
 * this clock advances in scheduler ticks (about 15.6 ms): right on average,
 * coarse for one short interval. */
HL_EXPORT int64_t hl_cpu_thread_ns(unsigned long tid);

/* Whether a thread ran during a short window: a clock that advances whenever
 * the thread runs, with microsecond resolution, in approximate nanoseconds.
 * Compare two readings of the same thread against a threshold; never use the
 * difference as CPU time. POSIX: the same as hl_cpu_thread_ns. Windows: the
 * thread's cycle count (QueryThreadCycleTime) scaled by cycles per ns measured
 * once; where cycle counts do not advance, hl_cpu_thread_ns. -1 on error. */
HL_EXPORT int64_t hl_cpu_thread_busy_ns(unsigned long tid);

/* Both of the above at once, for one reading of a thread (one system call on
 * POSIX, where they are the same clock; one thread handle on Windows). */
HL_EXPORT void hl_cpu_thread_read(unsigned long tid, int64_t *cpu_ns, int64_t *busy_ns);

/* The calling thread's own user and system CPU time; 0 on success. */
HL_EXPORT int hl_cpu_self_times(int64_t *user_ns, int64_t *system_ns);

/* The process's user and system CPU time; 0 on success. */
HL_EXPORT int hl_cpu_process_times(int64_t *user_ns, int64_t *system_ns);

#endif
