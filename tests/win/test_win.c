/* Windows tests of heapline's core: IAT patching of this executable and of
 * DLLs built against msvcrt and the UCRT, exact counts for every hooked C
 * runtime function, aligned block sizes, DLLs loaded after the hooks went on,
 * unpatching, 3 and 8 threads at once, the Python-allocator layer driven by a stub
 * "python" DLL, the shared-memory channel between two processes, the CPU
 * clocks, and the tables in a file (with a child's exit status). Prints a
 * FAIL line per failed check and a closing "N passed, N failed" line; exits
 * non-zero when a check failed.
 *
 * Run with no arguments; "shm-child <pid>" is the second process of the
 * shared-memory test, "exit-child ..." and "tables-child <dir>" those of the
 * _exit and tables tests.
 */
#include "cpu_clock.h"
#include "heapline.h"
#include "../check.h"
#include "../cpu_clock_check.h"
#include "shm.h"
#include "tables_mem.h"

#include <errno.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* ---- counters ------------------------------------------------------------------ */
static hl_counter base[HL_HOOK_COUNT];
static void mark(void) {
    hl_counters_read(base);
}
static hl_counter since(int hook) {
    hl_counter now[HL_HOOK_COUNT];
    hl_counters_read(now);
    hl_counter d = {now[hook].calls - base[hook].calls, now[hook].bytes - base[hook].bytes};
    return d;
}
static int64_t fp_now(void) {
    hl_footprint f;
    hl_footprint_read(&f);
    return f.current;
}

#define CHECK_COUNT(label, hook, ncalls, nbytes)                                                   \
    do {                                                                                           \
        hl_counter c_ = since(hook);                                                               \
        CHECK(c_.calls == (ncalls) && c_.bytes == (nbytes),                                        \
              "%s %s: %llu calls %llu bytes, want %llu %llu", label, hl_hook_name(hook),           \
              (unsigned long long)c_.calls, (unsigned long long)c_.bytes,                          \
              (unsigned long long)(ncalls), (unsigned long long)(nbytes));                         \
    } while (0)

/* ---- one allocating module -------------------------------------------------------- */
typedef struct {
    const char *label;
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    void *(*aligned_malloc)(size_t, size_t);
    void *(*aligned_realloc)(void *, size_t, size_t);
    void (*aligned_free)(void *);
    void *(*slot_malloc)(void);
} alloc_api;

/* This executable's own calls (through its import table). */
extern void *__imp_malloc;
static void *e_malloc(size_t n) {
    return malloc(n);
}
static void *e_calloc(size_t a, size_t b) {
    return calloc(a, b);
}
static void *e_realloc(void *p, size_t n) {
    return realloc(p, n);
}
static void e_free(void *p) {
    free(p);
}
static void *e_aligned_malloc(size_t n, size_t a) {
    return _aligned_malloc(n, a);
}
static void *e_aligned_realloc(void *p, size_t n, size_t a) {
    return _aligned_realloc(p, n, a);
}
static void e_aligned_free(void *p) {
    _aligned_free(p);
}
static void *e_slot_malloc(void) {
    return __imp_malloc;
}

static const alloc_api exe_api = {"exe",        e_malloc,         e_calloc,          e_realloc,
                                  e_free,       e_aligned_malloc, e_aligned_realloc, e_aligned_free,
                                  e_slot_malloc};

static wchar_t exe_dir[MAX_PATH];

static HMODULE load(const char *name) {
    wchar_t path[MAX_PATH];
    swprintf(path, MAX_PATH, L"%ls\\%hs", exe_dir, name);
    return LoadLibraryW(path);
}

