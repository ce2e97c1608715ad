#!/usr/bin/env bash
# Provides a private CPython 3.14 or 3.15 on Debian 12 (x86-64) without python.org:
# Debian sid's python3.X packages and the libraries they need are downloaded with
# apt-get (a private package list; nothing is installed system-wide from sid),
# unpacked into a prefix of their own, and the interpreter is pointed at that
# prefix's glibc and libraries (patchelf: ELF interpreter and DT_RPATH). The
# prefix's sysconfig data, pkg-config files and header layout are made to name
# the prefix, so C extensions build against its headers, and `python -m venv`
# gives a venv with pip (Debian's python3.X-venv + pip wheel are included).
#
# Usage: bash tests/sid_python.sh 3.14
#   Prints the path of a working python3.14 as the last (only) line on stdout,
#   installing it first unless it is cached; progress goes to stderr.
#   Cache: ${HEAPLINE_PYTHON_CACHE:-$HOME/.cache/heapline/python}/3.14/ (the
#   prefix; a stamp file written last marks a finished install, so a half-done
#   one is redone). The Debian mirror is the one in this machine's apt sources,
#   or HEAPLINE_DEBIAN_MIRROR (a URL ending in /debian).
# Needs root the first time only if patchelf is missing (it is apt-get installed).
set -euo pipefail

triplet=x86_64-linux-gnu
log() { echo "sid_python: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
    3.[0-9]|3.[0-9][0-9]) v="$1" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "usage: bash $0 3.14|3.15" ;;
esac
[ $# -eq 1 ] || die "usage: bash $0 3.14|3.15"
[ "$(uname -m)" = x86_64 ] || die "only x86-64 is supported"

cache="${HEAPLINE_PYTHON_CACHE:-$HOME/.cache/heapline/python}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd -P)"
prefix="$cache/$v"
py="$prefix/usr/bin/python$v"
stamp="$prefix/.heapline-complete"

ready() {
    [ -f "$stamp" ] && grep -qxF "prefix=$prefix" "$stamp" &&
        "$py" -c 'import sys' >/dev/null 2>&1
}
if ready; then
    echo "$py"
    exit 0
fi

# One installer per version at a time; a second caller waits, then finds it done.
exec 9>"$cache/.$v.lock"
if ! flock -n 9; then
    log "waiting for another install of Python $v to finish"
    flock 9
fi
if ready; then
    echo "$py"
    exit 0
fi

start=$SECONDS
rm -rf "$cache/.$v.tmp."*   # left by an install that was killed (we hold the lock)
work="$(mktemp -d "$cache/.$v.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Runs a command with its output kept aside, shown only when it fails.
quietly() {
    if ! "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        return 1
    fi
}

if ! command -v patchelf >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "patchelf is missing (apt-get install patchelf, as root)"
    log "installing patchelf with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    install_patchelf() { quietly apt-get install -y -q --no-install-recommends patchelf; }
    if ! apt-cache show patchelf >/dev/null 2>&1 || ! install_patchelf; then
        quietly apt-get update -q || die "apt-get update failed"
        install_patchelf || die "apt-get install patchelf failed"
    fi
fi

# The Debian archive of this machine's apt sources (one-line .list files and
# deb822 .sources files alike): the first http(s)/ftp URI whose path ends in
# /debian (not debian-security, not a dated snapshot).
debian_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk '
        function emit(u) { sub(/\/+$/, "", u)
            if (u ~ /^(https?|ftp):\/\/[^ ]*\/debian$/ && !found) { print u; found = 1 } }
        function flush(  i, n, a) { if (enabled) { n = split(uris, a, " ")
            for (i = 1; i <= n; i++) emit(a[i]) } uris = ""; enabled = 1 }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        deb822 && /^[ \t]*$/ { flush(); next }
        deb822 && tolower($1) == "uris:" { $1 = ""; uris = uris " " $0; next }
        deb822 && tolower($1) == "enabled:" { enabled = (tolower($2) != "no"); next }
        !deb822 && $1 == "deb" { sub(/\[[^]]*\]/, ""); emit($2) }
        BEGIN { enabled = 1 }
        END { flush() }
    ' "${files[@]}"
}
mirror="${HEAPLINE_DEBIAN_MIRROR:-$(debian_mirror)}"
mirror="${mirror%/}"
[ -n "$mirror" ] || die "no Debian mirror (a URI ending in /debian) in the apt sources; set HEAPLINE_DEBIAN_MIRROR"
log "reading Debian sid's package lists from $mirror"

