/* The tables in a file on POSIX systems (tables_mem.h): hl_tables_to_file
 * creates dir/tables-<pid>, maps it shared and moves hl_T there; the fork
 * handlers give a child its own dir/tables-<childpid> (only async-signal-safe
 * calls: open, ftruncate, pread, close, the real mmap), or a private copy when
 * that fails, so that a child never writes into its parent's file; and the
 * reader's private copy of a file (tables_reader.c checks it).
 *
 * heapline's own mappings go through the real mmap (hl_real_mmap): they are
 * never counted as the program's (a file mapping would not be anyway: the
 * hook counts anonymous ones only).
 */
#include "real_mmap.h"

#include "footprint.h"
#include "live_table.h"
#include "stats_table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define DIR_MAX  HL_TABLES_DIR_MAX
#define PATH_CAP HL_TABLES_PATH_CAP

static char dir_buf[DIR_MAX + 1]; /* the directory, for children after fork */
/* One move at a time (held across the system calls; the tables lock only
 * while the tables are copied and hl_T switched). */
static hl_spinlock move_lock = HL_SPINLOCK_INIT;

uint32_t hl_tables_os_pid(void) {
    return (uint32_t)getpid();
}

/* dir (n bytes, n <= DIR_MAX) + "/tables-" + pid, without snprintf. */
static void make_path(char out[PATH_CAP], const char *dir, size_t n, uint32_t pid) {
    memcpy(out, dir, n);
    memcpy(out + n, "/tables-", 8);
    n += 8;
    char digits[10];
    int k = 0;
    do {
        digits[k++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid);
    while (k)
        out[n++] = digits[--k];
    out[n] = 0;
}

/* An existing file at path that this process may take over: a regular file
 * of ours, of the tables' size, whose header says this pid and state 0 (the
 * file a fork left before this process exec'd, which no reader counts).
 * Returns its descriptor, or -1 with errno EEXIST. */
static int open_leftover(const char *path) {
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    hl_tables_header h;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
             st.st_nlink == 1 && (uint64_t)st.st_size == sizeof(hl_tables_mem) &&
             pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && h.magic == HL_TABLES_MAGIC &&
             h.pid == (uint32_t)getpid() && h.state == HL_TABLES_IDLE;
    /* emptied: every page a hole again */
    if (ok) ok = ftruncate(fd, 0) == 0;
    if (!ok) {
        close(fd);
        errno = EEXIST;
        return -1;
    }
    return fd;
}

/* The file is sparse: its pages take room as they are first written, and a
 * write fault with the file system full would be SIGBUS in the program. So
 * the tables go into a file only while the file system has room for a few
 * whole tables files (else they stay in memory, and the process's part is
 * still saved as it ends). */
#define HL_TABLES_MIN_FREE (4 * (uint64_t)sizeof(hl_tables_mem))

static int room_for_tables(int fd) {
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) != 0) return 0;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize >= HL_TABLES_MIN_FREE;
}

/* A new file at path, sized for the tables (sparse) and mapped shared; NULL
 * with errno, the file removed again if it was created here. */
static hl_tables_mem *map_new(const char *path, int takeover) {
    int created = 1;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && takeover) {
        created = 0;
        fd = open_leftover(path);
    }
    if (fd < 0) return NULL;
    void *p = MAP_FAILED;
    if (!room_for_tables(fd)) {
        close(fd);
        if (created) unlink(path);
        errno = ENOSPC;
        return NULL;
    }
    if (ftruncate(fd, (off_t)sizeof(hl_tables_mem)) == 0)
        p = hl_real_mmap(NULL, sizeof(hl_tables_mem), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    /* every page is a hole: a fault need not read ahead (it would clear up to
     * hundreds of KiB of page cache for the first write) */
    if (p != MAP_FAILED) (void)madvise(p, sizeof(hl_tables_mem), MADV_RANDOM);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        if (created) unlink(path);
        errno = e;
        return NULL;
    }
    return p;
}

static int move_locked(const char *dir, size_t n) {
    char path[PATH_CAP];
    make_path(path, dir, n, hl_tables_os_pid());
    if (hl_T != &hl_tables_static) { /* hl_T changes only under move_lock, or in a fork child */
        if (strcmp(path, hl_tables_path_buf) == 0) return 0;
        hl_tables_set_error(EBUSY);
        return -1;
    }
    hl_tables_mem *m = map_new(path, 1);
    if (m == NULL) {
        hl_tables_set_error(errno);
        return -1;
    }
    hl_lock(&hl_tables_lock);
    hl_tables_stamp(m, hl_tables_os_pid(), (uint32_t)getppid());
    hl_tables_copy_locked(m, hl_T, 1);
    m->hdr.h.state = hl_T->hdr.h.state;
    hl_tables_publish(m);
    memcpy(dir_buf, dir, n + 1);
    memcpy(hl_tables_path_buf, path, sizeof path);
    __atomic_store_n(&hl_T, m, __ATOMIC_RELEASE);
    hl_unlock(&hl_tables_lock);
    return 0;
}

