#!/usr/bin/env bash
# The man page renders (man -l, and groff with every warning on), and
# documents every subcommand and exit status the command has.
set -u
page=man/pvlink.1
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
    echo "SKIP man:render: man or groff is not installed (Debian: man-db, groff-base)"
    exit 0
fi
warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
[ -z "$warn" ] && echo "PASS man:groff_no_warnings" || echo "FAIL man:groff_no_warnings: $warn"
text=$(MANWIDTH=80 man -l "$page" 2>&1)
missing=
for w in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" EXAMPLES \
    "sites ELF" "rom ROM" "plan ELF ROM" "check ELF" --rom-addr --json \
    --version; do
    grep -q -- "$w" <<<"$text" || missing="$missing '$w'"
done
[ -z "$missing" ] && echo "PASS man:renders_sections" || echo "FAIL man:renders_sections: missing$missing"
# the exit statuses of --help, each one in the page's EXIT STATUS section
codes=$(sed -n '/^EXIT STATUS/,/^EXAMPLES/p' <<<"$text" | grep -cE '^       [0-4]  ')
[ "$codes" = 5 ] && echo "PASS man:exit_statuses" || echo "FAIL man:exit_statuses: found $codes of 0..4"
