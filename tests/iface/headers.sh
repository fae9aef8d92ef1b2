#!/usr/bin/env bash
# Every public header, and code PVL_IFACE generates (tests/iface/ift.h:
# void results, no arguments, six arguments, bool and pointer results,
# inline bodies), compiled with -Wall -Wextra -Wpedantic -Werror as C11
# and C17 (gcc, clang) and as C++17 and C++20 (g++, clang++).  A compiler
# that is not installed is skipped with its name.
#   tests/iface/headers.sh   (from the repository root)
set -u
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-headers.XXXXXX")
trap 'rm -rf "$work"' EXIT

headers=$(cd include && ls pvlink/*.h)
{
    for h in $headers; do echo "#include <$h>"; done
} >"$work/all.h"
cat >"$work/use.c" <<'SRC'
#include "ift.h"
long use(void);
long use(void)
{
    ift_note(1);
    ift_tick();
    ift_touch(2);
    return ift_add(1, 2) + ift_sum6(1, 2, 3, 4, 5, 6) + (long)ift_odd(3) +
           (long)ift_pick("x", 0)[0] + ift_spill(1) + ift_answer() + ift_twice(4);
}
SRC

try() { # NAME COMPILER LANG STD FILE
    local name=$1 cc=$2 lang=$3 std=$4 file=$5
    if ! command -v "$cc" >/dev/null; then
        echo "SKIP headers:$name: $cc is not installed"
        return
    fi
    if "$cc" -x "$lang" -std="$std" -Wall -Wextra -Wpedantic -Werror -Iinclude \
        -Itests/iface -fsyntax-only "$file" >"$work/log" 2>&1; then
        echo "PASS headers:$name"
    else
        echo "FAIL headers:$name: $(head -n 3 "$work/log" | tr '\n' ' ')"
    fi
}

for c in gcc clang; do
    for std in c11 c17; do
        try "$c-$std" "$c" c "$std" "$work/all.h"
        try "$c-$std-iface" "$c" c "$std" "$work/use.c"
    done
done
for c in g++ clang++; do
    for std in c++17 c++20; do
        try "$c-$std" "$c" c++ "$std" "$work/all.h"
        try "$c-$std-iface" "$c" c++ "$std" "$work/use.c"
    done
done
