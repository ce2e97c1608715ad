# Sourced by tests/run_all.sh and tests/win/run_wine.sh.
#
# HEAPLINE_SUPPORTED_PYTHONS: the CPython versions heapline supports and tests.
# find_python V prints the path of a working pythonV, or nothing: one on PATH,
# else under pyenv, else (for versions this Debian does not package: 3.14 and
# later) a private interpreter from Debian sid set up by tests/sid_python.sh,
# which installs it on first use and caches it.
HEAPLINE_SUPPORTED_PYTHONS="3.11 3.12 3.13 3.14 3.15"

find_python() {
    local v="$1" p
    for p in "$(command -v "python$v" 2>/dev/null || true)" \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
        if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import sys' >/dev/null 2>&1; then
            echo "$p"
            return
        fi
    done
    case "$v" in
        3.1[4-9])
            if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && command -v apt-get >/dev/null; then
                p="$(bash "$(dirname "${BASH_SOURCE[0]}")/sid_python.sh" "$v" | tail -n 1)" || p=""
                if [ -n "$p" ] && [ -x "$p" ]; then
                    echo "$p"
                fi
            fi
            ;;
    esac
}