static int dll_api(const char *name, alloc_api *api) {
    HMODULE h = load(name);
    if (!h) {
        printf("cannot load %s: error %lu\n", name, GetLastError());
        return 0;
    }
    api->label = name;
#define GET(field)                                                                                 \
    do {                                                                                           \
        FARPROC f_ = GetProcAddress(h, "t_" #field);                                               \
        memcpy(&api->field, &f_, sizeof f_);                                                       \
    } while (0)
    GET(malloc);
    GET(calloc);
    GET(realloc);
    GET(free);
    GET(aligned_malloc);
    GET(aligned_realloc);
    GET(aligned_free);
    GET(slot_malloc);
#undef GET
    return api->malloc && api->aligned_free && api->slot_malloc;
}

/* Every hooked function once, with exact counts and footprint. */
static void exercise(const alloc_api *a) {
    const char *l = a->label;
    int64_t fp0 = fp_now();
    mark();
    void *p = a->malloc(1000);
    CHECK(fp_now() - fp0 == 1000, "%s: footprint +%lld after malloc(1000)", l,
          (long long)(fp_now() - fp0));
    void *q = a->calloc(10, 30);
    q = a->realloc(q, 5000);
    a->free(p);
    a->free(q);
    CHECK_COUNT(l, HL_HOOK_MALLOC, 1, 1000);
    CHECK_COUNT(l, HL_HOOK_CALLOC, 1, 300);
    CHECK_COUNT(l, HL_HOOK_REALLOC, 1, 5000);
    CHECK_COUNT(l, HL_HOOK_FREE, 2, 6000);

    mark();
    int64_t fp1 = fp_now();
    void *x = a->aligned_malloc(777, 64);
    CHECK(((uintptr_t)x & 63) == 0, "%s: aligned block %p", l, x);
    CHECK(fp_now() - fp1 == 777, "%s: footprint +%lld after _aligned_malloc(777)", l,
          (long long)(fp_now() - fp1));
    x = a->aligned_realloc(x, 1500, 64);
    CHECK(fp_now() - fp1 == 1500, "%s: footprint +%lld after _aligned_realloc(1500)", l,
          (long long)(fp_now() - fp1));
    a->aligned_free(x);
    CHECK_COUNT(l, HL_HOOK_ALIGNED_MALLOC, 1, 777);
    CHECK_COUNT(l, HL_HOOK_ALIGNED_REALLOC, 1, 1500);
    CHECK_COUNT(l, HL_HOOK_ALIGNED_FREE, 1, 1500);
    CHECK_COUNT(l, HL_HOOK_MALLOC, 0, 0);
    CHECK_COUNT(l, HL_HOOK_FREE, 0, 0);
    CHECK(fp_now() == fp0, "%s: footprint %lld, want %lld after freeing all", l,
          (long long)fp_now(), (long long)fp0);

    /* realloc(p, 0) frees; a free of NULL is not counted */
    mark();
    void *r = a->malloc(64);
    r = a->realloc(r, 0);
    a->free(NULL);
    a->aligned_free(NULL);
    CHECK_COUNT(l, HL_HOOK_FREE, 1, 64);
    CHECK_COUNT(l, HL_HOOK_ALIGNED_FREE, 0, 0);
    CHECK(fp_now() == fp0, "%s: footprint after realloc(p, 0)", l);
}

/* GetProcAddress as it was before any hook went on (main sets it). */
static FARPROC(WINAPI *plain_GetProcAddress)(HMODULE, LPCSTR);

static void *real_fn_of(const char *dll, const char *name) {
    HMODULE h = GetModuleHandleA(dll);
    FARPROC f = h ? plain_GetProcAddress(h, name) : NULL;
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

static void *real_malloc_of(const char *dll) {
    return real_fn_of(dll, "malloc");
}

/* ---- GetProcAddress --------------------------------------------------------------------- */
static void *exe_getproc(const char *dll, const char *name) {
    FARPROC f = GetProcAddress(GetModuleHandleA(dll), name); /* this program's import */
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

/* While hooks are on, a C runtime's allocator looked up by name is the
 * wrapper, whoever looks it up; other names and ordinals are untouched. */
static void test_getprocaddress(HMODULE ucrt_dll) {
    void *(*t_getproc)(const char *, const char *) = NULL;
    FARPROC tg = GetProcAddress(ucrt_dll, "t_getproc");
    memcpy(&t_getproc, &tg, sizeof tg);
    CHECK(t_getproc != NULL, "getproc: t_ucrt.dll exports t_getproc");
    if (!t_getproc) return;
    void *m = exe_getproc("msvcrt.dll", "malloc"), *f = exe_getproc("msvcrt.dll", "free");
    CHECK(m && m != real_malloc_of("msvcrt.dll"), "getproc: msvcrt malloc is the wrapper");
    void *um = t_getproc("ucrtbase.dll", "malloc"), *uf = t_getproc("ucrtbase.dll", "free");
    CHECK(um && um != real_malloc_of("ucrtbase.dll"), "getproc: ucrtbase malloc (from a DLL)");
    CHECK(exe_getproc("msvcrt.dll", "strlen") == real_fn_of("msvcrt.dll", "strlen"),
          "getproc: other names are untouched");
    CHECK(exe_getproc("kernel32.dll", "GetTickCount") == real_fn_of("kernel32.dll", "GetTickCount"),
          "getproc: other modules are untouched");
    if (!m || !f || !um || !uf) return;
    void *(*mf)(size_t), *(*umf)(size_t);
    void (*ff)(void *), (*uff)(void *);
    memcpy(&mf, &m, sizeof m);
    memcpy(&ff, &f, sizeof f);
    memcpy(&umf, &um, sizeof um);
    memcpy(&uff, &uf, sizeof uf);
    /* a C runtime no module imports from yet: registered on the lookup
     * (Wine ships msvcr120.dll; a Windows machine may not have it) */
    HMODULE old_crt = LoadLibraryA("msvcr120.dll");
    if (old_crt) {
        void *om = exe_getproc("msvcr120.dll", "malloc"), *of = exe_getproc("msvcr120.dll", "free");
        CHECK(om && om != real_malloc_of("msvcr120.dll") && om != m,
              "getproc: msvcr120 malloc is a wrapper of its own");
        if (om && of) {
            void *(*omf)(size_t);
            void (*off)(void *);
            memcpy(&omf, &om, sizeof om);
            memcpy(&off, &of, sizeof of);
            mark();
            off(omf(777));
            CHECK_COUNT("getproc msvcr120", HL_HOOK_MALLOC, 1, 777);
            CHECK_COUNT("getproc msvcr120", HL_HOOK_FREE, 1, 777);
        }
    } else {
        printf(
            "note: no msvcr120.dll here; the registration through GetProcAddress is not tested\n");
    }
    mark();
    void *a = mf(1234), *b = umf(4321);
    CHECK_COUNT("getproc", HL_HOOK_MALLOC, 2, 1234 + 4321);
    ff(a);
    uff(b);
    CHECK_COUNT("getproc", HL_HOOK_FREE, 2, 1234 + 4321);
}

/* ---- threads ------------------------------------------------------------------------ */
#define MAX_THREADS 8
#define ITERS       20000

static DWORD WINAPI thread_main(void *arg) {
    const alloc_api *a = arg;
    for (int i = 0; i < ITERS; i++) {
        void *p = a->malloc((size_t)(i % 512) + 1);
        void *q = a->aligned_malloc((size_t)(i % 100) + 1, 32);
        a->free(p);
        a->aligned_free(q);
    }
    return 0;
}

/* n threads at once. The first call runs 3, on thread records never used
 * before (a count that is no multiple of 4: a record's first slow path once
 * took -2^61 for each counter, and 4 of them wrapped around to nothing). */
static void test_threads(const alloc_api *a, int n) {
    int64_t fp0 = fp_now();
    mark();
    HANDLE th[MAX_THREADS];
    for (int i = 0; i < n; i++)
        th[i] = CreateThread(NULL, 0, thread_main, (void *)a, 0, NULL);
    WaitForMultipleObjects((DWORD)n, th, TRUE, INFINITE);
    for (int i = 0; i < n; i++)
        CloseHandle(th[i]);
    uint64_t bytes = 0, abytes = 0;
    for (int i = 0; i < ITERS; i++) {
        bytes += (uint64_t)(i % 512) + 1;
        abytes += (uint64_t)(i % 100) + 1;
    }
    CHECK_COUNT("threads", HL_HOOK_MALLOC, (uint64_t)n * ITERS, n * bytes);
    CHECK_COUNT("threads", HL_HOOK_FREE, (uint64_t)n * ITERS, n * bytes);
    CHECK_COUNT("threads", HL_HOOK_ALIGNED_MALLOC, (uint64_t)n * ITERS, n * abytes);
    CHECK_COUNT("threads", HL_HOOK_ALIGNED_FREE, (uint64_t)n * ITERS, n * abytes);
    CHECK(fp_now() == fp0, "threads: footprint %lld, want %lld", (long long)fp_now(),
          (long long)fp0);
}

/* ---- the Python-allocator layer ------------------------------------------------------- */
static uint32_t site_file;
static int where(hl_site *out) {
    out->file = site_file;
    out->line = 7;
    return HL_WHERE_FOUND;
}

static const hl_line_stats *find_line(hl_line_stats *rows, size_t n, uint32_t file, int32_t line) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].file == file && rows[i].line == line) return &rows[i];
    return NULL;
}

