/* CPU clocks on Windows (interface in cpu_clock.h): GetThreadTimes on a
 * duplicated handle of the thread, GetProcessTimes for the process. Times come
 * in 100 ns units.
 */
#include "cpu_clock.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

static double seconds(const FILETIME *f) {
    ULARGE_INTEGER u;
    u.LowPart = f->dwLowDateTime;
    u.HighPart = f->dwHighDateTime;
    return (double)u.QuadPart * 1e-7;
}

int hl_cpu_thread_self(hl_cpu_thread *t) {
    HANDLE h = NULL;
    t->valid = 0;
    /* GetCurrentThread() is a pseudo-handle meaning "the caller": duplicate it
     * into a real one that names this thread from any other */
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &h,
                         THREAD_QUERY_LIMITED_INFORMATION, FALSE, 0))
        return -1;
    t->handle = (uintptr_t)h;
    t->valid = 1;
    return 0;
}

double hl_cpu_thread_seconds(const hl_cpu_thread *t) {
    FILETIME created, exited, kernel, user;
    if (!t->valid || !GetThreadTimes((HANDLE)t->handle, &created, &exited, &kernel, &user))
        return -1.0;
    return seconds(&kernel) + seconds(&user);
}

void hl_cpu_thread_release(hl_cpu_thread *t) {
    if (t->valid) CloseHandle((HANDLE)t->handle);
    t->valid = 0;
}

int hl_cpu_process_times(double *user_s, double *system_s) {
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return -1;
    *user_s = seconds(&user);
    *system_s = seconds(&kernel);
    return 0;
}
