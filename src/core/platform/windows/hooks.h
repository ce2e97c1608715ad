/* Internal interface between the Windows C-runtime hooks (crt_hooks.c) and
 * the import-table patching (iat_patch.c): which imports are hooked, and the
 * wrapper that replaces one import of one C runtime.
 */
#ifndef HEAPLINE_WINDOWS_HOOKS_H
#define HEAPLINE_WINDOWS_HOOKS_H

#include "thread_state.h"

#include <stddef.h>

/* The hooked C-runtime functions, in the order of hl_crt_fn_names. */
enum hl_crt_fn {
    HL_CRT_MALLOC,
    HL_CRT_CALLOC,
    HL_CRT_REALLOC,
    HL_CRT_FREE,
    HL_CRT_ALIGNED_MALLOC,
    HL_CRT_ALIGNED_REALLOC,
    HL_CRT_ALIGNED_FREE,
    HL_CRT_NFN
};

/* Index of a hooked C-runtime import name, or -1. */
int hl_crt_fn_index(const char *name);
/* 1 when `dll` (any case) is a C runtime whose allocators are hooked:
 * msvcrt.dll, msvcr*.dll, ucrtbase.dll, api-ms-win-crt-heap-l1-1-0.dll. */
int hl_crt_is_runtime_dll(const char *dll);
/* The wrapper for function `fn` of the C runtime that `original` (an import
 * slot's present value, or what GetProcAddress returned) belongs to,
 * registering that runtime on first use. NULL when the runtime lacks what the
 * wrapper needs or the table is full. Thread-safe; calls into the loader. */
void *hl_crt_wrapper_for(int fn, void *original);
/* Bytes in use in every heap of the process now (the in-process baseline). */
int64_t hl_crt_heap_in_use(void);
/* Aligned blocks whose size was not recorded (side table full). */
uint64_t hl_crt_aligned_dropped(void);

#endif