static hl_line_stats rows[4096];

static void sym(HMODULE h, const char *name, void *out) {
    FARPROC f = GetProcAddress(h, name);
    memcpy(out, &f, sizeof f);
}

static void test_pyalloc(const alloc_api *native) {
    HMODULE h = load("t_pystub.dll");
    CHECK(h != NULL, "cannot load t_pystub.dll");
    if (!h) return;
    void (*get)(int, hl_pyalloc *);
    void (*set)(int, hl_pyalloc *);
    void *(*pymalloc)(size_t);
    void *(*pyrealloc)(void *, size_t);
    void (*pyfree)(void *);
    sym(h, "PyMem_GetAllocator", &get);
    sym(h, "PyMem_SetAllocator", &set);
    sym(h, "PyMem_Malloc", &pymalloc);
    sym(h, "PyMem_Realloc", &pyrealloc);
    sym(h, "PyMem_Free", &pyfree);

    static hl_pyalloc prev, hook; /* the hook's ctx points into the core */
    get(1, &prev);
    hl_pyalloc_wrap(1, &prev, &hook, 0);
    set(1, &hook);

    int profiled = 0;
    site_file = hl_file_intern("win_test.py", 11, &profiled);
    hl_reset();
    hl_set_sampling_interval(1); /* every allocation is a sample ... */
    hl_set_seed(12345);          /* ... from now on (this thread redraws its countdown) */
    hl_set_where(where);
    hl_set_enabled(1);
    uint64_t s0 = hl_samples_taken();
    mark();
    void *p = pymalloc(1000);
    hl_set_enabled(0);
    uint64_t s1 = hl_samples_taken();
    CHECK_COUNT("pyalloc", HL_HOOK_PY_MALLOC, 1, 1000);
    /* the native layer below sees the call (exact counters, footprint) ... */
    CHECK_COUNT("pyalloc", HL_HOOK_MALLOC, 1, 1000);
    /* ... but the bytes are sampled once, as Python */
    CHECK(s1 - s0 == 1, "pyalloc: %llu samples, want 1", (unsigned long long)(s1 - s0));
    size_t n = hl_stats_read(rows, 4096);
    const hl_line_stats *r = find_line(rows, n, site_file, 7);
    CHECK(r && r->alloc_python > 999.0 && r->alloc_python < 1001.0 && r->alloc_native == 0.0,
          "pyalloc: line python %.1f native %.1f", r ? r->alloc_python : -1.0,
          r ? r->alloc_native : -1.0);

    /* a native allocation on the same line counts as native */
    hl_set_enabled(1);
    void *q = native->malloc(3000);
    hl_set_enabled(0);
    n = hl_stats_read(rows, 4096);
    r = find_line(rows, n, site_file, 7);
    CHECK(r && r->alloc_native > 2999.0 && r->alloc_native < 3001.0 && r->alloc_python < 1001.0,
          "pyalloc: line native %.1f python %.1f", r ? r->alloc_native : -1.0,
          r ? r->alloc_python : -1.0);
    native->free(q);

    mark();
    p = pyrealloc(p, 4000);
    pyfree(p);
    CHECK_COUNT("pyalloc", HL_HOOK_PY_REALLOC, 1, 4000);
    CHECK_COUNT("pyalloc", HL_HOOK_REALLOC, 1, 4000);
    CHECK_COUNT("pyalloc", HL_HOOK_FREE, 1, 4000);

    set(1, &prev);
    hl_set_where(NULL);
    hl_set_sampling_interval(65536);
    hl_reset();
}

