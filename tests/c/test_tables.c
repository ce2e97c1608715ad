/* C tests of the tables in a file (tables_mem.h, posix/tables_file.c,
 * tables_reader.c), linked directly against libheapline as test_core is (its
 * malloc and exit are the process's): rows survive the move into the file; a
 * second mapping of the file sees rows added later with no call; a forked
 * child writes its own file (file table as at the fork, no lines, state 0)
 * and never the parent's, or a private copy when its file cannot be made;
 * exit(3) in a child is recorded; a process that execs takes over the file
 * its fork left; corrupt or truncated files are refused by the reader.
 *
 * Run with no arguments; "takeover|refuse <dir>" is the exec'd child of that
 * test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "heapline.h"
#include "tables_mem.h"
#include "../check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../says_python.h"

static void *volatile sink;
static char dir[256];

/* Every allocation is sampled (interval 1) and charged to site_file:site_line. */
static uint32_t site_file;
static _Atomic int site_line;
static int fixed_where(hl_site *out) {
    out->file = site_file;
    out->line = site_line;
    return HL_WHERE_FOUND;
}

static uint32_t intern(const char *name) {
    int profiled;
    return hl_file_intern(name, strlen(name), &profiled);
}

/* Allocates (and frees) `bytes` at name:line. */
static void alloc_at(uint32_t file, int line, size_t bytes) {
    site_file = file;
    site_line = line;
    sink = malloc(bytes);
    free(sink);
}

static const hl_line_stats *row_of(const hl_tables_reader *r, uint32_t file, int line) {
    hl_tables_info info;
    hl_tables_reader_info(r, &info);
    for (size_t i = 0; i < info.lines; i++) {
        const hl_line_stats *s = hl_tables_reader_line(r, i);
        if (s->file == file && s->line == line) return s;
    }
    return NULL;
}

static hl_line_stats *live_row(uint32_t file, int line) {
    static hl_line_stats rows[4096];
    size_t n = hl_stats_read(rows, 4096);
    for (size_t i = 0; i < n && i < 4096; i++)
        if (rows[i].file == file && rows[i].line == line) return &rows[i];
    return NULL;
}

static void file_path(char *out, size_t cap, const char *d, long pid) {
    snprintf(out, cap, "%s/tables-%ld", d, pid);
}

/* ---- into the file ---------------------------------------------------------------------- */
static uint32_t prog_file;

