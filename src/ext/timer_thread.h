/* The CPU sampler's timer thread, behind one interface for POSIX threads
 * (posix/timer_thread.c) and Windows (windows/timer_thread.c): start it, let it
 * sleep for fractions of a millisecond and up, stop and join it, and forget it
 * in a child process after fork(). One timer thread exists at a time.
 */
#ifndef HEAPLINE_TIMER_THREAD_H
#define HEAPLINE_TIMER_THREAD_H

/* Starts a thread that runs body(); 0 on success. */
int hl_timer_thread_start(void (*body)(void));

/* Called by body(): sleeps `seconds` or until a stop is asked for. Returns 1
 * to go on, 0 when the thread should return. */
int hl_timer_thread_wait(double seconds);

/* Asks the thread to stop and waits until it has ended. The caller must not
 * hold anything body() may wait for (the GIL: release it around this). */
void hl_timer_thread_stop(void);

/* In the child of fork(): the thread does not exist there; drop its state. */
void hl_timer_thread_forget(void);

/* Runs fn in the child after every fork() (nothing on Windows, which has no fork). */
void hl_timer_thread_at_fork_child(void (*fn)(void));

#endif