/* ---- shared memory between two processes ------------------------------------------------ */
static int shm_child(uint32_t pid) {
    hl_shm s;
    int ok = -1;
    for (int i = 0; i < 200 && ok != 0; i++) {
        ok = hl_shm_open(&s, pid);
        if (ok != 0) Sleep(25);
    }
    if (ok != 0) return 2;
    if (s.event == NULL) return 3;
    hl_shm_summary d;
    uint64_t seen = 0;
    for (int i = 0; i < 100; i++) {
        if (!hl_shm_wait(&s, seen, 200)) continue;
        if (hl_shm_read(&s, &d) != 0) return 4;
        seen = d.seq;
        if (d.fp_current == 12345 && d.fp_peak == 67890 && d.samples == 42 && d.seq >= 2 &&
            !(d.seq & 1)) {
            hl_shm_close(&s);
            return 0;
        }
    }
    hl_shm_close(&s);
    return 5;
}

static void test_shm(void) {
    hl_shm s;
    uint32_t pid = GetCurrentProcessId();
    CHECK(hl_shm_create(&s, pid) == 0, "shm: create failed (%lu)", GetLastError());
    hl_shm_summary first = {1, 2, 3, 0};
    hl_shm_publish(&s, &first);
    hl_shm_summary back;
    CHECK(hl_shm_read(&s, &back) == 0 && back.fp_current == 1 && back.seq == 2,
          "shm: read own block seq %llu", (unsigned long long)back.seq);

    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 64];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    swprintf(cmd, MAX_PATH + 64, L"\"%ls\" shm-child %u", exe, (unsigned)pid);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    BOOL started = CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    CHECK(started, "shm: CreateProcess failed (%lu)", GetLastError());
    if (!started) {
        hl_shm_close(&s);
        return;
    }
    hl_shm_summary d = {12345, 67890, 42, 0};
    DWORD code = 1;
    for (int i = 0; i < 300; i++) { /* up to ~30 s: the child may start slowly */
        hl_shm_publish(&s, &d);
        if (WaitForSingleObject(pi.hProcess, 100) == WAIT_OBJECT_0) break;
    }
    if (!GetExitCodeProcess(pi.hProcess, &code) || code == STILL_ACTIVE) {
        TerminateProcess(pi.hProcess, 9);
        code = 9;
    }
    CHECK(code == 0, "shm: child exit code %lu", code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    hl_shm_publish_current(&s);
    hl_footprint f;
    hl_footprint_read(&f);
    CHECK(hl_shm_read(&s, &back) == 0 && back.fp_peak == f.peak, "shm: publish_current");
    hl_shm_close(&s);
    hl_shm r;
    CHECK(hl_shm_open(&r, pid) != 0, "shm: still open after the publisher closed");
}

