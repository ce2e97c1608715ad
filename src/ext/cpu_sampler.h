/* CPU sampler (cpu_sampler.c): a timer thread and a pending call. */
#ifndef HEAPLINE_CPU_SAMPLER_H
#define HEAPLINE_CPU_SAMPLER_H

#include <stdint.h>

typedef struct hl_cpu_totals {
    double interval_s;
    int wall;
    uint64_t samples;
    double python_s, native_s, system_s;
} hl_cpu_totals;

/* Both are called from the main thread with the GIL held. */
int hl_cpu_start(double interval_s, int wall);
void hl_cpu_stop(void);
hl_cpu_totals hl_cpu_read_totals(void);
void hl_cpu_after_fork_child(void);
/* Stops the timer thread, keeping the totals (1 if it was running). */
int hl_cpu_pause(void);
/* Starts it again after hl_cpu_pause (0, or -1 when it could not). */
int hl_cpu_resume(void);

#endif
