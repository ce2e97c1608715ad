/* POSIX tests of the live-summary channel (shm_posix.c) and the CPU clocks
 * (cpu_clock_posix.c): a forked child opens the parent's channel by pid and
 * waits for a known summary; thread and process CPU times advance.
 */
#include "cpu_clock.h"
#include "heapline.h"
#include "../check.h"
#include "shm.h"

#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int child(uint32_t pid) {
    hl_shm s;
    if (hl_shm_open(&s, pid) != 0) return 2;
    hl_shm_summary d;
    uint64_t seen = 0;
    for (int i = 0; i < 100; i++) {
        if (!hl_shm_wait(&s, seen, 100)) continue;
        if (hl_shm_read(&s, &d) != 0) return 3;
        seen = d.seq;
        if (d.fp_current == 12345 && d.fp_peak == 67890 && d.samples == 42) {
            hl_shm_close(&s);
            return 0;
        }
    }
    hl_shm_close(&s);
    return 4;
}

int main(void) {
    uint32_t pid = (uint32_t)getpid();
    hl_shm s;
    CHECK(hl_shm_create(&s, pid) == 0, "shm: create");
    hl_shm_summary first = {1, 2, 3, 0}, back;
    hl_shm_publish(&s, &first);
    CHECK(hl_shm_read(&s, &back) == 0 && back.fp_current == 1 && back.seq == 2,
          "shm: read back what was written");
    pid_t c = fork();
    if (c == 0) _exit(child(pid));
    hl_shm_summary d = {12345, 67890, 42, 0};
    struct timespec step = {0, 10 * 1000 * 1000};
    int status = -1;
    for (int i = 0; i < 500; i++) {
        hl_shm_publish(&s, &d);
        if (waitpid(c, &status, WNOHANG) == c) break;
        nanosleep(&step, NULL);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "shm: child saw the summary (status %d)",
          status);
    hl_shm_close(&s);
    hl_shm r;
    CHECK(hl_shm_open(&r, pid) != 0, "shm: the publisher removed the name");

    hl_cpu_thread t;
    CHECK(hl_cpu_thread_self(&t) == 0, "cpu: thread clock");
    double t0 = hl_cpu_thread_seconds(&t);
    volatile double x = 0;
    double w0 = hl_now_s();
    while (hl_now_s() - w0 < 0.2)
        x += 1.0;
    double t1 = hl_cpu_thread_seconds(&t);
    CHECK(t0 >= 0 && t1 - t0 > 0.05, "cpu: thread time %.3f -> %.3f", t0, t1);
    hl_cpu_thread_release(&t);
    double u = -1, sys = -1;
    CHECK(hl_cpu_process_times(&u, &sys) == 0 && u >= t1 - t0 - 0.05 && sys >= 0,
          "cpu: process times user %.3f system %.3f", u, sys);

    return check_summary();
}
