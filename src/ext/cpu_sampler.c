/* CPU sampling without signals.
 *
 * A timer thread sleeps for exponentially distributed intervals (mean = the
 * CPU interval, so periodic programs are not aliased) and then asks the main
 * thread to run sample_all() at its next bytecode boundary (Py_AddPendingCall).
 * The callback holds the GIL, so every thread's frames are still; it charges
 * each thread's CPU time since the previous sample (its thread CPU clock) to the
 * thread's current line:
 *  - main thread: the share of the interval by which the callback ran late was
 *    spent in native code (no bytecode boundary was reached), the rest in Python;
 *  - other threads: native when their CPU clock keeps moving while the sampler
 *    holds the GIL (they run without it), Python otherwise (they wait for it);
 *  - system time: the main thread's own system share since its previous sample;
 *    for other threads the process's share over the interval.
 * A thread that is blocked gets no CPU time, so no charge (except with --wall,
 * which charges elapsed time instead).
 *
 * When the main thread has not reached a bytecode boundary for two intervals
 * (a long native call, or blocked in join()/sleep()), the timer thread takes the
 * GIL itself and samples, so other threads are still seen.
 *
 * Clocks come from the core (cpu_clock.h), the timer thread from
 * timer_thread.h: this file is the same on POSIX systems and Windows.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cpu_clock.h"
#include "cpu_sampler.h"
#include "frame_walk.h"
#include "timer_thread.h"

#include <math.h>
#include <stdatomic.h>

#define MAX_THREADS 512
/* In Python code a pending call runs within microseconds of the request (tens
 * when the interpreter collects garbage at that boundary); a tenth of a
 * millisecond late means the thread was inside a C call. */
#define NATIVE_DELAY_NS 100000
/* Other threads: sampled twice this far apart while the GIL is held. */
#define RUNNING_WINDOW_NS 20000
#define RUNNING_MIN_NS    2000

typedef struct {
    unsigned long tid; /* kernel thread id; 0 = free */
    int64_t cpu_ns;
    hl_frame_pos pos;
    unsigned seen; /* generation of the last sample that saw it */
} thread_rec;

static thread_rec recs[MAX_THREADS];
static unsigned generation;

static int timer_running; /* main thread only */
static _Atomic int pending;
static _Atomic int64_t sched_ns;     /* when the pending call was requested */
static _Atomic int64_t sched_cpu_ns; /* the main thread's busy clock then */
static double interval_s = 0.01;
static int wall_mode;
static int active; /* between start and stop; main thread only */
static unsigned long main_tid;
static PyThreadState *main_ts;
static unsigned long timer_tid;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

/* State of the previous sample; all under the GIL. */
static int64_t last_sample_ns;
static int64_t last_proc_user_ns, last_proc_sys_ns;
static int64_t last_main_user_ns, last_main_sys_ns; /* the main thread's own */
static hl_cpu_totals totals;

static thread_rec *rec_for(unsigned long tid, int *fresh) {
    thread_rec *free_slot = NULL;
    for (int i = 0; i < MAX_THREADS; i++) {
        if (recs[i].tid == tid) {
            *fresh = 0;
            return &recs[i];
        }
        if (!free_slot && (recs[i].tid == 0 || recs[i].seen + 2 < generation)) free_slot = &recs[i];
    }
    if (free_slot) {
        free_slot->tid = tid;
        free_slot->cpu_ns = 0;
        free_slot->pos.frame = free_slot->pos.instr = NULL;
        *fresh = 1;
    }
    return free_slot;
}

static double clamp01(double x) {
    return x < 0 ? 0 : (x > 1 ? 1 : x);
}

/* Charges every Python thread; the caller holds the GIL. `main_delay_ns`: how
 * long the main thread has been in native code (see main_delay_now). */