# A private apt setup that sees only sid: its own source list, package lists,
# cache and an empty dpkg status; nothing of it touches the system's apt state.
a="$work/apt"
mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts" "$work/debs"
echo "deb $mirror sid main" >"$a/sources.list"
: >"$a/status"
apt_opts=(
    -o Dir::Etc::sourcelist="$a/sources.list" -o Dir::Etc::sourceparts=-
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts="$a/parts"
    -o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/status"
    -o Dir::Cache="$a/cache" -o APT::Architectures=amd64
    -o Acquire::Languages=none -o APT::Sandbox::User=root
)
quietly apt-get -q "${apt_opts[@]}" update || die "apt-get update (sid) failed"

in_sid() { apt-cache "${apt_opts[@]}" show --no-all-versions "$1" >/dev/null 2>&1; }
in_sid "python$v-minimal" || die "Debian sid has no python$v"
packages=(
    "python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" "libpython$v"
    "libpython$v-dev" "python$v" "python$v-dev" "python$v-venv"
    python3-pip-whl python3-setuptools-whl
)
for p in "${packages[@]}"; do
    in_sid "$p" || die "Debian sid has no package $p"
done
# The shared libraries these need, from their Depends (and those of the
# libraries, recursively): Debian names them per soname, so renames follow.
declare -A seen=()
for p in "${packages[@]}"; do seen[$p]=1; done
queue=("${packages[@]}")
while [ ${#queue[@]} -gt 0 ]; do
    deps="$(apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances "${queue[@]}" |
        awk '$1 ~ /^\|?(Pre)?Depends:$/ { print $2 }' | sort -u)"
    queue=()
    for d in $deps; do
        case "$d" in
            \<*|*-dev) continue ;;
            lib*|zlib1g) ;;
            *) continue ;;
        esac
        [ -z "${seen[$d]:-}" ] || continue
        seen[$d]=1
        queue+=("$d")
        packages+=("$d")
    done
done
# Also the C++ runtime for extensions built without their own copy of it.
if [ -z "${seen[libstdc++6]:-}" ] && in_sid libstdc++6; then
    packages+=(libstdc++6)
fi

log "installing Python $v into $prefix: downloading ${#packages[@]} packages"
(cd "$work/debs" && quietly apt-get -q "${apt_opts[@]}" download "${packages[@]}") ||
    die "apt-get download failed"

root="$work/root"
mkdir "$root"
for deb in "$work/debs"/*.deb; do
    dpkg-deb -x "$deb" "$root"
done
dpkg-deb -f "$work/debs/python${v}-minimal_"*.deb Version >"$work/version"

# Absolute links (e.g. sitecustomize.py -> /etc/pythonX.Y/...) point into the prefix.
while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
done < <(find "$root" -type l -lname '/*' -print0)
# Debian's pythonX.Y/pyconfig.h includes <x86_64-linux-gnu/pythonX.Y/pyconfig.h>:
# make that resolve under -I PREFIX/usr/include/pythonX.Y.
inc="$root/usr/include/python$v"
[ -f "$inc/Python.h" ] && [ -f "$root/usr/include/$triplet/python$v/pyconfig.h" ] ||
    die "unexpected header layout in python$v-dev"
mkdir -p "$inc/$triplet"
ln -sfn "../../$triplet/python$v" "$inc/$triplet/python$v"
# Not needed here: documentation and the static libpython archives.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian"
rm -f "$root/usr/lib/python$v/config-"*/libpython*.a

libdir="$prefix/usr/lib/$triplet"
[ -e "$root/usr/lib/$triplet/ld-linux-x86-64.so.2" ] || die "no ld-linux-x86-64.so.2 in sid's libc6"
# DT_RPATH (not RUNPATH): it also serves the lib-dynload modules' own libraries.
patchelf --force-rpath --set-rpath "$libdir" \
    --set-interpreter "$libdir/ld-linux-x86-64.so.2" "$root/usr/bin/python$v"

rm -rf "$prefix"
mv "$root" "$prefix"

