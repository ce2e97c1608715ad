/* CPU clocks on Windows (interface in cpu_clock.h). A thread is opened by its
 * id for each reading (OpenThread with THREAD_QUERY_LIMITED_INFORMATION), so a
 * thread that ended reads as -1 instead of a stale handle's last value.
 * GetThreadTimes / GetProcessTimes count 100 ns units, advanced at scheduler
 * ticks; the "busy" clock uses QueryThreadCycleTime, which is exact, scaled by
 * a cycles-per-ns rate measured once against QueryPerformanceCounter.
 */
#include "cpu_clock.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

static int64_t filetime_ns(const FILETIME *f) {
    ULARGE_INTEGER u;
    u.LowPart = f->dwLowDateTime;
    u.HighPart = f->dwHighDateTime;
    return (int64_t)u.QuadPart * 100;
}

int64_t hl_clock_mono_ns(void) {
    LARGE_INTEGER c, freq;
    QueryPerformanceFrequency(&freq); /* fixed at boot; a read of shared memory */
    QueryPerformanceCounter(&c);
    int64_t f = freq.QuadPart;
    return (c.QuadPart / f) * 1000000000 + (c.QuadPart % f) * 1000000000 / f;
}

static int64_t thread_times_ns(HANDLE h) {
    FILETIME created, exited, kernel, user;
    if (!GetThreadTimes(h, &created, &exited, &kernel, &user)) return -1;
    return filetime_ns(&kernel) + filetime_ns(&user);
}

/* `clock` of the thread `tid`, opened for the reading; -1 if it is gone. */
static int64_t read_thread(unsigned long tid, int64_t (*clock)(HANDLE)) {
    HANDLE h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)tid);
    if (!h) return -1;
    int64_t ns = clock(h);
    CloseHandle(h);
    return ns;
}

int64_t hl_cpu_thread_ns(unsigned long tid) {
    return read_thread(tid, thread_times_ns);
}

/* Cycles per ns of the cycle counter behind QueryThreadCycleTime; 0 = cycle
 * counts do not advance here (then the busy clock is GetThreadTimes). */
static double cycles_per_ns;
static INIT_ONCE calibrated = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK calibrate(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    /* Spin 2 ms on this thread, three times; the highest rate is the one
     * least diluted by the thread being preempted during the spin. */
    double best = 0;
    for (int i = 0; i < 3; i++) {
        ULONG64 c0 = 0, c1 = 0;
        int64_t t0 = hl_clock_mono_ns(), t1;
        if (!QueryThreadCycleTime(GetCurrentThread(), &c0)) return TRUE;
        do {
            t1 = hl_clock_mono_ns();
        } while (t1 - t0 < 2000000);
        if (!QueryThreadCycleTime(GetCurrentThread(), &c1)) return TRUE;
        double rate = (double)(c1 - c0) / (double)(t1 - t0);
        if (rate > best) best = rate;
    }
    /* below 0.05 cycles per ns (50 MHz) the counter is not a cycle counter */
    cycles_per_ns = best > 0.05 ? best : 0;
    return TRUE;
}

/* The busy clock of an open thread handle. */
static int64_t busy_ns(HANDLE h) {
    InitOnceExecuteOnce(&calibrated, calibrate, NULL, NULL);
    ULONG64 cycles;
    if (cycles_per_ns > 0 && QueryThreadCycleTime(h, &cycles))
        return (int64_t)((double)cycles / cycles_per_ns);
    return thread_times_ns(h);
}

int64_t hl_cpu_thread_busy_ns(unsigned long tid) {
    return read_thread(tid, busy_ns);
}

void hl_cpu_thread_read(unsigned long tid, int64_t *cpu_ns, int64_t *busy) {
    HANDLE h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)tid);
    *cpu_ns = *busy = -1;
    if (!h) return;
    *cpu_ns = thread_times_ns(h);
    *busy = busy_ns(h);
    CloseHandle(h);
}

int hl_cpu_self_times(int64_t *user_ns, int64_t *system_ns) {
    FILETIME created, exited, kernel, user;
    if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) return -1;
    *user_ns = filetime_ns(&user);
    *system_ns = filetime_ns(&kernel);
    return 0;
}

int hl_cpu_process_times(int64_t *user_ns, int64_t *system_ns) {
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return -1;
    *user_ns = filetime_ns(&user);
    *system_ns = filetime_ns(&kernel);
    return 0;
}
