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
    echo bin/pvlink-run
    echo bin/pvlink-spt
    echo lib/libpvlink.a
    echo lib/libpvlink.so
    echo lib/libpvlink.so.1
    echo lib/pkgconfig/pvlink.pc
    echo lib/cmake/pvlink/pvlinkConfig.cmake
    echo lib/cmake/pvlink/pvlinkConfigVersion.cmake
    echo share/man/man1/pvlink.1
    echo share/man/man1/pvlink-run.1
    echo share/man/man1/pvlink-spt.1
    echo share/man/man3/pvlink.3
    for f in $(sed -n 's/^    \(pv[lr]_[a-z_0-9]*\);$/\1/p' "$root/mk/libpvlink.map") \
        libpvlink PVL_IFACE PVL_IFACE_DEFAULTS PVR_PROVIDER_DESC PVR_CALL PVR_INLINE; do
        echo "share/man/man3/$f.3"
    done
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
[ "$cflags" = "-I$p/include" ] && pass pc_cflags || fail pc_cflags "'$cflags'"
# /usr/local/lib is not a directory the loader searches by itself everywhere:
# the link flags carry an rpath (relocated into the DESTDIR here).
[ "$libs" = "-L$p/lib -Wl,-rpath,$p/lib -lpvlink" ] && pass pc_libs || fail pc_libs "'$libs'"

# A library built with sanitizers (make SAN=1) needs them in its users too.
san=
nm "$p/lib/libpvlink.a" 2>/dev/null | grep -q ' U __asan_' &&
    san="-fsanitize=address,undefined"

expected="rom: pvlink.kernel 1.1 accepted
plan: success; 1 site(s), 1 inline, 0 refused
site 0 (read_tsc): b8 34 12 00 00 0f 1f 40 00
native read_tsc ran"
# shellcheck disable=SC2086 # word splitting of pkg-config's output is meant
if cc $san $cflags -o "$work/pcdemo" "$root/tests/tool/pcdemo.c" $libs 2>"$work/cc.log"; then
    out=$(env -u LD_LIBRARY_PATH "$work/pcdemo" 2>&1)
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
# from what pkg-config says, by each compiler (C, and C++ for c++), and run
# from the installed prefix with no LD_LIBRARY_PATH: linked and unlinked.
for c in cc clang c++; do
    if ! command -v "$c" >/dev/null; then
        echo "SKIP install:pc_runtime_program_$c: $c is not installed"
        continue
    fi
    lang=c std=c11 csan=$san
    [ "$c" = c++ ] && lang=c++ std=c++17
    # (one sanitizer runtime per process: only the library's own compiler)
    [ -n "$san" ] && [ "$c" = clang ] && { echo "SKIP install:pc_runtime_program_$c: sanitizer build"; continue; }
    # shellcheck disable=SC2086
    if $c $csan -x $lang -std=$std -O2 $cflags -o "$work/minimal-$c" \
        "$root/examples/minimal.c" -x none $libs 2>"$work/cc.log"; then
        out=$(env -u LD_LIBRARY_PATH "$work/minimal-$c" 2>&1)
        [ "$out" = "$(cat "$root/examples/minimal.expected")" ] &&
            pass "pc_runtime_program_$c" || fail "pc_runtime_program_$c" "$out"
    else
        fail "pc_runtime_program_$c" "$c failed: $(head -n 5 "$work/cc.log")"
    fi
done

# The CMake package: find_package(pvlink) and its imported target.
if ! command -v cmake >/dev/null; then
    echo "SKIP install:cmake_package: cmake is not installed"
elif [ -n "$san" ]; then
    echo "SKIP install:cmake_package: sanitizer build"
else
    mkdir -p "$work/cm"
    cp "$root/examples/minimal.c" "$work/cm/"
    cat >"$work/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(pvlink_minimal C)
find_package(pvlink 0.1 REQUIRED)
add_executable(minimal minimal.c)
target_link_libraries(minimal PRIVATE pvlink::pvlink)
CMAKE
    if (cd "$work/cm" && cmake -S . -B b -DCMAKE_PREFIX_PATH="$p" && cmake --build b) \
        >"$work/cmake.log" 2>&1; then
        out=$("$work/cm/b/minimal" 2>&1)
        [ "$out" = "$(cat "$root/examples/minimal.expected")" ] && pass cmake_package ||
            fail cmake_package "$out"
    else
        fail cmake_package "$(tail -n 5 "$work/cmake.log" | tr '\n' ' ')"
    fi
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
# A distribution's prefix: the loader's own directory, so no rpath.
d3=$work/dest3
# shellcheck disable=SC2016 # ${libdir} is pkg-config's, not the shell's
if pvmake install DESTDIR="$d3" PREFIX=/usr; then
    grep -qx 'Libs: -L${libdir} -lpvlink' "$d3/usr/lib/pkgconfig/pvlink.pc" &&
        pass system_prefix_no_rpath ||
        fail system_prefix_no_rpath "$(grep '^Libs:' "$d3/usr/lib/pkgconfig/pvlink.pc")"
else
    fail system_prefix_no_rpath "make install PREFIX=/usr failed: $(tail -n 5 "$work/make.log")"
fi
if pvmake uninstall DESTDIR="$d"; then
    left=$(find "$d" \( -type f -o -type l \))
    [ -z "$left" ] && pass uninstall || fail uninstall "left: $left"
else
    fail uninstall "make uninstall failed: $(tail -n 5 "$work/make.log")"
fi