static void sample_all(int64_t main_delay_ns) { /* CPU ns, or wall ns with --wall */
    int64_t now = hl_clock_mono_ns();
    int64_t elapsed = now - last_sample_ns;
    last_sample_ns = now;
    if (elapsed <= 0) return;
    /* System share: the main thread's own when this runs on it, else the
     * process's over the interval. */
    int64_t pu = last_proc_user_ns, ps = last_proc_sys_ns;
    hl_cpu_process_times(&pu, &ps);
    int64_t du = pu - last_proc_user_ns, ds = ps - last_proc_sys_ns;
    last_proc_user_ns = pu;
    last_proc_sys_ns = ps;
    double sys_frac = (du + ds) > 0 ? clamp01((double)ds / (double)(du + ds)) : 0;
    double main_sys_frac = sys_frac;
    if ((unsigned long)PyThread_get_thread_native_id() == main_tid) {
        int64_t mu = last_main_user_ns, ms = last_main_sys_ns;
        hl_cpu_self_times(&mu, &ms);
        int64_t dmu = mu - last_main_user_ns, dms = ms - last_main_sys_ns;
        if (dmu + dms > 0) {
            main_sys_frac = clamp01((double)dms / (double)(dmu + dms));
            last_main_user_ns = mu;
            last_main_sys_ns = ms;
        }
    }
    generation++;
    totals.samples++;

    /* Pass 1: where each thread is and its CPU clock. */
    struct {
        thread_rec *r;
        unsigned long tid;
        int64_t cpu, busy;
        int fresh, found;
        hl_site site;
        hl_frame_pos pos;
    } seen[MAX_THREADS];
    int n = 0;
    int64_t pass_start = hl_clock_mono_ns();
    PyInterpreterState *interp = PyInterpreterState_Main();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts && n < MAX_THREADS;
         ts = PyThreadState_Next(ts)) {
        unsigned long tid = ts->native_thread_id;
        if (tid == 0 || tid == timer_tid) continue;
        seen[n].tid = tid;
        seen[n].r = rec_for(tid, &seen[n].fresh);
        hl_cpu_thread_read(tid, &seen[n].cpu, &seen[n].busy);
        seen[n].site = (hl_site){HL_FILE_UNATTRIBUTED, 0};
        seen[n].pos = (hl_frame_pos){NULL, NULL};
        seen[n].found = heapline_where_in(ts, &seen[n].site, &seen[n].pos) == HL_WHERE_FOUND;
        n++;
    }
    /* Pass 2, at least RUNNING_WINDOW_NS later: while this thread holds the
     * GIL, a thread whose CPU clock still moves is running without the GIL,
     * i.e. in native code; one waiting for the GIL (it was running Python) or
     * blocked does not move. */
    while (hl_clock_mono_ns() - pass_start < RUNNING_WINDOW_NS) {
    }
    unsigned long self_tid = (unsigned long)PyThread_get_thread_native_id();
    for (int i = 0; i < n; i++) {
        thread_rec *r = seen[i].r;
        if (!r) continue;
        unsigned long tid = seen[i].tid;
        int64_t cpu = seen[i].cpu, busy = seen[i].busy;
        int64_t busy2 = tid == self_tid ? busy : hl_cpu_thread_busy_ns(tid);
        int running = busy2 >= 0 && busy >= 0 && busy2 - busy > RUNNING_MIN_NS;
        int64_t dcpu = (cpu >= 0 && cpu >= r->cpu_ns) ? cpu - r->cpu_ns : 0;
        int moved =
            seen[i].fresh || seen[i].pos.frame != r->pos.frame || seen[i].pos.instr != r->pos.instr;
        r->cpu_ns = cpu >= 0 ? cpu : r->cpu_ns;
        r->pos = seen[i].pos;
        r->seen = generation;
        double amount = wall_mode ? (double)elapsed * 1e-9 : (double)dcpu * 1e-9;
        if (amount <= 0) continue;
        double native_frac;
        if (tid == main_tid)
            /* The state when the sample was asked for stands for the whole
             * interval: the request landed in native code when the callback
             * came late. (Counting only the lateness as native would miss
             * the part of each native call before the request.) From the
             * timer thread too: the main thread used CPU while the request
             * stayed unserved, so not in the eval loop; the 20 us window
             * would call it Python whenever the main thread happened not to
             * be scheduled then, as on a loaded machine. */
            native_frac = main_delay_ns > NATIVE_DELAY_NS ? 1.0 : 0.0;
        else if (wall_mode)
            native_frac = running || !moved ? 1.0 : 0.0;
        else
            native_frac = running ? 1.0 : 0.0;
        double sys_s = wall_mode ? 0 : amount * (tid == main_tid ? main_sys_frac : sys_frac);
        double user = amount - sys_s;
        double py = user * (1 - native_frac), nat = user * native_frac;
        totals.python_s += py;
        totals.native_s += nat;
        totals.system_s += sys_s;
        hl_site site = seen[i].site;
        if (!seen[i].found) {
            site.file = HL_FILE_UNATTRIBUTED;
            site.line = 0;
        }
        hl_cpu_charge(site.file, site.line, py, nat, sys_s);
    }
}

/* How late the main thread is for the pending call requested last: in its own
 * CPU time (so time it spent preempted by other processes does not look like
 * native code), or elapsed time with --wall. The request time is stored only
 * after the request is made and the main thread woken; a callback that runs
 * before that ran at once (-1 = not stored yet). */
static int64_t main_delay_now(void) {
    int64_t since = atomic_load(wall_mode ? &sched_ns : &sched_cpu_ns);
    if (since < 0) return 0;
    int64_t now = wall_mode ? hl_clock_mono_ns() : hl_cpu_thread_busy_ns(main_tid);
    return now > since ? now - since : 0;
}

