/* A pyconfig.h for 64-bit Windows CPython (3.11-3.15), used only to compile
 * heapline's extension module with MinGW-w64 against this machine's CPython
 * headers (check_ext_build.sh). It states what Windows' own pyconfig.h
 * states about the platform: LLP64 type sizes, Windows threads, and a shared
 * python3XY.dll whose symbols are imported. Nothing built with it is run.
 */
#ifndef HEAPLINE_TEST_PYCONFIG_H
#define HEAPLINE_TEST_PYCONFIG_H

#include <io.h>
#include <stdint.h>
#include <sys/types.h>

#define MS_WIN64
#define MS_WIN32
#define MS_WINDOWS
#define NT_THREADS
#define WITH_THREAD
#define Py_ENABLE_SHARED 1
#define HAVE_DECLSPEC_DLL
#define PY_SUPPORT_TIER 1
#define NTDDI_VERSION 0x06010000
#define Py_WINVER 0x0601
#define Py_NTDDI NTDDI_VERSION

/* LLP64: long is 4 bytes, pointers 8 */
#define SIZEOF_SHORT 2
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_LONG_DOUBLE 16
#define SIZEOF_FLOAT 4
#define SIZEOF_DOUBLE 8
#define SIZEOF_VOID_P 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_TIME_T 8
#define SIZEOF_OFF_T 4
#define SIZEOF_FPOS_T 8
#define SIZEOF_WCHAR_T 2
#define SIZEOF_HKEY 8
#define SIZEOF__BOOL 1
#define ALIGNOF_SIZE_T 8
#define ALIGNOF_MAX_ALIGN_T 8
#define HAVE_LARGEFILE_SUPPORT

typedef int64_t Py_ssize_t;
#define HAVE_PY_SSIZE_T 1
#define PY_SSIZE_T_MAX INT64_MAX
/* MinGW-w64's <sys/types.h> has pid_t (MSVC's has not: Windows' own
 * pyconfig.h defines it as int there) */
#define SIZEOF_PID_T 8

#define PY_LONG_LONG long long
#define PY_LLONG_MIN LLONG_MIN
#define PY_LLONG_MAX LLONG_MAX
#define PY_ULLONG_MAX ULLONG_MAX

#define DOUBLE_IS_LITTLE_ENDIAN_IEEE754 1
#define PY_FORMAT_SIZE_T "I64"

#define HAVE_WCHAR_H 1
#define HAVE_STDARG_PROTOTYPES 1
#define HAVE_DYNAMIC_LOADING 1
#define HAVE_ERRNO_H 1
#define HAVE_FCNTL_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STDDEF_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_DIRECT_H 1
#define HAVE_PROCESS_H 1
#define HAVE_IO_H 1
#define HAVE_CLOCK 1
#define HAVE_STRFTIME 1
#define HAVE_PUTENV 1
#define HAVE_FTIME 1
#define HAVE_COPYSIGN 1
#define HAVE_ROUND 1
#define HAVE_HYPOT 1
#define HAVE_ERF 1
#define HAVE_ERFC 1
#define HAVE_DECL_TZNAME 1
#define HAVE_UTIME_H 1
#define STDC_HEADERS 1
#define WORD_BIT 32
#define USE_SOCKET 1
#define Py_USING_UNICODE
#define HAVE_USABLE_WCHAR_T

#define PREFIX ""
#define EXEC_PREFIX ""
#define PYTHONPATH L".\\DLLs;.\\lib"

#endif