# Build-time paths in sysconfig data and pkg-config files name the prefix
# (INCLUDEPY, LIBDIR, WHEEL_PKG_DIR for ensurepip, ...).
quietly "$py" - "$prefix" "$v" "$triplet" <<'EOF' || die "relocating sysconfig data failed"
import glob, json, os, re, sys
prefix, v, triplet = sys.argv[1:]
usr = prefix + "/usr"
keys = """BINDIR BINLIBDEST CONFINCLUDEDIR CONFINCLUDEPY DESTLIB DESTSHARED EXENAME
INCLUDEDIR INCLUDEPY LIBDEST LIBDIR LIBPC LIBPL MACHDESTLIB SCRIPTDIR
WHEEL_PKG_DIR datarootdir""".split()
line = re.compile(r"^(\s*'(?:%s)': ')/usr(?=[/'])" % "|".join(keys), re.M)
lib = f"{usr}/lib/python{v}"
done = 0
for path in glob.glob(f"{lib}/_sysconfigdata_*.py"):
    if os.path.islink(path):
        continue
    with open(path) as f:
        text = f.read()
    text, n = line.subn(lambda m: m.group(1) + usr, text)
    if n < 5:
        sys.exit(f"{path}: only {n} paths relocated")
    with open(path, "w") as f:
        f.write(text)
    done += 1
if not done:
    sys.exit("no _sysconfigdata file")
for path in glob.glob(f"{lib}/_sysconfig_vars_*.json"):
    with open(path) as f:
        data = json.load(f)
    for k in keys:
        val = data.get(k)
        if isinstance(val, str) and (val == "/usr" or val.startswith("/usr/")):
            data[k] = usr + val[4:]
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
for path in glob.glob(f"{usr}/lib/{triplet}/pkgconfig/python-{v}*.pc"):
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(re.sub(r"^prefix=/usr$", f"prefix={usr}", text, flags=re.M))
EOF

log "checking the interpreter"
# Every extension module of the standard library imports, every shared object
# in the process comes from the prefix, and the headers are where sysconfig says.
quietly "$py" - "$prefix" <<'EOF' || die "the installed python$v does not work (see above)"
import glob, importlib, os, sys, sysconfig
prefix = sys.argv[1]
usr = prefix + "/usr"
assert sys.prefix == usr and sys.base_prefix == usr, (sys.prefix, sys.base_prefix)
dynload = f"{usr}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/lib-dynload"
names = {os.path.basename(p).split(".")[0] for p in glob.glob(dynload + "/*.so")}
for name in sorted(names) + "ssl sqlite3 ctypes venv ensurepip lzma bz2 zlib readline _decimal hashlib zoneinfo".split():
    importlib.import_module(name)
import ctypes.util
assert ctypes.util.find_library("c")
with open("/proc/self/maps") as f:
    outside = {l.split()[-1] for l in f if ".so" in l and "/" in l} - {""}
outside = {p for p in outside if p.startswith("/") and not p.startswith(prefix + "/")}
assert not outside, f"libraries loaded from outside {prefix}: {sorted(outside)}"
include = sysconfig.get_paths()["include"]
for d in (include, sysconfig.get_config_var("INCLUDEPY")):
    assert d.startswith(prefix + "/") and os.path.isfile(d + "/Python.h"), d
    assert os.path.isfile(d + f"/{sysconfig.get_config_var('MULTIARCH')}/python{sys.version_info[0]}.{sys.version_info[1]}/pyconfig.h"), d
assert sysconfig.get_config_var("Py_GIL_DISABLED") in (0, None)
EOF
if command -v cc >/dev/null 2>&1; then
    echo '#include <Python.h>' | quietly cc -fsyntax-only -I "$prefix/usr/include/python$v" -x c - ||
        die "Python.h does not compile"
fi
quietly "$py" -m venv "$work/venv" || die "python$v -m venv failed"
quietly "$work/venv/bin/python" -m pip --version || die "the venv has no working pip"
# Bytecode now, so that later (possibly concurrent) users need not write it.
quietly "$py" -m compileall -q -j0 "$prefix/usr/lib/python$v" ||
    log "warning: compileall reported errors"

{
    echo "prefix=$prefix"
    echo "debian-version=$(cat "$work/version")"
    echo "mirror=$mirror"
    printf 'package=%s\n' "${packages[@]}"
} >"$work/stamp"
mv "$work/stamp" "$stamp"
log "Python $(cat "$work/version") ready in $((SECONDS - start)) s"
echo "$py"
