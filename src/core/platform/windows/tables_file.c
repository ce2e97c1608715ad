/* The tables in a file on Windows (tables_mem.h): hl_tables_to_file creates
 * dir\tables-<pid> (CREATE_NEW, sparse where the file system can), maps a
 * view of it and moves hl_T there; the reader's private copy of a file
 * (tables_reader.c checks it). No fork here; a file of the same pid is
 * never taken over.
 */
#include "stats_table.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <winioctl.h>

#define DIR_MAX  HL_TABLES_DIR_MAX
#define PATH_CAP HL_TABLES_PATH_CAP

static hl_spinlock move_lock = HL_SPINLOCK_INIT;

uint32_t hl_tables_os_pid(void) {
    return (uint32_t)GetCurrentProcessId();
}

static int errno_of(DWORD err) {
    switch (err) {
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return EEXIST;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
        return EINVAL;
    default:
        return EIO;
    }
}

/* UTF-8 path to UTF-16; 0 when it is not valid UTF-8 or too long. */
static int wide(const char *path, wchar_t out[PATH_CAP]) {
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, out, PATH_CAP) > 0;
}

static hl_tables_mem *map_new(const wchar_t *path) {
    HANDLE f = CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) {
        hl_tables_set_error(errno_of(GetLastError()));
        return NULL;
    }
    DWORD ret;
    DeviceIoControl(f, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &ret, NULL); /* where it can */
    uint64_t size = sizeof(hl_tables_mem);
    HANDLE map =
        CreateFileMappingW(f, NULL, PAGE_READWRITE, (DWORD)(size >> 32), (DWORD)size, NULL);
    void *p = map ? MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, (SIZE_T)size) : NULL;
    DWORD err = GetLastError();
    if (map) CloseHandle(map); /* the view keeps the mapping */
    CloseHandle(f);
    if (p == NULL) {
        DeleteFileW(path);
        hl_tables_set_error(errno_of(err));
    }
    return p;
}

static int move_locked(const char *dir, size_t n) {
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%.*s\\tables-%lu", (int)n, dir,
             (unsigned long)GetCurrentProcessId());
    if (hl_T != &hl_tables_static) { /* hl_T changes only under move_lock */
        if (strcmp(path, hl_tables_path_buf) == 0) return 0;
        hl_tables_set_error(EBUSY);
        return -1;
    }
    wchar_t wpath[PATH_CAP];
    if (!wide(path, wpath)) {
        hl_tables_set_error(EINVAL);
        return -1;
    }
    hl_tables_mem *m = map_new(wpath);
    if (m == NULL) return -1;
    hl_lock(&hl_tables_lock);
    hl_tables_stamp(m, hl_tables_os_pid(), 0);
    hl_tables_copy_locked(m, hl_T, 1);
    m->hdr.h.state = hl_T->hdr.h.state;
    hl_tables_publish(m);
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

/* ---- the reader's copy ------------------------------------------------------ */
int hl_tables_os_load(const char *path, size_t extra, void **buf, char *why, size_t why_len) {
    wchar_t wpath[PATH_CAP];
    if (!wide(path, wpath)) {
        hl_tables_set_error(EINVAL);
        return -1;
    }
    HANDLE f =
        CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) {
        hl_tables_set_error(errno_of(GetLastError()));
        return -1;
    }
    LARGE_INTEGER size;
    size.QuadPart = -1;
    if (GetFileType(f) != FILE_TYPE_DISK || !GetFileSizeEx(f, &size) ||
        (uint64_t)size.QuadPart != sizeof(hl_tables_mem)) {
        CloseHandle(f);
        snprintf(why, why_len, "%lld bytes, not the %llu of a tables file",
                 (long long)size.QuadPart, (unsigned long long)sizeof(hl_tables_mem));
        return -2;
    }
    size_t len = sizeof(hl_tables_mem) + extra;
    char *p = VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p == NULL) {
        CloseHandle(f);
        hl_tables_set_error(ENOMEM);
        return -1;
    }
    size_t got = 0;
    while (got < sizeof(hl_tables_mem)) {
        size_t want = sizeof(hl_tables_mem) - got;
        DWORD r = 0;
        BOOL ok = ReadFile(f, p + got, want > (1u << 30) ? (1u << 30) : (DWORD)want, &r, NULL);
        if (!ok || r == 0) {
            DWORD err = ok ? 0 : GetLastError();
            CloseHandle(f);
            VirtualFree(p, 0, MEM_RELEASE);
            if (err) {
                hl_tables_set_error(errno_of(err));
                return -1;
            }
            snprintf(why, why_len, "the file shrank while it was read");
            return -2;
        }
        got += r;
    }
    CloseHandle(f);
    *buf = p;
    return 0;
}

void hl_tables_os_unload(void *buf, size_t extra) {
    (void)extra;
    VirtualFree(buf, 0, MEM_RELEASE);
}
