/* SIGTERM in a profiled child process (one that a profiled program started):
 * ends it as the default action would, after noting in its tables file that
 * SIGTERM ended it (exit status -SIGTERM), so its part, whole up to then, is
 * read from the file (merge.py). A C handler, not a Python one: a Python
 * handler must wait for the main thread to run it, and CPython drops a
 * Python handler's signal that arrives between a fork and its own after-fork
 * reset of the signal flags; a pool terminating its workers then waits for
 * one forever. Installed only where SIGTERM has its default action, and
 * invisible to Python (signal.getsignal still says SIG_DFL, as without
 * heapline); a handler the program installs replaces it.
 */
#include "heapline.h"
#include "tables_mem.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void on_term(int sig) {
    hl_tables_record_exit(-sig);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, sig);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    raise(sig); /* the default action: the process ends here */
}

int hl_install_term_note(void) {
    struct sigaction old;
    if (sigaction(SIGTERM, NULL, &old) != 0) return 0;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGTERM, &sa, NULL) == 0;
}
