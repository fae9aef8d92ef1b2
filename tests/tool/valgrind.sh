#!/usr/bin/env bash
# The pvlink command under valgrind (memcheck, every leak kind an error)
# on each subcommand, good and bad inputs.  Run from the repository root:
#   tests/tool/valgrind.sh --build B
set -u
[ "${1:-}" = --build ] && [ -n "${2:-}" ] ||
    { echo "FAIL valgrind:arguments: usage: valgrind.sh --build B"; exit 1; }
b=$(cd "$2" && pwd)
pvlink=$b/bin/pvlink fx=$b/tests/tool
if ! command -v valgrind >/dev/null; then
    echo "SKIP valgrind:tool: valgrind is not installed"
    exit 0
fi
if nm "$pvlink" 2>/dev/null | grep -q __asan_init; then
    echo "SKIP valgrind:tool: an ASan build (SAN=1): valgrind cannot run it, ASan checks it instead"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-vg.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$fx/mkrom" kernel "$work/k.rom" && "$fx/mkrom" refuse "$work/r.rom" &&
    "$fx/mkrom" test "$work/t.rom" && "$fx/mkrom" badtmpl "$work/bad.rom" ||
    { echo "FAIL valgrind:setup: mkrom failed"; exit 0; }
head -c 100 "$fx/fixture" >"$work/trunc"

n=0
while read -r name want args; do
    n=$((n + 1))
    # shellcheck disable=SC2086 # (args) is a word list
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
        "$pvlink" $args >/dev/null 2>"$work/err"
    status=$?
    if [ "$status" = "$want" ]; then
        echo "PASS valgrind:$name"
    else
        echo "FAIL valgrind:$name: exit status $status, expected $want"
        grep -v '^pvlink' "$work/err" | head -n 20 | sed 's/^/    /'
    fi
done <<EOF2
sites 0 sites $fx/fixture
sites_json_invalid 3 sites --json $fx/bad
rom 0 rom $work/k.rom
rom_invalid 3 rom $work/bad.rom
plan_refused 1 plan $fx/fixture $work/r.rom
plan_json_so 0 plan --json $fx/fixture-stripped.so $work/t.rom
check_problems 1 check $fx/bad
check_e2e 0 check $b/tests/e2e
truncated 3 sites $work/trunc
EOF2
[ "$n" -gt 0 ] || echo "FAIL valgrind:cases: none ran"