static void test_move_keeps_rows(void) {
    prog_file = intern("/t/prog.py");
    alloc_at(prog_file, 10, 5000);
    CHECK(hl_tables_path() == NULL, "tables in a file before the move");
    hl_counter c0[HL_HOOK_COUNT], c1[HL_HOOK_COUNT];
    hl_footprint f0, f1;
    hl_counters_read(c0);
    hl_footprint_read(&f0);
    int rc = hl_tables_to_file(dir);
    hl_counters_read(c1);
    hl_footprint_read(&f1);
    CHECK(rc == 0, "hl_tables_to_file: %s", strerror(errno));
    CHECK(c1[HL_HOOK_MMAP].calls == c0[HL_HOOK_MMAP].calls, "the file's mapping was counted");
    CHECK(f1.current == f0.current, "the move changed the footprint by %lld",
          (long long)(f1.current - f0.current));
    char want[512];
    file_path(want, sizeof want, dir, (long)getpid());
    CHECK(hl_tables_path() && strcmp(hl_tables_path(), want) == 0, "path %s",
          hl_tables_path() ? hl_tables_path() : "(null)");
    struct stat st;
    CHECK(stat(want, &st) == 0 && (st.st_mode & 0777) == 0600, "file mode %o",
          (unsigned)(st.st_mode & 0777));
    CHECK(st.st_blocks * 512 < 1024 * 1024, "the file is not sparse: %lld bytes on disk",
          (long long)st.st_blocks * 512);
    hl_line_stats *s = live_row(prog_file, 10);
    CHECK(s && s->alloc_native >= 5000 && s->samples == 1, "row lost in the move");
    CHECK(hl_file_name(prog_file) && strcmp(hl_file_name(prog_file), "/t/prog.py") == 0,
          "file name lost in the move");

    CHECK(hl_tables_to_file(dir) == 0, "moving again into the same directory");
    CHECK(hl_tables_to_file("/tmp") == -1 && errno == EBUSY, "moving into another directory");

    hl_tables_reader *r;
    char why[160];
    rc = hl_tables_read_file(want, &r, why, sizeof why);
    CHECK(rc == 0, "reader refused the file: %s", why);
    if (rc != 0) return;
    hl_tables_info info;
    hl_tables_reader_info(r, &info);
    CHECK(info.pid == (uint32_t)getpid() && info.ppid == (uint32_t)getppid(), "pid %u ppid %u",
          info.pid, info.ppid);
    CHECK(info.clock_origin == hl_clock_origin(), "clock origin");
    CHECK(info.exited == 0 && info.state == 0, "exited %d state %u", info.exited, info.state);
    CHECK(info.current_bytes > 0 && info.peak_bytes >= info.current_bytes, "footprint mirror");
    CHECK(info.timeline > 0, "timeline empty");
    const hl_line_stats *fr = row_of(r, prog_file, 10);
    CHECK(fr && fr->alloc_native == s->alloc_native, "reader: row differs");
    CHECK(hl_tables_reader_file_name(r, prog_file) &&
              strcmp(hl_tables_reader_file_name(r, prog_file), "/t/prog.py") == 0,
          "reader: file name");
    CHECK(hl_tables_reader_file_name(r, 9999) == NULL, "reader: unknown id has a name");
    hl_tables_reader_close(r);
}

/* A second mapping, as a reader in another process has: rows added after the
 * move show there without any call. */
