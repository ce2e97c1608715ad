/* The live-summary channel on POSIX systems (interface in shm.h): the block
 * lives in shm_open("/heapline-<pid>"); there is no event, a reader polls the
 * block's sequence number (no futex, so the same code works on macOS).
 */
#include "shm.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void shm_name(uint32_t pid, char out[64]) {
    snprintf(out, 64, "/heapline-%u", (unsigned)pid);
}

static int map_fd(hl_shm *s, int fd, uint32_t pid) {
    void *p = mmap(NULL, sizeof(hl_shm_block), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return -1;
    }
    s->block = p;
    s->fd = fd;
    s->pid = pid;
    return 0;
}

int hl_shm_create(hl_shm *s, uint32_t pid) {
    memset(s, 0, sizeof *s);
    s->fd = -1;
    char name[64];
    shm_name(pid, name);
    int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return -1;
    if (ftruncate(fd, sizeof(hl_shm_block)) != 0) {
        close(fd);
        shm_unlink(name);
        return -1;
    }
    if (map_fd(s, fd, pid) != 0) {
        shm_unlink(name);
        return -1;
    }
    s->owner = 1;
    hl_shm_stamp_block(s->block, pid);
    return 0;
}

void hl_shm_publish(hl_shm *s, const hl_shm_summary *d) {
    if (s->block) hl_shm_write_block(s->block, d);
}

int hl_shm_open(hl_shm *s, uint32_t pid) {
    memset(s, 0, sizeof *s);
    s->fd = -1;
    char name[64];
    shm_name(pid, name);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) return -1;
    if (map_fd(s, fd, pid) != 0) return -1;
    if (s->block->magic != HL_SHM_MAGIC) {
        hl_shm_close(s);
        return -1;
    }
    return 0;
}

int hl_shm_read(hl_shm *s, hl_shm_summary *out) {
    return s->block ? hl_shm_read_block(s->block, out) : -1;
}

int hl_shm_wait(hl_shm *s, uint64_t seen, int timeout_ms) {
    if (!s->block) return 0;
    struct timespec step = {0, 2 * 1000 * 1000};
    for (int waited = 0;; waited += 2) {
        uint64_t now = atomic_load_explicit(&s->block->seq, memory_order_acquire);
        if (now != seen && !(now & 1)) return 1;
        if (waited >= timeout_ms) return 0;
        nanosleep(&step, NULL);
    }
}

void hl_shm_close(hl_shm *s) {
    if (s->block) munmap(s->block, sizeof(hl_shm_block));
    if (s->fd >= 0) close(s->fd);
    if (s->owner) {
        char name[64];
        shm_name(s->pid, name);
        shm_unlink(name);
    }
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

void hl_shm_publish_current(hl_shm *s) {
    hl_footprint fp;
    hl_footprint_read(&fp);
    hl_shm_summary d = {fp.current, fp.peak, hl_samples_taken(), 0};
    hl_shm_publish(s, &d);
}
