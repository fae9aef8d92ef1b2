#!/usr/bin/env bash
# The manual pages pvlink-run(1), pvlink-spt(1) and pvlink(3) render with
# every groff warning on; each monitor's page documents every option its
# --help lists, and has the usual sections and every exit status
# (0..63, 64..67); pvlink(3) documents every function the library exports.
#   tests/lib/man.sh PVLINK_RUN PVLINK_SPT
set -u
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
    echo "SKIP man-pages:all: man or groff is not installed (Debian: man-db, groff-base)"
    exit 0
fi
for page in man/pvlink-run.1 man/pvlink-spt.1 man/pvlink.3; do
    name=$(basename "$page")
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] && echo "PASS man-pages:$name:groff_no_warnings" ||
        echo "FAIL man-pages:$name:groff_no_warnings: $warn"
done

# monitor PROGRAM PAGE: options, sections and exit statuses.
monitor() {
    local prog=$1 page=$2 name text missing codes
    name=$(basename "$prog")
    text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
    missing=
    for opt in $("$prog" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$opt" <<<"$text" || missing="$missing $opt"
    done
    [ -z "$missing" ] && echo "PASS man-pages:${name}_options" ||
        echo "FAIL man-pages:${name}_options: not documented:$missing"
    missing=
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES; do
        grep -q "^$s" <<<"$text" || missing="$missing '$s'"
    done
    codes=$(sed -n '/^EXIT STATUS/,/^[A-Z]/p' <<<"$text" | grep -cE '^ +(0(\.\.|–|-)63|6[4-7])( |$)')
    [ -z "$missing" ] && [ "$codes" = 5 ] && echo "PASS man-pages:${name}_sections" ||
        echo "FAIL man-pages:${name}_sections: missing$missing; $codes of the exit statuses 0..63, 64..67"
}
monitor "$1" man/pvlink-run.1
monitor "$2" man/pvlink-spt.1

text=$(MANWIDTH=200 man -l man/pvlink.3 2>/dev/null)
missing=
for fn in $(sed -n 's/^    \(pv[lr]_[a-z_0-9]*\);$/\1/p' mk/libpvlink.map); do
    grep -q -- "$fn" <<<"$text" || missing="$missing $fn"
done
[ -z "$missing" ] && echo "PASS man-pages:pvlink.3_functions" ||
    echo "FAIL man-pages:pvlink.3_functions: not documented:$missing"
