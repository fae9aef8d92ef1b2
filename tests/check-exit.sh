#!/usr/bin/env bash
# check-exit.sh NAME PROGRAM [ARGS...]: PASS if PROGRAM exits 0, else FAIL
# with its status (for programs that cannot print, like the freestanding
# test, whose status is the line of the failed check).
name=$1; shift
"$@"
s=$?
if [ "$s" -eq 0 ]; then echo "PASS $name"; else echo "FAIL $name: exit status $s"; fi
