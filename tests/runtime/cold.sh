#!/usr/bin/env bash
# The cold provider is what its test needs: built by gcc with the default
# -O2 flags, add_cold is split, and its .cold part lies below it (so that
# linking it exercises jumps to code before a function's start).  clang
# does not split functions by default: nothing to check then.
#   tests/runtime/cold.sh PROV_COLD_SO CC
set -u
so=$1 cc=$2
if "$cc" --version 2>/dev/null | grep -qi clang; then
    echo "SKIP cold:split: $cc is clang, which does not split functions by default"
    exit 0
fi
if ! command -v nm >/dev/null; then
    echo "SKIP cold:split: nm is not installed"
    exit 0
fi
hot=$(nm "$so" | awk '$3 == "add_cold" { print $1 }')
cold=$(nm "$so" | awk '$3 == "add_cold.cold" { print $1 }')
if [ -z "$hot" ] || [ -z "$cold" ]; then
    echo "FAIL cold:split: $so has no add_cold.cold next to add_cold (${hot:-no add_cold})"
elif [ $((16#$cold)) -ge $((16#$hot)) ]; then
    echo "FAIL cold:split: add_cold.cold ($cold) is not below add_cold ($hot)"
else
    echo "PASS cold:split: add_cold.cold at $cold, $((16#$hot - 16#$cold)) bytes below add_cold"
fi
