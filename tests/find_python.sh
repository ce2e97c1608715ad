# Sourced by tests/run_all.sh and tests/win/run_wine.sh: find_python V prints
# the path of a working pythonV (on PATH, else under pyenv), or nothing.
find_python() {
    local v="$1" p
    for p in "$(command -v "python$v" 2>/dev/null || true)" \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
        if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import sys' >/dev/null 2>&1; then
            echo "$p"
            return
        fi
    done
}
