#!/usr/bin/env bash
# Runs every test heapline has: the C unit tests of the core (built with UBSan),
# the Windows backend's C tests (cross-compiled with MinGW-w64, run under Wine;
# tests/win/run_wine.sh installs both with apt-get when missing), then, for each
# supported CPython (3.11 to 3.15) that this machine has, a fresh virtual
# environment with heapline installed from this tree and the Python test suite.
# CPython 3.14 and 3.15, which this Debian does not package, come from Debian
# sid through tests/sid_python.sh (installed on first use, then cached).
# Usage: bash tests/run_all.sh [pytest args...]   (HEAPLINE_SKIP_WINE=1: no Wine)
#
# HEAPLINE_PYTHONS="3.11 3.12" limits the versions; HEAPLINE_REQUIRE_ALL=1 makes
# a missing version an error instead of a skip (CI sets it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/build/test-all"
mkdir -p "$out"

# shellcheck source=tests/find_python.sh
source "$root/tests/find_python.sh"

versions="${HEAPLINE_PYTHONS:-$HEAPLINE_SUPPORTED_PYTHONS}"
declare -A interpreter
for v in $versions; do
    interpreter[$v]="$(find_python "$v")"
done
host_python="$(find_python 3.11)"
[ -n "$host_python" ] || host_python="$(command -v python3)"

echo "== C unit tests (UBSan) =="
tools="$out/tools"
if [ ! -x "$tools/bin/meson" ]; then
    "$host_python" -m venv "$tools"
    "$tools/bin/pip" install -q meson ninja
fi
export PATH="$tools/bin:$PATH"
cbuild="$out/c-ubsan"
if [ ! -f "$cbuild/build.ninja" ]; then
    # AddressSanitizer replaces malloc itself, so it cannot run under an
    # allocator interposer; UBSan can.
    meson setup "$cbuild" -Dbuildtype=debugoptimized -Db_sanitize=undefined -Db_lundef=false
fi
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C "$cbuild" --print-errorlogs

# Debian packages the Python tests use: the allocators tests/test_alt_allocators.py
# preloads (jemalloc, mimalloc, tcmalloc) and the headless Chromium that the HTML
# report's tests drive (tests/browser.py). Installed when missing and we are
# root, quietly (apt's own words only when it fails); otherwise those tests skip,
# saying why (or fail, under HEAPLINE_REQUIRE_ALL=1).
packages=(libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 chromium)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing ${missing[*]} =="
        log="$(mktemp)"
        if ! { apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}"; } >"$log" 2>&1; then
            cat "$log" >&2
            exit 1
        fi
        rm -f "$log"
    else
        echo "== not installed (not root): ${missing[*]}; the tests that need them skip =="
    fi
fi

status=0
if [ "${HEAPLINE_SKIP_WINE:-0}" != 1 ]; then
    echo "== Windows backend: C tests under Wine =="
    HEAPLINE_WIN_BUILD="$out/win" bash "$root/tests/win/run_wine.sh" || status=1
fi

for v in $versions; do
    py="${interpreter[$v]}"
    if [ -z "$py" ]; then
        if [ "${HEAPLINE_REQUIRE_ALL:-0}" = 1 ]; then
            echo "error: python$v not found" >&2
            exit 1
        fi
        echo "== Python $v: not found, skipped =="
        continue
    fi
    echo "== Python $v ($py) =="
    venv="$out/venv-$v"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
    "$venv/bin/pip" install -q "$root[test]"
    (cd "$out" && "$venv/bin/python" -m pytest "$root/tests" -p no:cacheprovider "$@") || status=1
done
exit $status
