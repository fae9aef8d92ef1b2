#!/usr/bin/env bash
# The manual pages pvlink-run(1) and pvlink(3) render with every groff
# warning on, pvlink-run(1) documents every option `pvlink-run --help`
# lists, and pvlink(3) every function the library exports.
#   tests/lib/man.sh PVLINK_RUN
set -u
run=$1
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
    echo "SKIP man-pages:all: man or groff is not installed (Debian: man-db, groff-base)"
    exit 0
fi
for page in man/pvlink-run.1 man/pvlink.3; do
    name=$(basename "$page")
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] && echo "PASS man-pages:$name:groff_no_warnings" ||
        echo "FAIL man-pages:$name:groff_no_warnings: $warn"
done

text=$(MANWIDTH=200 man -l man/pvlink-run.1 2>/dev/null)
missing=
for opt in $("$run" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$opt" <<<"$text" || missing="$missing $opt"
done
[ -z "$missing" ] && echo "PASS man-pages:pvlink-run_options" ||
    echo "FAIL man-pages:pvlink-run_options: not documented:$missing"

text=$(MANWIDTH=200 man -l man/pvlink.3 2>/dev/null)
missing=
for fn in $(sed -n 's/^    \(pv[lr]_[a-z_0-9]*\);$/\1/p' mk/libpvlink.map); do
    grep -q -- "$fn" <<<"$text" || missing="$missing $fn"
done
[ -z "$missing" ] && echo "PASS man-pages:pvlink.3_functions" ||
    echo "FAIL man-pages:pvlink.3_functions: not documented:$missing"
