#!/usr/bin/env bash
# mk/deps.sh: find what pvlink builds and tests with, by looking for the
# tools and headers themselves (no package database is consulted).
#
#   needed  to build at all: a C compiler, make, binutils, Zydis
#   wanted  by some tests, benchmarks or fuzzers, which skip with a printed
#           reason when their tool is missing
#
# Whatever is missing is installed with apt-get when running as root on a
# machine that has apt-get (Debian 12 here).  Otherwise the missing tools
# are named with their Debian package; the script fails only if something
# needed is missing.  Quiet when nothing is missing.  CC names the
# compiler (default cc); PVL_DEPS_INSTALL=0 never installs anything.
set -u
cc=${CC:-cc}

# The Debian package of the C compiler asked for.
case $cc in
*clang*) ccpkg=clang ;;
*) ccpkg=build-essential ;;
esac

# name | probe (a shell command, true when present) | Debian package | class
probes() {
    cat <<PROBES
$cc|command -v $cc|$ccpkg|needed
make|command -v make|make|needed
binutils (ld, ar, objcopy, readelf)|command -v ld && command -v ar && command -v objcopy && command -v readelf|binutils|needed
Zydis headers and library|printf '#include <Zydis/Zydis.h>\nint main(void) { return ZydisGetVersion() == 0; }\n' | $cc -x c - -lZydis -o /dev/null|libzydis-dev|needed
c++ (C++ interface tests)|command -v c++|g++|wanted
clang (clang and fuzzing passes)|command -v clang && command -v clang++|clang|wanted
libFuzzer runtime|test -e "\$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a"|libclang-rt-14-dev|wanted
qemu-system-x86_64 (kernel under QEMU)|command -v qemu-system-x86_64|qemu-system-x86|wanted
valgrind|command -v valgrind|valgrind|wanted
pkg-config (install test)|command -v pkg-config|pkg-config|wanted
cmake (install test)|command -v cmake|cmake|wanted
man and groff (manual pages)|command -v man && command -v groff|man-db groff-base|wanted
python3 (tool tests)|command -v python3|python3|wanted
PROBES
}

# Print the lines of probes() that fail.
missing() {
    probes | while IFS='|' read -r name probe pkg class; do
        bash -c "$probe" >/dev/null 2>&1 || echo "$name|$pkg|$class"
    done
}

gone=$(missing)
[ -z "$gone" ] && exit 0
if [ "${PVL_DEPS_INSTALL:-1}" != 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    pkgs=$(cut -d'|' -f2 <<<"$gone" | tr ' ' '\n' | sort -u | tr '\n' ' ')
    echo "pvlink: installing ${pkgs}(apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null &&
        apt-get install -y -q --no-install-recommends $pkgs >/dev/null ||
        echo "pvlink: apt-get failed" >&2
    gone=$(missing)
    [ -z "$gone" ] && exit 0
fi
status=0
while IFS='|' read -r name pkg class; do
    if [ "$class" = needed ]; then
        echo "pvlink: needed to build, not found: $name (Debian: $pkg)" >&2
        status=1
    else
        echo "pvlink: not found, the tests that need it will skip: $name (Debian: $pkg)" >&2
    fi
done <<<"$gone"
exit $status
