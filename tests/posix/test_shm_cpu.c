/* POSIX tests of the live-summary channel (posix/shm.c) and the CPU clocks
 * (posix/cpu_clock.c): a forked child opens the parent's channel by pid and
 * waits for a known summary; thread and process CPU times advance.
 */
#include "cpu_clock.h"
#include "heapline.h"
#include "../check.h"
#include "../cpu_clock_check.h"
#include "shm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../says_python.h"

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

/* A thread that spins until told to stop, publishing its kernel id. */
static _Atomic long spinner_tid;
static _Atomic int spinner_stop;

static void *spinner(void *arg) {
    (void)arg;
    atomic_store(&spinner_tid, (long)syscall(SYS_gettid));
    volatile double x = 0;
    while (!atomic_load(&spinner_stop))
        x += 1.0;
    return NULL;
}

static void sleep_300ms(void) {
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
}

static void test_cpu_clocks(void) {
    int64_t m0 = hl_clock_mono_ns();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, spinner, NULL) == 0, "cpu: start a spinning thread");
    while (!atomic_load(&spinner_tid)) {
    }
    unsigned long tid = (unsigned long)atomic_load(&spinner_tid);
    int64_t used = check_spinning_thread(tid, sleep_300ms);
    atomic_store(&spinner_stop, 1);
    pthread_join(th, NULL);
    /* the kernel lets joiners go a moment before the thread is reaped */
    int gone = 0;
    for (int i = 0; i < 1000 && !gone; i++) {
        gone = hl_cpu_thread_ns(tid) == -1;
        if (!gone) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    CHECK(gone, "cpu: a thread that ended reads as -1");
    int64_t gone_cpu, gone_busy;
    hl_cpu_thread_read(tid, &gone_cpu, &gone_busy);
    CHECK(gone_cpu == -1 && gone_busy == -1, "cpu: and so do both its clocks in one reading");

    check_own_and_process_clocks(used, m0);
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

    test_cpu_clocks();

    return check_summary();
}