static void test_second_mapping_sees_updates(void) {
    char path[512];
    file_path(path, sizeof path, dir, (long)getpid());
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s", path);
    if (fd < 0) return;
    const hl_tables_mem *m = mmap(NULL, sizeof *m, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(m != MAP_FAILED, "mmap");
    if (m == MAP_FAILED) return;
    uint32_t n0 = __atomic_load_n(&m->hdr.h.used_count, __ATOMIC_ACQUIRE);
    double u0 = m->hdr.h.updated_s;
    uint32_t later = intern("/t/later.py");
    alloc_at(later, 42, 3000);
    uint32_t n1 = __atomic_load_n(&m->hdr.h.used_count, __ATOMIC_ACQUIRE);
    CHECK(n1 == n0 + 1, "used_count %u -> %u", n0, n1);
    const hl_line_stats *s = n1 ? &m->lines[m->used_index[n1 - 1]] : NULL;
    CHECK(s && s->file == later && s->line == 42 && s->alloc_native >= 3000,
          "the new row is not in the mapping");
    uint32_t k = m->file_ids[later];
    CHECK(k && strcmp(m->names + m->file_slots[k - 1].off, "/t/later.py") == 0,
          "the new file name is not in the mapping");
    CHECK(m->hdr.h.next_file_id == later + 1, "next_file_id mirror");
    CHECK(m->hdr.h.updated_s > u0, "updated_s did not move");
    hl_tables_set_state(1);
    CHECK(m->hdr.h.state == 1, "state");
    munmap((void *)m, sizeof *m);
}

/* ---- fork ---------------------------------------------------------------------------------- */
static void test_fork_child_own_file(void) {
    char parent_path[512];
    file_path(parent_path, sizeof parent_path, dir, (long)getpid());
    hl_tables_reader *r;
    char why[160];
    hl_tables_info before, after;
    if (hl_tables_read_file(parent_path, &r, why, sizeof why) != 0) {
        CHECK(0, "read parent: %s", why);
        return;
    }
    hl_tables_reader_info(r, &before);
    hl_tables_reader_close(r);

    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: its own file, the file table as at the fork */
        char c;
        int ok = read(pipefd[0], &c, 1) == 1; /* the parent interned a file meanwhile */
        const char *p = hl_tables_path();
        char want[512];
        file_path(want, sizeof want, dir, (long)getpid());
        if (!ok || !p || strcmp(p, want) != 0) _exit(10);
        if (!hl_file_name(prog_file) || hl_file_name(prog_file + 2) != NULL) _exit(11);
        hl_reset(); /* what Python does in a child */
        hl_tables_set_state(1);
        uint32_t mine = intern("/t/child.py");
        if (mine != prog_file + 2) _exit(12); /* the id the parent gave its own new file */
        alloc_at(mine, 5, 7000);
        alloc_at(prog_file, 11, 9000);
        exit(3);
    }
    uint32_t parents = intern("/t/parent-after-fork.py"); /* id prog_file + 2, in both */
    alloc_at(parents, 1, 100);
    CHECK(write(pipefd[1], "x", 1) == 1, "pipe write");
    int st = 0;
    waitpid(pid, &st, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "child status %d", st);

    if (hl_tables_read_file(parent_path, &r, why, sizeof why) != 0) {
        CHECK(0, "read parent after: %s", why);
        return;
    }
    hl_tables_reader_info(r, &after);
    CHECK(after.lines == before.lines + 1, "parent rows %zu -> %zu (one of its own)", before.lines,
          after.lines);
    CHECK(row_of(r, prog_file, 11) == NULL && row_of(r, prog_file + 2, 5) == NULL,
          "the child wrote into the parent's file");
    CHECK(row_of(r, parents, 1) != NULL, "parent's row after the fork");
    CHECK(!after.exited && after.pid == (uint32_t)getpid(), "the parent's header changed");
    hl_tables_reader_close(r);

    char child_path[512];
    file_path(child_path, sizeof child_path, dir, (long)pid);
    int rc = hl_tables_read_file(child_path, &r, why, sizeof why);
    CHECK(rc == 0, "read child: %s", why);
    if (rc != 0) return;
    hl_tables_info ci;
    hl_tables_reader_info(r, &ci);
    CHECK(ci.pid == (uint32_t)pid && ci.ppid == (uint32_t)getpid(), "child pid %u ppid %u", ci.pid,
          ci.ppid);
    CHECK(ci.exited == 1 && ci.exit_status == 3, "exit(3) recorded as %d/%d", ci.exited,
          ci.exit_status);
    CHECK(ci.state == 1 && ci.clock_origin == hl_clock_origin(), "child state %u", ci.state);
    CHECK(ci.lines == 2, "child rows %zu (want its 2)", ci.lines);
    const hl_line_stats *a = row_of(r, prog_file + 2, 5), *b = row_of(r, prog_file, 11);
    CHECK(a && a->alloc_native >= 7000 && b && b->alloc_native >= 9000, "child rows");
    const char *name = hl_tables_reader_file_name(r, prog_file + 2);
    CHECK(name && strcmp(name, "/t/child.py") == 0, "child's file name %s", name ? name : "(null)");
    CHECK(ci.peak_bytes < 64 << 20, "child peak %lld: the parent's?", (long long)ci.peak_bytes);
    hl_tables_reader_close(r);
    unlink(child_path);
}

/* A child whose file cannot be made (the directory went away) keeps a
 * private copy: it still never writes the parent's file. */
