/* The check counter of the C test programs (tests/c, tests/posix, tests/win):
 * CHECK(cond, fmt, ...) counts one check and, when it fails, prints a FAIL
 * line with the place, the condition and the message; check_summary() prints
 * the closing "N passed, N failed" line the test scripts look for and returns
 * the exit status. Header-only: each test program is one translation unit.
 */
#ifndef HL_TEST_CHECK_H
#define HL_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int passed, failed;

/* MinGW's printf follows its stdio choice (MinGW's own, or msvcrt's) */
#ifdef __MINGW_PRINTF_FORMAT
#define HL_CHECK_PRINTF __MINGW_PRINTF_FORMAT
#else
#define HL_CHECK_PRINTF printf
#endif

__attribute__((format(HL_CHECK_PRINTF, 5, 6))) static inline void
check_at(int ok, const char *file, int line, const char *cond, const char *fmt, ...) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s:%d: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

#define CHECK(cond, ...) check_at((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
