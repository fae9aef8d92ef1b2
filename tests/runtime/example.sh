#!/usr/bin/env bash
# Run the README's minimal example and compare its output with the
# expected text.   tests/runtime/example.sh PROGRAM EXPECTED
set -u
out=$("$1" 2>&1)
status=$?
if [ "$status" -eq 0 ] && [ "$out" = "$(cat "$2")" ]; then
    echo "PASS example:minimal"
else
    echo "FAIL example:minimal: exit status $status, output:"
    printf '%s\n' "$out" | sed 's/^/    /'
    echo "  expected:"
    sed 's/^/    /' "$2"
fi