static void test_fork_fallback(void) {
    char moved[300], parent_path[512];
    snprintf(moved, sizeof moved, "%s.moved", dir);
    CHECK(rename(dir, moved) == 0, "rename");
    pid_t pid = fork();
    if (pid == 0) {
        if (hl_tables_path() != NULL) _exit(20);
        alloc_at(prog_file, 77, 4000);
        if (!live_row(prog_file, 77) || !hl_file_name(prog_file)) _exit(21);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(rename(moved, dir) == 0, "rename back");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fallback child status %d", st);
    file_path(parent_path, sizeof parent_path, dir, (long)getpid());
    hl_tables_reader *r;
    char why[160];
    if (hl_tables_read_file(parent_path, &r, why, sizeof why) == 0) {
        CHECK(row_of(r, prog_file, 77) == NULL, "fallback child wrote the parent's file");
        hl_tables_reader_close(r);
    } else {
        CHECK(0, "read parent: %s", why);
    }
}

/* fork, then exec: the new image takes over the file (state 0) its fork
 * left, and refuses one Python had taken over (state 1). */
static void exec_child(const char *mode) {
    pid_t pid = fork();
    if (pid == 0) {
        if (strcmp(mode, "refuse") == 0) hl_tables_set_state(1);
        execl("/proc/self/exe", "test_tables", mode, dir, (char *)NULL);
        _exit(30);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child (%s) status %d", mode, st);
    char path[512], why[160];
    file_path(path, sizeof path, dir, (long)pid);
    hl_tables_reader *r;
    int rc = hl_tables_read_file(path, &r, why, sizeof why);
    CHECK(rc == 0, "read exec'd child's: %s", why);
    if (rc != 0) return;
    hl_tables_info ci;
    hl_tables_reader_info(r, &ci);
    const char *name = hl_tables_reader_file_name(r, HL_FILE_FIRST_REAL);
    if (strcmp(mode, "takeover") == 0) {
        CHECK(ci.state == 1 && ci.exited && ci.exit_status == 0, "state %u exited %d", ci.state,
              ci.exited);
        CHECK(name && strcmp(name, "/t/exec.py") == 0, "the exec'd image's file table");
    } else {
        CHECK(ci.state == 1 && !ci.exited && ci.lines == 0, "refused file changed");
        CHECK(name && strcmp(name, "/t/prog.py") == 0, "refused file's table changed");
    }
    hl_tables_reader_close(r);
    unlink(path);
}

static void test_exec(void) {
    exec_child("takeover");
    exec_child("refuse");
}

/* The exec'd image of exec_child. */
static int exec_main(const char *mode, const char *d) {
    int rc = hl_tables_to_file(d);
    if (strcmp(mode, "refuse") == 0) return rc == -1 && errno == EEXIST ? 0 : 50;
    if (rc != 0 || hl_tables_to_file(d) != 0) return 40;
    hl_tables_set_state(1);
    intern("/t/exec.py");
    exit(0);
}

/* ---- the reader and bad files --------------------------------------------------------------- */
static int copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) return -1;
    static char buf[1 << 16];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) return -1;
    close(in);
    close(out);
    return 0;
}

static void poke(const char *path, size_t off, const void *v, size_t n) {
    int fd = open(path, O_WRONLY);
    if (fd >= 0 && pwrite(fd, v, n, (off_t)off) != (ssize_t)n) CHECK(0, "pwrite");
    if (fd >= 0) close(fd);
}

static void expect_refused(const char *path, const char *what) {
    hl_tables_reader *r = NULL;
    char why[160] = "";
    int rc = hl_tables_read_file(path, &r, why, sizeof why);
    CHECK(rc == -2 && r == NULL && why[0] && !strchr(why, '\n'), "%s: rc %d (%s)", what, rc, why);
    if (rc == 0) hl_tables_reader_close(r);
}

