#!/usr/bin/env bash
# `make install` into temporary DESTDIRs, then a program built and run
# through pkg-config against the installed files (tests/tool/pcdemo.c).
# Run from the repository root:  tests/tool/install.sh --build B
# Prints PASS/FAIL lines for tests/run.sh.
set -u

build=
while [ $# -gt 0 ]; do
    case $1 in
    --build) [ $# -ge 2 ] || { echo "FAIL install:arguments: --build needs a value"; exit 1; }
        build=$2; shift 2 ;;
    *) echo "FAIL install:arguments: unknown argument '$1'"; exit 1 ;;
    esac
done
[ -n "$build" ] || { echo "FAIL install:arguments: --build is required"; exit 1; }

root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass() { echo "PASS install:$1"; }
fail() { echo "FAIL install:$1: $2"; }

# A make inside `make check` must not try to use the parent's jobserver;
# command-line variables (SAN=1, ...) still pass through MAKEFLAGS.
MAKEFLAGS=$(sed -E 's/--jobserver-(auth|fds)=[^ ]*//g; s/(^| )-j[0-9]*//g' <<<"${MAKEFLAGS:-}")
export MAKEFLAGS
pvmake() { make --no-print-directory -s B="$build" "$@" >"$work/make.log" 2>&1; }

# ------------------------------------------------------------------------
# Default PREFIX (/usr/local) below DESTDIR: the files, exactly.
d=$work/dest
if ! pvmake install DESTDIR="$d"; then
    fail make_install "make install failed: $(tail -n 5 "$work/make.log")"
    exit 0
fi
pass make_install
p=$d/usr/local
want=$( {
    echo bin/pvlink
    echo lib/libpvlink.a
    echo lib/libpvlink.so
    echo lib/libpvlink.so.1
    echo lib/pkgconfig/pvlink.pc
    echo share/man/man1/pvlink.1
    for h in "$root"/include/pvlink/*.h; do echo "include/pvlink/$(basename "$h")"; done
} | sort)
got=$(cd "$p" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
[ "$got" = "$want" ] && pass installed_files ||
    fail installed_files "$(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')"
[ -x "$p/bin/pvlink" ] && [ "$(readlink "$p/lib/libpvlink.so")" = libpvlink.so.1 ] &&
    readelf -d "$p/lib/libpvlink.so.1" | grep -q 'SONAME.*\[libpvlink.so.1\]' &&
    pass library_links || fail library_links "mode, symlink or soname wrong"
for h in "$root"/include/pvlink/*.h; do
    cmp -s "$h" "$p/include/pvlink/$(basename "$h")" || fail headers "$(basename "$h") differs"
done && pass headers
"$p/bin/pvlink" --version >"$work/v" 2>&1 && pass installed_binary_runs ||
    fail installed_binary_runs "$(cat "$work/v")"
MANWIDTH=80 man -l "$p/share/man/man1/pvlink.1" 2>&1 | grep -q '^NAME' &&
    pass installed_man || fail installed_man "man -l cannot render the installed page"

# ------------------------------------------------------------------------
# pkg-config, relocated into the DESTDIR with --define-prefix.
export PKG_CONFIG_LIBDIR=$p/lib/pkgconfig PKG_CONFIG_PATH=
pc() { pkg-config --define-prefix "$@" pvlink; }
version=$(sed -n 's/^#define PVT_VERSION "\(.*\)"/\1/p' "$root/tools/version.h")
[ "$(pc --modversion)" = "$version" ] && pass pc_version ||
    fail pc_version "$(pc --modversion 2>&1), expected $version"
cflags=$(pc --cflags | sed "s/ *$//") libs=$(pc --libs | sed "s/ *$//")
[ "$cflags" = "-I$p/include -mno-red-zone -mincoming-stack-boundary=3" ] && pass pc_cflags ||
    fail pc_cflags "'$cflags'"
[ "$libs" = "-L$p/lib -lpvlink" ] && pass pc_libs || fail pc_libs "'$libs'"

# A library built with sanitizers (make SAN=1) needs them in its users too.
san=
nm "$p/lib/libpvlink.a" 2>/dev/null | grep -q ' U __asan_' &&
    san="-fsanitize=address,undefined"

expected="rom: pvlink.kernel 1.0 accepted
plan: success; 1 site(s), 1 inline, 0 refused
site 0 (read_tsc): b8 34 12 00 00 0f 1f 40 00
native read_tsc ran"
# shellcheck disable=SC2086 # word splitting of pkg-config's output is meant
if cc $san $cflags -o "$work/pcdemo" "$root/tests/tool/pcdemo.c" $libs 2>"$work/cc.log"; then
    out=$(LD_LIBRARY_PATH=$p/lib "$work/pcdemo" 2>&1)
    [ "$out" = "$expected" ] && pass pc_program_shared || fail pc_program_shared "$out"
    readelf -d "$work/pcdemo" | grep -q 'NEEDED.*\[libpvlink.so.1\]' &&
        pass pc_program_needs_soname || fail pc_program_needs_soname "no NEEDED libpvlink.so.1"
else
    fail pc_program_shared "cc failed: $(head -n 5 "$work/cc.log")"
fi
# shellcheck disable=SC2086,SC2046
if cc $san $cflags -o "$work/pcdemo-static" "$root/tests/tool/pcdemo.c" \
    "$p/lib/libpvlink.a" $(pc --static --libs-only-l | sed 's/-lpvlink//') \
    2>"$work/cc.log"; then
    out=$("$work/pcdemo-static" 2>&1)
    [ "$out" = "$expected" ] && pass pc_program_static || fail pc_program_static "$out"
else
    fail pc_program_static "cc failed: $(head -n 5 "$work/cc.log")"
fi

# A program using the runtime (the README's minimal example), built only
# from what pkg-config says, linked and unlinked at run time.
if cc $san -std=c11 -O2 $cflags -o "$work/minimal" "$root/examples/minimal.c" $libs \
    2>"$work/cc.log"; then
    out=$(LD_LIBRARY_PATH=$p/lib "$work/minimal" 2>&1)
    [ "$out" = "$(cat "$root/examples/minimal.expected")" ] && pass pc_runtime_program ||
        fail pc_runtime_program "$out"
else
    fail pc_runtime_program "cc failed: $(head -n 5 "$work/cc.log")"
fi

# ------------------------------------------------------------------------
# Another PREFIX, and uninstall.
d2=$work/dest2
# shellcheck disable=SC2016 # ${prefix} is pkg-config's, not the shell's
if pvmake install DESTDIR="$d2" PREFIX=/opt/pvl; then
    [ -x "$d2/opt/pvl/bin/pvlink" ] && [ -f "$d2/opt/pvl/share/man/man1/pvlink.1" ] &&
        grep -qx 'prefix=/opt/pvl' "$d2/opt/pvl/lib/pkgconfig/pvlink.pc" &&
        grep -qx 'libdir=${prefix}/lib' "$d2/opt/pvl/lib/pkgconfig/pvlink.pc" &&
        pass prefix || fail prefix "$(find "$d2" -type f | head -n 5)"
else
    fail prefix "make install PREFIX=/opt/pvl failed: $(tail -n 5 "$work/make.log")"
fi
if pvmake uninstall DESTDIR="$d"; then
    left=$(find "$d" \( -type f -o -type l \))
    [ -z "$left" ] && pass uninstall || fail uninstall "left: $left"
else
    fail uninstall "make uninstall failed: $(tail -n 5 "$work/make.log")"
fi
