/* The run's clock: hl_now_s() counts seconds from the moment this library was
 * loaded, on the OS's monotonic clock (cpu_clock.h's hl_clock_mono_ns:
 * CLOCK_MONOTONIC, Windows' QueryPerformanceCounter), and hl_clock_origin()
 * gives that moment on the same clock, so that the times of several
 * processes can be put on one line. Every time in the tables (samples, the
 * timeline, the peak, live blocks' ages) is an hl_now_s().
 */
#include "cpu_clock.h"

static int64_t t0_ns;

/* Before the other constructors of the library, which may already time. */
__attribute__((constructor(101))) static void run_clock_init(void) {
    t0_ns = hl_clock_mono_ns();
}

double hl_now_s(void) {
    return (double)(hl_clock_mono_ns() - t0_ns) * 1e-9;
}

double hl_clock_origin(void) {
    return (double)t0_ns * 1e-9;
}
