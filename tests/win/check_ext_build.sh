#!/usr/bin/env bash
# Builds heapline's Python extension (src/ext) for 64-bit Windows with
# MinGW-w64, against the CPython headers of each Python given, to show that it
# compiles there (warnings are errors) and links with nothing but heapline.dll,
# python3XY.dll and Windows' own DLLs. Nothing is run: there is no Windows
# CPython here. The headers' pyconfig.h is replaced by tests/win/python's,
# which states 64-bit Windows' configuration; python3XY.dll's import library
# is made from the symbols the extension asks for.
#
# Usage: bash tests/win/check_ext_build.sh BUILD_WIN PYTHON...
#   BUILD_WIN: a MinGW cross build of the core (run_wine.sh makes one)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
shift
cc=x86_64-w64-mingw32-gcc
status=0
for py in "$@"; do
    ver="$("$py" -c 'import sys; print("%d%d" % sys.version_info[:2])')"
    inc="$("$py" -c 'import sysconfig; print(sysconfig.get_path("include"))')"
    out="$build/ext-check/py$ver"
    rm -rf "$out"
    mkdir -p "$out/include"
    # a copy of the headers, so that Python.h's #include "pyconfig.h" finds ours
    cp -r "$inc"/. "$out/include/"
    cp "$root/tests/win/python/pyconfig.h" "$out/include/pyconfig.h"
    objs=()
    ok=1
    for src in module.c frame_walk.c cpu_sampler.c tables_file.c compile_hook.c \
               platform/windows/timer_thread.c; do
        obj="$out/$(basename "${src%.c}").o"
        if ! "$cc" -std=c11 -O2 -Wall -Wextra -Werror -D_WIN32_WINNT=0x0601 \
            -I"$out/include" -I"$root/src/core" -I"$root/src/ext" \
            -c "$root/src/ext/$src" -o "$obj"; then
            ok=0
        fi
        objs+=("$obj")
    done
    if [ $ok = 1 ]; then
        # python3XY.dll exports only what its headers declare PyAPI_FUNC or
        # PyAPI_DATA (dllimport here): a Python symbol used without __imp_
        # would not link against the real DLL
        plain="$(x86_64-w64-mingw32-nm -u "${objs[@]}" | awk '{print $NF}' | { grep -E '^_?Py' || true; } |
            sort -u | tr '\n' ' ')"
        if [ -n "$plain" ]; then
            echo "not exported by python$ver.dll (no PyAPI_FUNC/PyAPI_DATA): $plain"
            ok=0
        fi
    fi
    if [ $ok = 1 ]; then
        # python3XY.dll's import library: every Py*/_Py* symbol the objects use
        x86_64-w64-mingw32-nm -u "${objs[@]}" | awk '{print $NF}' |
            grep -E '^(__imp_)?_?Py' | sed 's/^__imp_//' | sort -u > "$out/symbols.txt"
        { echo "LIBRARY python$ver.dll"; echo "EXPORTS"; cat "$out/symbols.txt"; } > "$out/python.def"
        x86_64-w64-mingw32-dlltool -d "$out/python.def" -l "$out/libpython$ver.a"
        if ! "$cc" -shared -o "$out/_core.pyd" "${objs[@]}" "$build/heapline.dll" \
            "$out/libpython$ver.a" -Wl,--no-undefined; then
            ok=0
        fi
    fi
    if [ $ok = 1 ]; then
        deps="$(x86_64-w64-mingw32-objdump -p "$out/_core.pyd" | awk '/DLL Name:/ {print $3}' |
            sort | tr '\n' ' ')"
        echo "ok: _core.pyd for CPython ${ver:0:1}.${ver:1} (imports: $deps)"
    else
        echo "FAIL: _core.pyd for CPython ${ver:0:1}.${ver:1}"
        status=1
    fi
done
exit $status
