/* A test DLL that allocates through its own import table. Built several times
 * (tests/win/meson.build): against msvcrt.dll (MinGW's default), against the
 * UCRT through api-ms-win-crt-heap-l1-1-0.dll (libucrt.a) and through
 * ucrtbase.dll (libucrtbase.a); the UCRT builds have no MinGW start-up code
 * (it targets msvcrt), hence their own entry point.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#define API __declspec(dllexport)

API void *t_malloc(size_t n) {
    return malloc(n);
}
API void *t_calloc(size_t a, size_t b) {
    return calloc(a, b);
}
API void *t_realloc(void *p, size_t n) {
    return realloc(p, n);
}
API void t_free(void *p) {
    free(p);
}
API void *t_aligned_malloc(size_t n, size_t a) {
    return _aligned_malloc(n, a);
}
API void *t_aligned_realloc(void *p, size_t n, size_t a) {
    return _aligned_realloc(p, n, a);
}
API void t_aligned_free(void *p) {
    _aligned_free(p);
}

/* The present value of this DLL's import slot for malloc. */
extern void *__imp_malloc;
API void *t_slot_malloc(void) {
    return __imp_malloc;
}

/* GetProcAddress through this DLL's own import of it. */
API void *t_getproc(const char *dll, const char *name) {
    FARPROC f = GetProcAddress(GetModuleHandleA(dll), name);
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

/* Ends the process through this DLL's own import of _exit. */
API void t_exit(int status) {
    _exit(status);
}

#ifdef HL_TEST_NO_CRT
BOOL WINAPI hl_test_dll_entry(HINSTANCE h, DWORD reason, LPVOID reserved);
BOOL WINAPI hl_test_dll_entry(HINSTANCE h, DWORD reason, LPVOID reserved) {
    (void)h;
    (void)reason;
    (void)reserved;
    return TRUE;
}
#endif
