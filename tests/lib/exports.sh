#!/usr/bin/env bash
# libpvlink.so exports exactly what the installed headers declare for it:
# the functions and objects of <pvlink/link.h> and <pvlink/runtime.h>
# (the other headers declare what a program defines, or nothing).  The
# declarations are read by the compiler (gcc -aux-info) and the objects
# from their "extern" lines; the exports by nm.
#   tests/lib/exports.sh LIBPVLINK_SO
set -u
so=$1
if ! command -v gcc >/dev/null || ! command -v nm >/dev/null; then
    echo "SKIP exports:match: gcc -aux-info and nm are needed"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-exports.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '#include <pvlink/link.h>\n#include <pvlink/runtime.h>\n' >"$work/all.c"
gcc -Iinclude -aux-info "$work/aux" -fsyntax-only "$work/all.c"
{
    grep -E '/\* include/pvlink/(link|runtime)\.h:' "$work/aux" | grep -v ' static ' |
        sed -E 's/.*[ *]([A-Za-z_0-9]+) \(.*/\1/'
    # objects; pvr_provider_v1 is what a provider defines, not the library
    sed -nE 's/^extern const [A-Za-z_0-9 ]+[ *](pv[lr]_[a-z0-9_]+);.*/\1/p' \
        include/pvlink/link.h include/pvlink/runtime.h | grep -vx pvr_provider_v1
} | sort -u >"$work/declared"
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    sort -u >"$work/exported"
if [ ! -s "$work/declared" ]; then
    echo "FAIL exports:match: no declaration found in the headers"
elif cmp -s "$work/declared" "$work/exported"; then
    echo "PASS exports:match ($(wc -l <"$work/declared") symbols)"
else
    echo "FAIL exports:match: declared but not exported:" \
        "$(comm -23 "$work/declared" "$work/exported" | tr '\n' ' ')" \
        "; exported but not declared: $(comm -13 "$work/declared" "$work/exported" | tr '\n' ' ')"
fi
# The version node: every export is versioned.
if nm -D --defined-only "$so" | awk '$2 != "A"' | grep -qv '@@PVLINK_1$'; then
    echo "FAIL exports:versioned: $(nm -D --defined-only "$so" | awk '$2 != "A"' |
        grep -v '@@PVLINK_1$' | head -n 3 | tr '\n' ' ')"
else
    echo "PASS exports:versioned"
fi