static void test_bad_files(void) {
    char good[512], bad[600];
    file_path(good, sizeof good, dir, (long)getpid());
    snprintf(bad, sizeof bad, "%s/bad", dir);
    hl_tables_reader *r = NULL;
    char why[160];

    CHECK(hl_tables_read_file("/nonexistent/x", &r, why, sizeof why) == -1 &&
              hl_tables_error() == ENOENT,
          "missing file: errno %d", hl_tables_error());

    uint32_t u32;
    uint64_t u64;
    struct {
        const char *what;
        size_t off;
        int size; /* 4 or 8 */
        uint64_t value;
    } cases[] = {
        {"magic", offsetof(hl_tables_mem, hdr.h.magic), 8, 0x1234},
        {"no magic", offsetof(hl_tables_mem, hdr.h.magic), 8, 0},
        {"version", offsetof(hl_tables_mem, hdr.h.version), 4, 99},
        {"used_count", offsetof(hl_tables_mem, hdr.h.used_count), 4, HL_LINE_SLOTS + 1},
        {"names_used", offsetof(hl_tables_mem, hdr.h.names_used), 4, HL_NAME_ARENA + 1},
        {"next_file_id", offsetof(hl_tables_mem, hdr.h.next_file_id), 4, HL_FILE_SLOTS + 1},
        {"tl_n", offsetof(hl_tables_mem, hdr.h.tl_n), 4, HL_TIMELINE_CAP + 1},
        {"state", offsetof(hl_tables_mem, hdr.h.state), 4, 7},
        {"used_index slot", offsetof(hl_tables_mem, used_index[0]), 4, HL_LINE_SLOTS},
        {"file id slot", offsetof(hl_tables_mem, file_ids[HL_FILE_FIRST_REAL]), 4,
         HL_FILE_SLOTS + 1},
        {"name offset", 0, 4, HL_NAME_ARENA - 2}, /* set below: prog_file's slot's off */
        {"row file id", 0, 4, 5000},              /* set below: the first row's file */
        {"duplicate row", offsetof(hl_tables_mem, used_index[1]), 4, 0}, /* = used_index[0] */
    };
    /* offsets that depend on the file's contents */
    const hl_tables_mem *m = NULL;
    int fd = open(good, O_RDONLY);
    if (fd >= 0) {
        m = mmap(NULL, sizeof *m, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
    }
    CHECK(m && m != MAP_FAILED, "map the good file");
    if (!m || m == MAP_FAILED) return;
    uint32_t k = m->file_ids[prog_file];
    cases[10].off = offsetof(hl_tables_mem, file_slots) + (k - 1) * sizeof(hl_file_slot) +
                    offsetof(hl_file_slot, off);
    cases[11].off = offsetof(hl_tables_mem, lines) + m->used_index[0] * sizeof(hl_line_stats) +
                    offsetof(hl_line_stats, file);
    cases[12].value = m->used_index[0];
    munmap((void *)m, sizeof *m);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(copy_file(good, bad) == 0, "copy");
        CHECK(hl_tables_read_file(bad, &r, why, sizeof why) == 0, "the copy is good: %s", why);
        if (r) hl_tables_reader_close(r);
        u32 = (uint32_t)cases[i].value;
        u64 = cases[i].value;
        if (cases[i].size == 4)
            poke(bad, cases[i].off, &u32, 4);
        else
            poke(bad, cases[i].off, &u64, 8);
        expect_refused(bad, cases[i].what);
    }
    /* a name with no NUL where it ends */
    CHECK(copy_file(good, bad) == 0, "copy");
    char garbage[64];
    memset(garbage, 'x', sizeof garbage);
    poke(bad, offsetof(hl_tables_mem, names), garbage, sizeof garbage);
    expect_refused(bad, "name not terminated");
    /* truncated, and empty */
    CHECK(copy_file(good, bad) == 0 && truncate(bad, sizeof(hl_tables_mem) / 2) == 0, "trunc");
    expect_refused(bad, "truncated");
    CHECK(truncate(bad, 0) == 0, "trunc");
    expect_refused(bad, "empty");
    expect_refused(dir, "a directory");
    unlink(bad);
}

int main(int argc, char **argv) {
    if (argc == 3) return exec_main(argv[1], argv[2]);
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof dir, "/tmp/hl-tables-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    hl_set_sampling_interval(1);
    hl_set_seed(1); /* this thread's countdowns drawn anew, with interval 1 */
    hl_set_where(fixed_where);
    hl_set_enabled(1);
    test_move_keeps_rows();
    test_second_mapping_sees_updates();
    test_fork_child_own_file();
    test_fork_fallback();
    test_exec();
    test_bad_files();
    char path[512];
    file_path(path, sizeof path, dir, (long)getpid());
    unlink(path);
    rmdir(dir);
    return check_summary();
}
