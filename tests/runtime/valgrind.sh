#!/usr/bin/env bash
# The live stress test (rt_stress) under valgrind with no extra options
# (no --smc-check): pvlink tells valgrind which code it rewrote, so every
# result is right.  Short: 300 re-links, each then checked by the re-linking
# thread for the new implementation's exact results (a stale translation
# would give the old ones).  Run from the repository root:
#   tests/runtime/valgrind.sh --build B
set -u
[ "${1:-}" = --build ] && [ -n "${2:-}" ] ||
    { echo "FAIL valgrind:arguments: usage: valgrind.sh --build B"; exit 1; }
stress=$(cd "$2" && pwd)/tests/runtime/rt_stress
if ! command -v valgrind >/dev/null; then
    echo "SKIP valgrind:rt_stress: valgrind is not installed"
    exit 0
fi
if nm "$stress" 2>/dev/null | grep -q __asan_init; then
    echo "SKIP valgrind:rt_stress: an ASan build (SAN=1): valgrind cannot run it"
    exit 0
fi
out=$(RT_STRESS_LINKS=300 valgrind -q --error-exitcode=99 "$stress" 2>&1)
status=$?
line=$(grep '^stress:' <<<"$out")
if [ "$status" -eq 0 ] && grep -q '^PASS rt_stress:stress' <<<"$out" &&
    grep -q ' 0 wrong; 0 stale after a link$' <<<"$line"; then
    echo "PASS valgrind:rt_stress: ${line#stress: }"
else
    echo "FAIL valgrind:rt_stress: exit status $status"
    head -n 40 <<<"$out" | sed 's/^/    /'
fi
