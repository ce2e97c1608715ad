/* Checks of the CPU clocks (src/core/cpu_clock.h) shared by the POSIX and the
 * Windows C tests: the calling thread's own user time, the process's times
 * and the monotonic clock. Include after check.h and heapline.h.
 */
#ifndef HEAPLINE_TEST_CPU_CLOCK_CHECK_H
#define HEAPLINE_TEST_CPU_CLOCK_CHECK_H

#include "cpu_clock.h"

static void spin_for(double seconds) {
    volatile double x = 0;
    double w0 = hl_now_s();
    while (hl_now_s() - w0 < seconds)
        x += 1.0;
}

/* The clocks of another thread, `tid`, which spins while this one calls
 * pause() (about 0.3 s asleep): read by id, they advance by more than 50 ms;
 * one hl_cpu_thread_read is no earlier than the separate readings. Returns
 * the CPU time the thread was seen to use. */
static int64_t check_spinning_thread(unsigned long tid, void (*pause)(void)) {
    int64_t t0 = hl_cpu_thread_ns(tid), b0 = hl_cpu_thread_busy_ns(tid);
    pause();
    int64_t t1 = hl_cpu_thread_ns(tid), b1 = hl_cpu_thread_busy_ns(tid);
    CHECK(t0 >= 0 && t1 - t0 > 50000000, "cpu: spinning thread %lld -> %lld ns", (long long)t0,
          (long long)t1);
    CHECK(b0 >= 0 && b1 - b0 > 50000000, "cpu: busy clock %lld -> %lld", (long long)b0,
          (long long)b1);
    int64_t cpu = -1, busy = -1;
    hl_cpu_thread_read(tid, &cpu, &busy);
    CHECK(cpu >= t1 && busy >= b1,
          "cpu: one reading of both clocks %lld, %lld (before: %lld, %lld)", (long long)cpu,
          (long long)busy, (long long)t1, (long long)b1);
    return t1 - t0;
}

/* `other_ns`: CPU time another thread of the process was seen to use;
 * `mono0`: hl_clock_mono_ns() at least 0.5 s ago. */
static void check_own_and_process_clocks(int64_t other_ns, int64_t mono0) {
    int64_t u0, s0, u1, s1;
    CHECK(hl_cpu_self_times(&u0, &s0) == 0, "cpu: own times");
    spin_for(0.2);
    CHECK(hl_cpu_self_times(&u1, &s1) == 0 && u1 - u0 > 50000000 && s1 >= s0,
          "cpu: own user time %lld -> %lld ns", (long long)u0, (long long)u1);
    int64_t pu = -1, ps = -1;
    CHECK(hl_cpu_process_times(&pu, &ps) == 0 && pu >= other_ns + (u1 - u0) - 50000000 && ps >= 0,
          "cpu: process user %lld system %lld ns", (long long)pu, (long long)ps);
    int64_t m1 = hl_clock_mono_ns();
    CHECK(m1 - mono0 >= 500000000 && m1 - mono0 < 60000000000, "cpu: monotonic clock %lld ns",
          (long long)(m1 - mono0));
}

#endif
