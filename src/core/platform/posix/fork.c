/* The core's fork handlers on POSIX systems (part of libheapline in both
 * modes, preloaded or loaded in process): the tables lock is held across the
 * fork (tables_file.c), so the child's tables are whole; in the child the
 * thread-state lock starts free again, the other threads' blocks are
 * detached (thread_state.c), and the tables move into the child's own file
 * when the parent had one. The hooks reset their own locks in a handler of
 * their own (linux/native_hooks.c).
 *
 * A Python SIGTERM handler that CPython's signal module tripped between the
 * fork and its own after-fork reset of the trip flags is lost: the child
 * then ignores that SIGTERM (a pool terminating its workers waits forever).
 * The handler heapline installs is only for writing the part before dying, so
 * while it is on, SIGTERM is blocked across the fork and the child starts
 * with the default action before it is unblocked there: one that came in
 * between ends the child, as it would without heapline. Python re-installs
 * its handler after the fork (_bootstrap.RunSession.after_fork_in_child).
 */
#include "tables_mem.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static _Atomic int sigterm_default_in_child;
static _Thread_local sigset_t mask_before_fork;
static _Thread_local int sigterm_blocked;

void hl_set_fork_child_sigterm_default(int on) {
    atomic_store(&sigterm_default_in_child, on);
}

static void block_sigterm(void) {
    sigterm_blocked = 0;
    if (!atomic_load(&sigterm_default_in_child)) return;
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigterm_blocked = pthread_sigmask(SIG_BLOCK, &term, &mask_before_fork) == 0;
}

static void restore_mask(void) {
    if (sigterm_blocked) pthread_sigmask(SIG_SETMASK, &mask_before_fork, NULL);
    sigterm_blocked = 0;
}

static void before_fork(void) {
    block_sigterm();
    hl_tables_fork_prepare();
}

static void after_fork_parent(void) {
    hl_tables_fork_parent();
    restore_mask();
}

static void after_fork_child(void) {
    if (sigterm_blocked) {
        struct sigaction sa;
        if (sigaction(SIGTERM, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN &&
            sa.sa_handler != SIG_DFL) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction(SIGTERM, &sa, NULL);
        }
    }
    hl_thread_after_fork_child();
    hl_tables_fork_child();
    restore_mask();
}

__attribute__((constructor)) static void fork_init(void) {
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
