/* The live-summary channel on Windows (interface in shm.h): a pagefile-backed
 * file mapping named `Local\heapline-<pid>` holds the block, and the named
 * auto-reset event `Local\heapline-<pid>-updated` is set after each
 * publication so a reader can wait instead of polling.
 */
#include "shm.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>
#include <string.h>

static void names(uint32_t pid, wchar_t map[64], wchar_t ev[64]) {
    swprintf(map, 64, L"Local\\heapline-%u", (unsigned)pid);
    swprintf(ev, 64, L"Local\\heapline-%u-updated", (unsigned)pid);
}

/* A half-made channel's parts, released; returns -1 for the caller to pass on. */
static int release(HANDLE mapping, void *view, HANDLE event) {
    if (view) UnmapViewOfFile(view);
    if (event) CloseHandle(event);
    CloseHandle(mapping);
    return -1;
}

int hl_shm_create(hl_shm *s, uint32_t pid) {
    memset(s, 0, sizeof *s);
    wchar_t map[64], ev[64];
    names(pid, map, ev);
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  sizeof(hl_shm_block), map);
    if (m == NULL) return -1;
    void *view = MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(hl_shm_block));
    HANDLE e = CreateEventW(NULL, FALSE, FALSE, ev);
    if (view == NULL || e == NULL) return release(m, view, e);
    s->block = view;
    s->mapping = m;
    s->event = e;
    s->owner = 1;
    s->pid = pid;
    hl_shm_stamp_block(s->block, pid);
    return 0;
}

void hl_shm_publish(hl_shm *s, const hl_shm_summary *d) {
    if (!s->block) return;
    hl_shm_write_block(s->block, d);
    SetEvent(s->event);
}

int hl_shm_open(hl_shm *s, uint32_t pid) {
    memset(s, 0, sizeof *s);
    wchar_t map[64], ev[64];
    names(pid, map, ev);
    HANDLE m = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, map);
    if (m == NULL) return -1;
    void *view = MapViewOfFile(m, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(hl_shm_block));
    HANDLE e = OpenEventW(SYNCHRONIZE, FALSE, ev);
    if (view == NULL || ((hl_shm_block *)view)->magic != HL_SHM_MAGIC) return release(m, view, e);
    s->block = view;
    s->mapping = m;
    s->event = e; /* may be NULL: hl_shm_wait then polls */
    s->pid = pid;
    return 0;
}

int hl_shm_read(hl_shm *s, hl_shm_summary *out) {
    return s->block ? hl_shm_read_block(s->block, out) : -1;
}

int hl_shm_wait(hl_shm *s, uint64_t seen, int timeout_ms) {
    if (!s->block) return 0;
    ULONGLONG end = GetTickCount64() + (ULONGLONG)(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        uint64_t now = atomic_load_explicit(&s->block->seq, memory_order_acquire);
        if (now != seen && !(now & 1)) return 1;
        ULONGLONG t = GetTickCount64();
        if (t >= end) return 0;
        DWORD left = (DWORD)(end - t);
        if (s->event)
            WaitForSingleObject(s->event, left < 50 ? left : 50);
        else
            Sleep(left < 5 ? left : 5);
    }
}

void hl_shm_close(hl_shm *s) {
    if (s->block) UnmapViewOfFile(s->block);
    if (s->event) CloseHandle(s->event);
    if (s->mapping) CloseHandle(s->mapping);
    memset(s, 0, sizeof *s);
}

void hl_shm_publish_current(hl_shm *s) {
    hl_footprint fp;
    hl_footprint_read(&fp);
    hl_shm_summary d = {fp.current, fp.peak, hl_samples_taken(), 0};
    hl_shm_publish(s, &d);
}
