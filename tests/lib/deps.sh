#!/usr/bin/env bash
# mk/deps.sh without installing (PVL_DEPS_INSTALL=0, as on a machine with no
# apt-get or not as root): a missing tool that only tests use is named and
# the build proceeds; a missing compiler is named and the build stops; with
# everything present it is silent.
set -u
out=$(PVL_DEPS_INSTALL=0 mk/deps.sh 2>&1); st=$?
if [ $st -eq 0 ] && [ -z "$out" ]; then echo "PASS deps:all_present_silent"
elif [ $st -eq 0 ]; then echo "SKIP deps:all_present_silent: this machine lacks: $out"
else echo "FAIL deps:all_present_silent: status $st: $out"; fi

# A PATH without qemu: only the tools it needs, through a directory of links.
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
for t in bash cc gcc as ld ar objcopy readelf make cat grep sed cut sort tr id env; do
    p=$(command -v "$t") && ln -s "$p" "$work/$t"
done
out=$(PATH=$work CC=cc PVL_DEPS_INSTALL=0 mk/deps.sh 2>&1); st=$?
if [ $st -eq 0 ] && grep -q 'not found, the tests that need it will skip: qemu-system-x86_64' <<<"$out"; then
    echo "PASS deps:wanted_missing_proceeds"
else
    echo "FAIL deps:wanted_missing_proceeds: status $st: $out"
fi
out=$(CC=no-such-cc PVL_DEPS_INSTALL=0 mk/deps.sh 2>&1); st=$?
if [ $st -ne 0 ] && grep -q 'needed to build, not found: no-such-cc' <<<"$out"; then
    echo "PASS deps:needed_missing_stops"
else
    echo "FAIL deps:needed_missing_stops: status $st: $out"
fi
