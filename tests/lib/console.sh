#!/usr/bin/env bash
# Both monitors when the guest's console cannot be written: a pipe closed
# by its reader, a full device, a closed standard output.  Each ends with
# status 67 (host failure) and says why; none dies of SIGPIPE or claims
# success for output that went nowhere.
#   tests/lib/console.sh PVLINK_RUN PVLINK_SPT KERNEL
set -u
run=$1 spt=$2 kernel=$3

check() { # NAME STATUS STDERR-FILE EXPECTED-TEXT
    if [ "$2" = 67 ] && grep -qF -- "$4" "$3"; then
        echo "PASS console:$1"
    else
        echo "FAIL console:$1: status $2, stderr: $(head -c 300 "$3")"
    fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-console.XXXXXX")
trap 'rm -rf "$work"' EXIT
for mon in "$run" "$spt"; do
    name=$(basename "$mon")
    if [ "$name" = pvlink-run ] && [ ! -w /dev/kvm ]; then
        echo "SKIP console:$name: /dev/kvm is not available"
        continue
    fi
    # (more than a pipe holds: the reader is gone before the writer is done)
    "$mon" --timeout 60 "$kernel" -- log 2000 2>"$work/err" | head -c 10 >/dev/null
    check "${name}_pipe_closed" "${PIPESTATUS[0]}" "$work/err" \
        "the console (stdout) cannot be written (Broken pipe)"
    "$mon" --timeout 60 "$kernel" -- selftest >/dev/full 2>"$work/err"
    check "${name}_device_full" $? "$work/err" \
        "the console (stdout) cannot be written (No space left on device)"
    "$mon" --timeout 60 "$kernel" -- selftest >&- 2>"$work/err"
    check "${name}_stdout_closed" $? "$work/err" \
        "standard output is closed: the guest's console would go nowhere"
done