static int pending_cb(void *arg) {
    (void)arg;
    int64_t delay = main_delay_now();
    atomic_store(&pending, 0);
    if (active) sample_all(delay);
    return 0;
}

static double draw_exp(void) {
    rng += 0x9E3779B97F4A7C15ull;
    uint64_t z = rng;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    return -log(u);
}

static int is_finalizing(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

static void timer_main(void) {
    timer_tid = (unsigned long)PyThread_get_thread_native_id();
    for (;;) {
        /* exponential, cut at 3 means: no aliasing with periodic programs,
         * and no sample interval so long that one sample misplaces much */
        double e = draw_exp();
        if (!hl_timer_thread_wait(interval_s * (e < 3.0 ? e : 3.0))) break;
        if (!atomic_load(&pending)) {
            atomic_store(&sched_ns, -1);
            atomic_store(&sched_cpu_ns, -1);
            atomic_store(&pending, 1);
            if (Py_AddPendingCall(pending_cb, NULL) != 0) {
                atomic_store(&pending, 0);
            } else {
                heapline_wake_main(main_ts);
                atomic_store(&sched_cpu_ns, hl_cpu_thread_busy_ns(main_tid));
                atomic_store(&sched_ns, hl_clock_mono_ns());
            }
        } else if (atomic_load(&sched_ns) >= 0 &&
                   (double)(hl_clock_mono_ns() - atomic_load(&sched_ns)) > 2e9 * interval_s &&
                   !is_finalizing()) {
            /* the main thread is in one long native call or blocked: sample
             * the other threads from here */
            PyGILState_STATE g = PyGILState_Ensure();
            if (atomic_load(&pending) && active) sample_all(main_delay_now());
            PyGILState_Release(g);
        }
    }
}

int hl_cpu_start(double interval, int wall) {
    if (timer_running) return 0;
    interval_s = interval > 1e-4 ? interval : 1e-4;
    wall_mode = wall;
    main_tid = (unsigned long)PyThread_get_thread_native_id();
    main_ts = PyThreadState_Get();
    last_sample_ns = hl_clock_mono_ns();
    last_proc_user_ns = last_proc_sys_ns = last_main_user_ns = last_main_sys_ns = 0;
    hl_cpu_process_times(&last_proc_user_ns, &last_proc_sys_ns);
    hl_cpu_self_times(&last_main_user_ns, &last_main_sys_ns);
    generation = 0;
    totals = (hl_cpu_totals){0};
    for (int i = 0; i < MAX_THREADS; i++)
        recs[i].tid = 0;
    /* the first sample charges each thread's CPU since this moment */
    PyInterpreterState *interp = PyInterpreterState_Main();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        int fresh;
        thread_rec *r = rec_for(ts->native_thread_id, &fresh);
        if (r) r->cpu_ns = hl_cpu_thread_ns(ts->native_thread_id);
    }
    timer_running = 1;
    active = 1;
    if (hl_timer_thread_start(timer_main) != 0) {
        timer_running = 0;
        active = 0;
        return -1;
    }
    return 0;
}

void hl_cpu_stop(void) {
    if (!timer_running) return;
    timer_running = 0;
    /* the timer may be waiting for the GIL: let it have it */
    Py_BEGIN_ALLOW_THREADS hl_timer_thread_stop();
    Py_END_ALLOW_THREADS
        /* charge the tail since the last sample */
        sample_all(0);
    active = 0;
}

/* Around a fork: the timer thread is stopped (CPython 3.12+ warns in the
 * parent of a fork when the process has more than one thread, which it would
 * not without heapline), and started again after, in the parent; the totals
 * and the per-thread clocks stay, so the next sample charges the time since
 * the last one, the fork's included. */
int hl_cpu_pause(void) {
    if (!timer_running) return 0;
    timer_running = 0;
    Py_BEGIN_ALLOW_THREADS hl_timer_thread_stop();
    Py_END_ALLOW_THREADS return 1;
}

int hl_cpu_resume(void) {
    if (timer_running || !active) return 0;
    timer_running = 1;
    if (hl_timer_thread_start(timer_main) != 0) {
        timer_running = 0;
        return -1;
    }
    return 0;
}

void hl_cpu_after_fork_child(void) {
    /* the timer thread does not exist in the child */
    hl_timer_thread_forget();
    timer_running = 0;
    active = 0;
    atomic_store(&pending, 0);
}

hl_cpu_totals hl_cpu_read_totals(void) {
    hl_cpu_totals t = totals;
    t.interval_s = interval_s;
    t.wall = wall_mode;
    return t;
}
