/* The real mmap and munmap, for heapline's own mappings (the tables file,
 * the reader's copies): they are never counted as the program's. The POSIX
 * OS's hooks define them (linux/native_hooks.c), since they are what stands
 * in front of the C library's. */
#ifndef HEAPLINE_POSIX_REAL_MMAP_H
#define HEAPLINE_POSIX_REAL_MMAP_H

#include <stddef.h>
#include <sys/types.h>

void *hl_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int hl_real_munmap(void *addr, size_t len);

#endif
