/* The timer thread on Windows (interface in timer_thread.h): a thread that
 * waits on a stop event and a waitable timer together. The timer is a
 * high-resolution one where the system has them (Windows 10 1803 and later),
 * so sub-millisecond waits are not rounded up to the 15.6 ms scheduler tick;
 * elsewhere a plain waitable timer.
 */
#include "timer_thread.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

static HANDLE thread, stop_event, timer;
static void (*thread_body)(void);

static DWORD WINAPI thread_main(void *arg) {
    (void)arg;
    thread_body();
    return 0;
}

static void close_all(void) {
    if (thread) CloseHandle(thread);
    if (timer) CloseHandle(timer);
    if (stop_event) CloseHandle(stop_event);
    thread = timer = stop_event = NULL;
}

int hl_timer_thread_start(void (*body)(void)) {
    if (thread) return -1;
    thread_body = body;
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    timer =
        CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
    if (!timer) timer = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
    if (stop_event && timer) thread = CreateThread(NULL, 0, thread_main, NULL, 0, NULL);
    if (!thread) {
        close_all();
        return -1;
    }
    return 0;
}

int hl_timer_thread_wait(double seconds) {
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)(seconds * 1e7); /* relative, in 100 ns units */
    if (due.QuadPart == 0) due.QuadPart = -1;
    if (!SetWaitableTimer(timer, &due, 0, NULL, NULL, FALSE)) {
        DWORD ms = (DWORD)(seconds * 1e3);
        return WaitForSingleObject(stop_event, ms ? ms : 1) != WAIT_OBJECT_0;
    }
    HANDLE both[2] = {stop_event, timer};
    return WaitForMultipleObjects(2, both, FALSE, INFINITE) != WAIT_OBJECT_0;
}

void hl_timer_thread_stop(void) {
    if (!thread) return;
    SetEvent(stop_event);
    WaitForSingleObject(thread, INFINITE);
    close_all();
}

void hl_timer_thread_forget(void) {}

void hl_timer_thread_at_fork_child(void (*fn)(void)) {
    (void)fn;
}
