/* CPU clocks on POSIX systems (interface in cpu_clock.h): the per-thread
 * CPU-time clocks (Linux names them by thread id), getrusage for the calling
 * thread and the process, CLOCK_MONOTONIC.
 */
#include "cpu_clock.h"

#include <sys/resource.h>
#include <time.h>

static int64_t ts_ns(const struct timespec *ts) {
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t tv_ns(const struct timeval *tv) {
    return (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
}

int64_t hl_clock_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ns(&ts);
}

int64_t hl_cpu_thread_ns(unsigned long tid) {
#ifdef __linux__
    /* the clock id pthread_getcpuclockid computes for a kernel thread id
     * (CPUCLOCK_SCHED, per-thread): readable from any thread of the process */
    clockid_t cid = (clockid_t)((~(uint32_t)tid << 3) | 6u); /* in unsigned: no UB */
    struct timespec ts;
    if (clock_gettime(cid, &ts) != 0) return -1;
    return ts_ns(&ts);
#else
    (void)tid;
    return -1;
#endif
}

int64_t hl_cpu_thread_busy_ns(unsigned long tid) {
    return hl_cpu_thread_ns(tid);
}

void hl_cpu_thread_read(unsigned long tid, int64_t *cpu_ns, int64_t *busy_ns) {
    *cpu_ns = *busy_ns = hl_cpu_thread_ns(tid);
}

int hl_cpu_self_times(int64_t *user_ns, int64_t *system_ns) {
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) return -1;
    *user_ns = tv_ns(&ru.ru_utime);
    *system_ns = tv_ns(&ru.ru_stime);
    return 0;
#else
    (void)user_ns;
    (void)system_ns;
    return -1;
#endif
}

int hl_cpu_process_times(int64_t *user_ns, int64_t *system_ns) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    *user_ns = tv_ns(&ru.ru_utime);
    *system_ns = tv_ns(&ru.ru_stime);
    return 0;
}
