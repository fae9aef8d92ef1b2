#!/usr/bin/env bash
# Run test programs and add up their PASS/FAIL/SKIP lines.
#   tests/run.sh PROGRAM [PROGRAM...]
# Each PROGRAM is a command (quoted if it has arguments).  A program that
# exits non-zero without printing a FAIL line counts as one failure, and so
# does one that prints nothing.  The last line is "N passed, N failed".
set -u
pass=0 fail=0 skip=0
for t in "$@"; do
    out=$(bash -c "$t" 2>&1)
    status=$?
    p=$(grep -c '^PASS ' <<<"$out")
    f=$(grep -c '^FAIL ' <<<"$out")
    s=$(grep -c '^SKIP ' <<<"$out")
    grep -E '^(FAIL|SKIP) ' <<<"$out"
    if [ "$f" -gt 0 ] || [ "$status" -ne 0 ]; then
        # a failing program's whole output helps more than its FAIL lines
        if [ "$f" -eq 0 ]; then
            f=1
            echo "FAIL $t: exit status $status without a FAIL line"
        fi
        sed 's/^/    | /' <<<"$out" | grep -v '^    | PASS ' | tail -n 40
    elif [ $((p + s)) -eq 0 ]; then
        f=1
        echo "FAIL $t: printed no results"
    fi
    printf '  %-50s %3d passed, %d failed, %d skipped\n' "${t:0:50}" "$p" "$f" "$s"
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
[ "$skip" -gt 0 ] && echo "($skip skipped, each with its reason above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
