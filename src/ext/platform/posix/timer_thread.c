/* The timer thread on POSIX systems (interface in timer_thread.h): a pthread
 * that sleeps on a condition variable, so a stop request wakes it at once.
 */
#include "timer_thread.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int running; /* under mu */
static void (*thread_body)(void);

static void *thread_main(void *arg) {
    (void)arg;
    thread_body();
    return NULL;
}

int hl_timer_thread_start(void (*body)(void)) {
    thread_body = body;
    pthread_mutex_lock(&mu);
    running = 1;
    pthread_mutex_unlock(&mu);
    if (pthread_create(&thread, NULL, thread_main, NULL) != 0) {
        running = 0;
        return -1;
    }
    return 0;
}

int hl_timer_thread_wait(double seconds) {
    pthread_mutex_lock(&mu);
    if (running) {
        /* CLOCK_REALTIME: pthread_condattr_setclock is not on every system */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_nsec * 1e-9 + seconds;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        pthread_cond_timedwait(&cv, &mu, &until);
    }
    int go_on = running;
    pthread_mutex_unlock(&mu);
    return go_on;
}

void hl_timer_thread_stop(void) {
    pthread_mutex_lock(&mu);
    int was = running;
    running = 0;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (was) pthread_join(thread, NULL);
}

void hl_timer_thread_forget(void) {
    running = 0;
    /* another thread may have held the mutex at the fork */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    mu = m;
}

void hl_timer_thread_at_fork_child(void (*fn)(void)) {
    pthread_atfork(NULL, NULL, fn);
}