/* ---- _exit (os._exit) ------------------------------------------------------------------------ */
/* Child: sets an exit hook that writes the status to `marker`, then ends
 * through `how`'s import of _exit: "exe" (this program's, from msvcrt.dll) or
 * a test DLL's (t_ucrt.dll: api-ms-win-crt-runtime-l1-1-0.dll; t_ucrtbase.dll;
 * t_msvcrt.dll); "off" sets the hook and clears it again first. */
static wchar_t exit_marker[MAX_PATH];

static void write_marker(int status) {
    HANDLE f = CreateFileW(exit_marker, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    if (f == INVALID_HANDLE_VALUE) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", status);
    DWORD done;
    WriteFile(f, buf, (DWORD)n, &done, NULL);
    CloseHandle(f);
}

static int exit_child(const char *how, const char *marker) {
    MultiByteToWideChar(CP_UTF8, 0, marker, -1, exit_marker, MAX_PATH);
    hl_set_exit_hook(write_marker);
    if (strcmp(how, "off") == 0) {
        hl_set_exit_hook(NULL);
        _exit(5);
    }
    if (strcmp(how, "exe") == 0) _exit(7);
    HMODULE m = load(how);
    void (*t_exit)(int) = NULL;
    FARPROC f = m ? GetProcAddress(m, "t_exit") : NULL;
    memcpy(&t_exit, &f, sizeof f);
    if (!t_exit) return 3;
    t_exit(9);
    return 4; /* not reached */
}

/* Runs `test_win.exe exit-child how marker`; returns its exit code and the
 * status the hook wrote (-1: no marker). */
static DWORD run_exit_child(const char *how, int *hook_status) {
    wchar_t exe[MAX_PATH], cmd[3 * MAX_PATH];
    char marker[MAX_PATH];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    snprintf(marker, sizeof marker, "exit_marker_%lu_%s.txt", GetCurrentProcessId(), how);
    DeleteFileA(marker);
    swprintf(cmd, 3 * MAX_PATH, L"\"%ls\" exit-child %hs %hs", exe, how, marker);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    DWORD code = 99;
    if (CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        if (WaitForSingleObject(pi.hProcess, 60000) != WAIT_OBJECT_0)
            TerminateProcess(pi.hProcess, 98);
        GetExitCodeProcess(pi.hProcess, &code);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    *hook_status = -1;
    FILE *f = fopen(marker, "r");
    if (f) {
        if (fscanf(f, "%d", hook_status) != 1) *hook_status = -2;
        fclose(f);
        DeleteFileA(marker);
    }
    return code;
}

extern void *__imp__exit;

static void test_exit_hook(void) {
    void *slot0 = __imp__exit;
    hl_set_exit_hook(write_marker);
    CHECK(__imp__exit != slot0, "exit: this program's _exit import is patched");
    hl_set_exit_hook(NULL);
    CHECK(__imp__exit == slot0, "exit: and restored when the hook is cleared");

    static const struct {
        const char *how;
        DWORD code;
        int hook_status;
    } cases[] = {
        {"exe", 7, 7},  {"t_msvcrt.dll", 9, 9}, {"t_ucrt.dll", 9, 9}, {"t_ucrtbase.dll", 9, 9},
        {"off", 5, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        DWORD code = run_exit_child(cases[i].how, &st);
        CHECK(code == cases[i].code && st == cases[i].hook_status,
              "exit through %s: exit code %lu (want %lu), hook saw %d (want %d)", cases[i].how,
              code, cases[i].code, st, cases[i].hook_status);
    }
}

/* ---- the tables in a file ------------------------------------------------------------------ */
static void no_exit_callback(int status) {
    (void)status;
}

/* Child: its tables into `dir`, one row, then _exit(7) through the patched import. */
static int tables_child(const char *dir) {
    if (hl_tables_to_file(dir) != 0) return 60;
    int profiled;
    uint32_t f = hl_file_intern("C:\\child.py", 11, &profiled);
    hl_cpu_charge(f, 3, 0.25, 0, 0);
    hl_set_exit_hook(no_exit_callback);
    _exit(7);
}

static const hl_line_stats *reader_row(const hl_tables_reader *r, uint32_t file, int line) {
    hl_tables_info info;
    hl_tables_reader_info(r, &info);
    for (size_t i = 0; i < info.lines; i++) {
        const hl_line_stats *s = hl_tables_reader_line(r, i);
        if (s->file == file && s->line == line) return s;
    }
    return NULL;
}

static void test_tables_file(void) {
    char tmp[MAX_PATH], dir[2 * MAX_PATH], path[2 * MAX_PATH + 32], why[160];
    /* a new directory under %TEMP% (pids come back soon under Wine); what is
     * left in it goes with this process (FILE_SHARE_DELETE, below) */
    if (!GetTempPathA(sizeof tmp, tmp)) strcpy(tmp, ".\\");
    snprintf(dir, sizeof dir, "%shl_tables_%lu_%llu", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64());
    BOOL made = CreateDirectoryA(dir, NULL);
    DWORD made_err = GetLastError();
    CHECK(made, "tables: mkdir %s (%lu)", dir, made_err);
    int profiled;
    uint32_t f = hl_file_intern("C:\\prog.py", 10, &profiled);
    hl_cpu_charge(f, 1, 0.5, 0, 0);
    CHECK(hl_tables_path() == NULL, "tables: in a file before the move");
    CHECK(hl_tables_to_file(dir) == 0, "tables: to_file failed, errno %d", hl_tables_error());
    snprintf(path, sizeof path, "%s\\tables-%lu", dir, GetCurrentProcessId());
    CHECK(hl_tables_path() && strcmp(hl_tables_path(), path) == 0, "tables: path %s",
          hl_tables_path() ? hl_tables_path() : "(null)");
    CHECK(hl_tables_to_file(dir) == 0, "tables: the same directory again");
    CHECK(hl_tables_to_file("elsewhere") == -1 && hl_tables_error() == EBUSY,
          "tables: another directory");

    /* a second view, as a reader has: a row added later shows there */
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
    HANDLE map =
        h != INVALID_HANDLE_VALUE ? CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL) : NULL;
    const hl_tables_mem *m = map ? MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(m != NULL, "tables: second view (%lu)", GetLastError());
    if (m) {
        uint32_t n0 = m->hdr.h.used_count;
        hl_cpu_charge(f, 2, 0.5, 0, 0);
        CHECK(m->hdr.h.used_count == n0 + 1, "tables: used_count %u -> %u in the view", n0,
              m->hdr.h.used_count);
        CHECK(m->hdr.h.magic == HL_TABLES_MAGIC && m->hdr.h.pid == GetCurrentProcessId(),
              "tables: header");
        UnmapViewOfFile(m);
    }
    if (map) CloseHandle(map);
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);

    hl_tables_reader *r;
    int rc = hl_tables_read_file(path, &r, why, sizeof why);
    CHECK(rc == 0, "tables: reader refused: %s", why);
    if (rc == 0) {
        const hl_line_stats *s = reader_row(r, f, 2);
        CHECK(s && s->cpu_python == 0.5 && reader_row(r, f, 1), "tables: rows");
        const char *name = hl_tables_reader_file_name(r, f);
        CHECK(name && strcmp(name, "C:\\prog.py") == 0, "tables: name");
        hl_tables_reader_close(r);
    }

    /* a child process: its own file, its exit status */
    wchar_t exe[MAX_PATH], cmd[3 * MAX_PATH + 64];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    swprintf(cmd, 3 * MAX_PATH + 64, L"\"%ls\" tables-child \"%hs\"", exe, dir);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    DWORD code = 99;
    if (CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        if (WaitForSingleObject(pi.hProcess, 60000) != WAIT_OBJECT_0)
            TerminateProcess(pi.hProcess, 98);
        GetExitCodeProcess(pi.hProcess, &code);
        char child[2 * MAX_PATH + 32];
        snprintf(child, sizeof child, "%s\\tables-%lu", dir, pi.dwProcessId);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
        rc = hl_tables_read_file(child, &r, why, sizeof why);
        CHECK(code == 7 && rc == 0, "tables: child exit %lu, its file: %s", code, why);
        if (rc == 0) {
            hl_tables_info info;
            hl_tables_reader_info(r, &info);
            CHECK(info.exited == 1 && info.exit_status == 7 && info.lines == 1,
                  "tables: child exited %d status %d lines %zu", info.exited, info.exit_status,
                  info.lines);
            hl_tables_reader_close(r);
        }
        DeleteFileA(child);
    } else {
        CHECK(0, "tables: CreateProcess (%lu)", GetLastError());
    }

    /* a truncated copy is refused */
    char bad[2 * MAX_PATH + 32];
    snprintf(bad, sizeof bad, "%s\\bad", dir);
    HANDLE b = CreateFileA(bad, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    if (b != INVALID_HANDLE_VALUE) {
        DWORD done;
        WriteFile(b, "HEPTABL1", 8, &done, NULL);
        CloseHandle(b);
    }
    CHECK(hl_tables_read_file(bad, &r, why, sizeof why) == -2, "tables: truncated file read");
    DeleteFileA(bad);
    DeleteFileA(path);     /* gone when the view is (FILE_SHARE_DELETE) */
    RemoveDirectoryA(dir); /* fails while the file is still there: left in %TEMP% */
}

/* ---- file filter: Windows paths ------------------------------------------------------------ */
static int profiled_name(const char *name) {
    int profiled = -1;
    hl_file_intern(name, strlen(name), &profiled);
    return profiled;
}

static void test_filter_paths(void) {
    hl_set_filter("", "C:\\Python311\\Lib\\\n<frozen ", '\n');
    CHECK(profiled_name("C:\\Python311\\Lib\\os.py") == 0, "filter: exact prefix");
    CHECK(profiled_name("c:\\python311\\lib\\json\\decoder.py") == 0, "filter: prefix, other case");
    CHECK(profiled_name("C:/Python311/Lib/re/_parser.py") == 0, "filter: prefix, forward slashes");
    CHECK(profiled_name("C:\\Users\\me\\prog.py") == 1, "filter: a user's file is profiled");
    CHECK(profiled_name("C:\\Python311\\Library.py") == 1, "filter: not a prefix at a separator");
    hl_set_filter("MyProj", "", '\n');
    CHECK(profiled_name("D:\\src\\myproj\\main.py") == 1, "filter: --profile-only, other case");
    CHECK(profiled_name("D:\\src\\other\\main.py") == 0, "filter: --profile-only excludes others");
    hl_set_filter("", "", '\n');
}

/* ---- CPU clocks --------------------------------------------------------------------------- */
static volatile LONG spinner_stop;

static DWORD WINAPI spinner(void *arg) {
    (void)arg;
    volatile double x = 0;
    while (!spinner_stop)
        x += 1.0;
    return 0;
}

static void sleep_300ms(void) {
    Sleep(300);
}

static void test_cpu_clock(void) {
    int64_t m0 = hl_clock_mono_ns();
    DWORD tid = 0;
    HANDLE th = CreateThread(NULL, 0, spinner, NULL, 0, &tid);
    CHECK(th != NULL, "cpu: start a spinning thread");
    int64_t used = check_spinning_thread(tid, sleep_300ms);
    /* the busy clock is fine-grained where the system counts thread cycles
     * (Windows does; Wine's QueryThreadCycleTime fails, so there it falls
     * back to GetThreadTimes): 1 ms of spinning shows */
    ULONG64 cycles;
    if (QueryThreadCycleTime(GetCurrentThread(), &cycles)) {
        DWORD self = GetCurrentThreadId();
        int64_t s0 = hl_cpu_thread_busy_ns(self);
        spin_for(0.001);
        int64_t s1 = hl_cpu_thread_busy_ns(self);
        CHECK(s1 - s0 > 200000 && s1 - s0 < 100000000,
              "cpu: busy clock over 1 ms of spinning: %lld ns", (long long)(s1 - s0));
    } else {
        printf("note: QueryThreadCycleTime fails here; the busy clock is GetThreadTimes\n");
    }
    spinner_stop = 1;
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    int gone = 0;
    for (int i = 0; i < 1000 && !gone; i++) {
        gone = hl_cpu_thread_ns(tid) == -1;
        if (!gone) Sleep(1);
    }
    CHECK(gone, "cpu: a thread that ended reads as -1");
    int64_t gone_cpu, gone_busy;
    hl_cpu_thread_read(tid, &gone_cpu, &gone_busy);
    CHECK(gone_cpu == -1 && gone_busy == -1, "cpu: and so do both its clocks in one reading");

    check_own_and_process_clocks(used, m0);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "shm-child") == 0)
        return shm_child((uint32_t)strtoul(argv[2], NULL, 10));
    setvbuf(stdout, NULL, _IONBF, 0);

    plain_GetProcAddress = GetProcAddress; /* this program's import, not yet patched */
    GetModuleFileNameW(NULL, exe_dir, MAX_PATH);
    wchar_t *slash = wcsrchr(exe_dir, L'\\');
    if (slash) *slash = 0;
    if (argc == 4 && strcmp(argv[1], "exit-child") == 0) return exit_child(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "tables-child") == 0) return tables_child(argv[2]);

    alloc_api msvcrt_api, ucrt_api, ucrtbase_api, late_api, unload_api;
    int have_msvcrt = dll_api("t_msvcrt.dll", &msvcrt_api);
    int have_ucrt = dll_api("t_ucrt.dll", &ucrt_api);
    int have_ucrtbase = dll_api("t_ucrtbase.dll", &ucrtbase_api);
    CHECK(have_msvcrt && have_ucrt && have_ucrtbase, "test DLLs missing");
    if (!(have_msvcrt && have_ucrt && have_ucrtbase)) goto done;

    void *exe_slot0 = exe_api.slot_malloc(), *msvcrt_slot0 = msvcrt_api.slot_malloc();
    void *ucrt_slot0 = ucrt_api.slot_malloc(), *ucrtbase_slot0 = ucrtbase_api.slot_malloc();
    CHECK(exe_slot0 == real_malloc_of("msvcrt.dll"), "exe imports malloc from msvcrt.dll");
    CHECK(ucrtbase_slot0 == real_malloc_of("ucrtbase.dll"),
          "t_ucrtbase imports malloc from ucrtbase.dll");
    CHECK(hl_got_slots_into_heapline() == 0, "slots into heapline before start");
    CHECK(!hl_native_hooks_active(), "hooks active before start");

    /* ---- patching */
    CHECK(hl_inprocess_start() == 1, "start");
    CHECK(hl_native_hooks_active(), "hooks not active after start");
    size_t patched = hl_got_slots_into_heapline();
    CHECK(patched >= 4 * 7, "only %zu slots patched", patched);
    CHECK(exe_api.slot_malloc() != exe_slot0, "exe slot not patched");
    CHECK(msvcrt_api.slot_malloc() != msvcrt_slot0, "msvcrt DLL slot not patched");
    CHECK(ucrt_api.slot_malloc() != ucrt_slot0, "UCRT DLL slot not patched");
    CHECK(ucrtbase_api.slot_malloc() != ucrtbase_slot0, "ucrtbase DLL slot not patched");
    CHECK(msvcrt_api.slot_malloc() != ucrt_api.slot_malloc(),
          "msvcrt and UCRT imports share one wrapper");

    {
        DWORD e = 0;
        SetLastError(4321);
        void *p = exe_api.malloc(10);
        e = GetLastError();
        exe_api.free(p);
        CHECK(e == 4321, "malloc hook changed GetLastError to %lu", e);
    }

    exercise(&exe_api);
    exercise(&msvcrt_api);
    exercise(&ucrt_api);
    exercise(&ucrtbase_api);

    /* ---- DLLs loaded while hooks are on */
    CHECK(dll_api("t_late.dll", &late_api), "load t_late.dll");
    CHECK(late_api.slot_malloc() != real_malloc_of("msvcrt.dll"), "late DLL not patched");
    exercise(&late_api);
    CHECK(dll_api("t_unload.dll", &unload_api), "load t_unload.dll");
    CHECK(unload_api.slot_malloc() != real_malloc_of("msvcrt.dll"), "t_unload.dll not patched");
    FreeLibrary(GetModuleHandleA("t_unload.dll"));
    CHECK(GetModuleHandleA("t_unload.dll") == NULL, "t_unload.dll still loaded");

    test_getprocaddress(GetModuleHandleA("t_ucrt.dll"));

    /* ---- threads, Python layer */
    test_threads(&exe_api, 3);
    test_threads(&exe_api, MAX_THREADS);
    test_threads(&ucrt_api, MAX_THREADS);
    test_pyalloc(&msvcrt_api);

    /* ---- unpatching */
    hl_inprocess_stop();
    CHECK(!hl_native_hooks_active(), "hooks active after stop");
    CHECK(hl_got_slots_into_heapline() == 0, "%zu slots still into heapline",
          hl_got_slots_into_heapline());
    CHECK(exe_api.slot_malloc() == exe_slot0, "exe slot not restored");
    CHECK(msvcrt_api.slot_malloc() == msvcrt_slot0, "msvcrt DLL slot not restored");
    CHECK(ucrt_api.slot_malloc() == ucrt_slot0, "UCRT DLL slot not restored");
    CHECK(ucrtbase_api.slot_malloc() == ucrtbase_slot0, "ucrtbase DLL slot not restored");
    CHECK(late_api.slot_malloc() == real_malloc_of("msvcrt.dll"), "late DLL slot not restored");
    CHECK(exe_getproc("msvcrt.dll", "malloc") == real_malloc_of("msvcrt.dll"),
          "GetProcAddress hands out the real malloc again");
    mark();
    void *p = msvcrt_api.malloc(100);
    msvcrt_api.free(p);
    p = ucrt_api.malloc(100);
    ucrt_api.free(p);
    CHECK_COUNT("after stop", HL_HOOK_MALLOC, 0, 0);
    CHECK_COUNT("after stop", HL_HOOK_FREE, 0, 0);

    /* ---- on again: the same counts */
    CHECK(hl_inprocess_start() == 1, "restart");
    CHECK(hl_got_slots_into_heapline() >= patched, "restart patched %zu slots, first %zu",
          hl_got_slots_into_heapline(), patched);
    exercise(&exe_api);
    hl_inprocess_stop();

    test_shm();
    test_cpu_clock();
    test_exit_hook();
    test_filter_paths();
    test_tables_file();

done:
    return check_summary();
}