int hl_tables_to_file(const char *dir) {
    size_t n = dir ? strlen(dir) : 0;
    if (n == 0 || n > DIR_MAX) {
        hl_tables_set_error(n == 0 ? EINVAL : ENAMETOOLONG);
        return -1;
    }
    hl_lock(&move_lock);
    int rc = move_locked(dir, n);
    hl_unlock(&move_lock);
    return rc;
}

/* ---- fork ------------------------------------------------------------------ */
/* The forking thread's busy bits before the fork. */
static _Thread_local uint32_t busy_before_fork;

void hl_tables_fork_prepare(void) {
    hl_thread *t = hl_self();
    busy_before_fork = t->busy;
    t->busy |= HL_BUSY_CORE; /* its allocations until the fork take no sample (no lock) */
    hl_lock(&hl_tables_lock);
}

void hl_tables_fork_parent(void) {
    hl_unlock(&hl_tables_lock);
    hl_self()->busy = busy_before_fork;
}

/* The static instance all zero again (it holds the tables as they were when
 * they moved into the file): its whole pages handed back, the rest cleared. */
static void wipe_static(void) {
    size_t whole = sizeof(hl_tables_static) & ~(size_t)4095;
    char *base = (char *)&hl_tables_static;
    if (madvise(base, whole, MADV_DONTNEED) != 0) whole = 0;
    memset(base + whole, 0, sizeof(hl_tables_static) - whole);
}

/* The child's tables: its own file (or the static instance), holding the
 * file table as it was at the fork (the parent may go on adding to its file:
 * only ids below the private next_file_id are copied), no lines, no live
 * blocks, an empty timeline, the peak restarted, state 0 until Python takes
 * over (a child that only execs leaves a file readers skip). */
static void move_child_locked(void) {
    hl_tables_mem *parent = hl_T;
    if (parent == &hl_tables_static) return; /* the child's copy is private already */
    uint32_t pid = hl_tables_os_pid();
    char path[PATH_CAP];
    make_path(path, dir_buf, strlen(dir_buf), pid);
    hl_tables_mem *m = map_new(path, 0);
    if (m == NULL) {
        m = &hl_tables_static;
        wipe_static();
        hl_tables_path_buf[0] = 0;
    } else {
        memcpy(hl_tables_path_buf, path, sizeof path);
    }
    hl_tables_stamp(m, pid, (uint32_t)getppid());
    hl_tables_copy_locked(m, parent, 0);
    m->hdr.h.state = HL_TABLES_IDLE;
    __atomic_store_n(&hl_T, m, __ATOMIC_RELEASE);
    hl_live_reset_locked();
    hl_footprint_reset_locked(hl_self());
    hl_tables_publish(m);
    hl_real_munmap(parent, sizeof *parent);
}

void hl_tables_fork_child(void) {
    hl_spinlock fresh = HL_SPINLOCK_INIT;
    move_lock = fresh; /* a thread of the parent's may have held it */
    move_child_locked();
    hl_unlock(&hl_tables_lock);
    hl_self()->busy = busy_before_fork;
}

/* ---- the reader's copy ------------------------------------------------------ */
int hl_tables_os_load(const char *path, size_t extra, void **buf, char *why, size_t why_len) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        hl_tables_set_error(errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        hl_tables_set_error(e);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != sizeof(hl_tables_mem)) {
        close(fd);
        if (!S_ISREG(st.st_mode))
            snprintf(why, why_len, "not a regular file");
        else
            snprintf(why, why_len, "%lld bytes, not the %zu of a tables file",
                     (long long)st.st_size, sizeof(hl_tables_mem));
        return -2;
    }
    /* a private copy: checked once, it cannot change under the reader (nor
     * can a file truncated meanwhile fault a mapping) */
    size_t len = sizeof(hl_tables_mem) + extra;
    char *p = hl_real_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        hl_tables_set_error(e);
        return -1;
    }
    size_t got = 0;
    while (got < sizeof(hl_tables_mem)) {
        ssize_t r = pread(fd, p + got, sizeof(hl_tables_mem) - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            hl_real_munmap(p, len);
            if (e) {
                hl_tables_set_error(e);
                return -1;
            }
            snprintf(why, why_len, "the file shrank while it was read");
            return -2;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = p;
    return 0;
}

void hl_tables_os_unload(void *buf, size_t extra) {
    hl_real_munmap(buf, sizeof(hl_tables_mem) + extra);
}
