/* Where the tables live (tables_mem.h): the static instance hl_T points at
 * until the tables move into a file, the lock every write to them holds, the
 * state Python sets, the exit status, the file's path and the last error.
 * Moving them is tables_move.c's (with each owner's copy) and the platform's.
 */
#include "tables_mem.h"

#include <errno.h>

/* Page-aligned: its pages are its own (posix/tables_file.c may hand them back). */
_Alignas(4096) hl_tables_mem hl_tables_static;
hl_tables_mem *hl_T = &hl_tables_static;
hl_spinlock hl_tables_lock = HL_SPINLOCK_INIT;

char hl_tables_path_buf[HL_TABLES_PATH_CAP];
static int last_error;

int hl_tables_error(void) {
    return last_error;
}

void hl_tables_set_error(int e) {
    last_error = e;
    errno = e;
}

const char *hl_tables_path(void) {
    return __atomic_load_n(&hl_T, __ATOMIC_ACQUIRE) == &hl_tables_static ? NULL
                                                                         : hl_tables_path_buf;
}

void hl_tables_set_state(int state) {
    hl_lock(&hl_tables_lock);
    HL_MIRROR(state, (uint32_t)state);
    hl_unlock(&hl_tables_lock);
}

/* No lock: the process is ending, and another thread may hold it. Only the
 * process the tables belong to writes (a vfork child shares its parent's).
 * The last status wins: exit(3) whose atexit handler calls _exit(5) ends
 * with 5. */
void hl_tables_record_exit(int status) {
    hl_tables_mem *m = __atomic_load_n(&hl_T, __ATOMIC_ACQUIRE);
    if (m == &hl_tables_static || m->hdr.h.pid != hl_tables_os_pid()) return;
    __atomic_store_n(&m->hdr.h.exit_status, (int32_t)status, __ATOMIC_RELAXED);
    __atomic_store_n(&m->hdr.h.exited, 1u, __ATOMIC_RELEASE);
}
