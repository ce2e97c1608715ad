#!/usr/bin/env bash
# Cross-compiles heapline's core and its Windows C tests with MinGW-w64 and
# runs them under Wine, then checks that the Python extension builds for
# Windows (check_ext_build.sh); exits non-zero if anything failed. Installs the
# toolchain and Wine with apt-get only when they are missing (needs root).
#
# Usage: bash tests/win/run_wine.sh          (build dir: build-win, or $HEAPLINE_WIN_BUILD)
# The Wine prefix lives inside the build tree ($build/wineprefix); its first
# initialisation (wineboot --init) takes a minute or so.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${HEAPLINE_WIN_BUILD:-$root/build-win}"

have_wine64() { command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ]; }
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || ! command -v wine >/dev/null 2>&1 ||
    ! have_wine64; then
    echo "== installing MinGW-w64 and Wine =="
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y gcc-mingw-w64-x86-64-win32 wine wine64
fi
if ! command -v meson >/dev/null 2>&1 || ! command -v ninja >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y meson ninja-build
fi

# Wine without a display, without the Gecko/Mono install prompts, quiet.
export WINEPREFIX="$build/wineprefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export DISPLAY=
if command -v wine64 >/dev/null 2>&1; then wine=wine64; else wine=wine; fi

mkdir -p "$build"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "== initialising the Wine prefix $WINEPREFIX =="
    mkdir -p "$WINEPREFIX"
    timeout 600 "$wine" wineboot --init || true
    timeout 300 wineserver -w || true
fi

echo "== cross build ($build) =="
# (meson's sanity check runs a test program through the cross file's
# exe_wrapper, wine, so the prefix above is set up first)
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --cross-file "$root/cross/mingw-w64-x86_64.txt"
fi
ninja -C "$build"

echo "== tests under Wine =="
status=0
(cd "$build/tests/win" && timeout 600 "$wine" test_win.exe) || status=$?
timeout 60 wineserver -k >/dev/null 2>&1 || true

# The Python extension for Windows, against each CPython's headers found here
# (compiled and linked only: tests/win/check_ext_build.sh says why).
echo "== Python extension for Windows: build check =="
# shellcheck source=tests/find_python.sh
source "$root/tests/find_python.sh"
pythons=()
for v in $HEAPLINE_SUPPORTED_PYTHONS; do
    p="$(find_python "$v")"
    if [ -n "$p" ]; then pythons+=("$p"); fi
done
if [ ${#pythons[@]} = 0 ]; then
    echo "no supported CPython found: build check skipped"
else
    bash "$root/tests/win/check_ext_build.sh" "$build" "${pythons[@]}" || status=1
fi
exit $status
