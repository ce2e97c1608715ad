/* CPU clocks on POSIX systems (interface in cpu_clock.h): the thread's
 * CPU-time clock (pthread_getcpuclockid) and getrusage for the process.
 */
#include "cpu_clock.h"

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

int hl_cpu_thread_self(hl_cpu_thread *t) {
    clockid_t c;
    t->valid = 0;
    if (pthread_getcpuclockid(pthread_self(), &c) != 0) return -1;
    t->handle = (uintptr_t)c;
    t->valid = 1;
    return 0;
}

double hl_cpu_thread_seconds(const hl_cpu_thread *t) {
    struct timespec ts;
    if (!t->valid || clock_gettime((clockid_t)t->handle, &ts) != 0) return -1.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void hl_cpu_thread_release(hl_cpu_thread *t) {
    t->valid = 0;
}

int hl_cpu_process_times(double *user_s, double *system_s) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    *user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    *system_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    return 0;
}
