#!/usr/bin/env bash
# pvlink's demonstration: the reference kernel, compiled once, boots under
# pvlink-run twice per workload -- with no ROM (every site native) and with
# the monitor's ROM (linked at boot) -- and the exits each run made are
# shown side by side.  Exits are exact; time on this software KVM is not.
#
#   demo/system.sh PVLINK_RUN KERNEL
set -euo pipefail
run=$1 kernel=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -w /dev/kvm ]; then
    echo "demo: /dev/kvm is not available here; nothing to boot" >&2
    exit 1
fi

json_field() { # FILE KEY: the number after "KEY": in FILE
    sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1" | head -n 1
}

echo "== The reference kernel boots under pvlink-run and links itself to the ROM"
"$run" --timeout 120 "$kernel" -- selftest | grep -E '^pvlink:|SUCCESS|FAIL'

echo
echo "== The same kernel, each workload with no ROM (native) and with the ROM (linked)"
printf '%-7s %6s | %14s %14s %9s | %11s %11s\n' workload N \
    "monitor:native" "monitor:linked" ratio "all:native" "all:linked"
for w in "irq 1" "irq 200" "mmu 16" "log 20" "clock 100" "io 100"; do
    set -- $w
    "$run" --timeout 120 --no-rom --stats-json "$tmp/n.json" "$kernel" -- "$@" >"$tmp/n.out"
    "$run" --timeout 120 --stats-json "$tmp/l.json" "$kernel" -- "$@" >"$tmp/l.out"
    un=$(json_field "$tmp/n.json" user_exits) ul=$(json_field "$tmp/l.json" user_exits)
    an=$(json_field "$tmp/n.json" exits) al=$(json_field "$tmp/l.json" exits)
    printf '%-7s %6s | %14s %14s %9s | %11s %11s\n' "$1" "$2" "$un" "$ul" \
        "$(awk -v a="$ul" -v b="$un" 'BEGIN { printf "1/%.0f", a ? b / a : 0 }')" "$an" "$al"
done
echo
echo "Each run boots the kernel, runs one workload and exits: \"irq 1\" is the cost"
echo "of booting alone (its console banner and report lines)."
echo "monitor: exits that reached pvlink-run (port I/O, hypercalls): exact"
echo "all:     every VM exit KVM counted, in-kernel ones too; includes timer"
echo "         interrupts, so it varies a little with how long a run takes"
