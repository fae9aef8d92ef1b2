#!/usr/bin/env bash
# tests/guest/qemu.sh KERNEL MKROM ROM: boot the reference kernel under QEMU
# TCG and check what it prints and how it exits.  Prints PASS/FAIL/SKIP
# lines for tests/run.sh; a failed case shows the console output.
#
# QEMU's isa-debug-exit turns the kernel's exit code v into the status
# (v << 1) | 1: 1 for success, 3 for a failed check or a bad command line.
#
# Machines: q35 (SeaBIOS runs first and sets the local APIC up) and
# microvm (qboot, no such setup; it also leaves the option-ROM area as
# -device loader wrote it, so the ROM tests use it: SeaBIOS shadows
# 0xc0000-0xfffff with RAM and hides anything loaded there).  Both give
# ACPI tables (MADT), so the kernel runs in APIC mode; microvm with
# acpi=off gives none and shows the fallback to one CPU and the 8259 PIC.
# SMP: -smp 2 on both, and `relink` under load with the test ROMs.
set -u
KERNEL=$1
MKROM=$2
PVLROM=$3 # the pvlink monitor's own ROM
P=guest-qemu
QEMU=qemu-system-x86_64
ROM_ADDR=0xd0000

if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "SKIP $P:all: $QEMU is not installed (Debian: qemu-system-x86)"
    exit 0
fi
for f in "$KERNEL" "$MKROM" "$PVLROM"; do
    if [ ! -x "$f" ] && [ ! -f "$f" ]; then
        echo "FAIL $P:setup: $f is missing (make B=... all)"
        exit 1
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

MICROVM=microvm,pit=on,pic=on

# boot MACHINE CMDLINE [QEMU ARGS...]: sets $out (console) and $status.
boot() {
    local machine=$1 append=$2
    shift 2
    out=$(timeout 60 "$QEMU" -machine "$machine" -accel tcg -cpu max -m 128 \
        -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0x501,iosize=2 "$@" \
        -kernel "$KERNEL" -append "$append" </dev/null 2>"$tmp/stderr")
    status=$?
}

failed=0
# check NAME WANT_STATUS REGEX...: every extended regex must match a
# whole line of the console output.
check() {
    local name=$1 want=$2 re why=""
    shift 2
    [ "$status" -eq "$want" ] || why="exit status $status, expected $want"
    for re in "$@"; do
        [ -n "$why" ] && break
        grep -Eq -- "^($re)\$" <<<"$out" || why="no line matching /^$re\$/"
    done
    if [ -z "$why" ]; then
        echo "PASS $P:$name"
        return 0
    fi
    echo "FAIL $P:$name: $why"
    sed 's/^/    | /' <<<"$out"
    sed 's/^/    stderr| /' "$tmp/stderr"
    failed=1
    return 1
}

NATIVE='pvlink: no ROM, [1-9][0-9]* sites native'
SMP2='smp: 2 of 2 CPUs online \(APIC ids 0 1\), MADT at 0x[0-9a-f]+ found by start_info\.rsdp_paddr; timer on IOAPIC GSI 2'

# ---- self-test on both machines ----------------------------------------
boot q35 selftest
check selftest_q35 1 "$NATIVE" SUCCESS
boot "$MICROVM" selftest
check selftest_microvm 1 "$NATIVE" SUCCESS

# ---- SMP: two CPUs found through the MADT, started, answering IPIs -------
boot q35 selftest -smp 2
check selftest_q35_smp2 1 "$SMP2" "selftest: cpus ok" SUCCESS
boot "$MICROVM" selftest -smp 2
check selftest_microvm_smp2 1 "$SMP2" "selftest: cpus ok" SUCCESS \
    "timer: no tick on GSI 0, which the MADT implies \(it has no override for IRQ 0\); GSI 2 works"
# No ACPI: one CPU on the 8259 PIC, and not one access to APIC memory
# (QEMU's trace events see every local APIC and IOAPIC register access
# under TCG).  The kernel switches the unused local APIC off through
# IA32_APIC_BASE, after which the SDM makes LINT0 the 8259's INTR; QEMU's
# TCG APIC model still applies the LVT mask qboot left, so timer
# interrupts are checked under KVM, whose model follows the SDM.
NOACPI='acpi: no RSDP \(start_info\.rsdp_paddr is 0, no legacy scan found one\): one CPU, 8259 PIC'
boot "$MICROVM,acpi=off" "io 10" -smp 2 -trace 'apic_mem_*' -trace 'ioapic_mem_*'
if check no_acpi_no_apic_access 1 "$NOACPI" "io: 10 port writes \(io_delay, port 0x80\), [0-9]+ cycles"; then
    n=$(grep -c 'apic_mem_' "$tmp/stderr")
    [ "$n" -eq 0 ] || { echo "FAIL $P:no_acpi_no_apic_access: $n APIC register accesses"; failed=1; }
    grep -q '^smp:' <<<"$out" && { echo "FAIL $P:no_acpi_no_apic_access: an smp line"; failed=1; }
fi
if [ -w /dev/kvm ]; then
    out=$(timeout 60 "$QEMU" -machine "$MICROVM,acpi=off" -accel kvm -cpu max,-arch-capabilities \
        -smp 2 -m 128 -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0x501,iosize=2 -kernel "$KERNEL" -append selftest \
        </dev/null 2>"$tmp/stderr")
    status=$?
    check no_acpi_kvm_selftest 1 "$NOACPI" "selftest: timer interrupt ok" SUCCESS
else
    echo "SKIP $P:no_acpi_kvm_selftest: /dev/kvm is not writable here"
fi

# ---- workloads -----------------------------------------------------------
boot "$MICROVM" "irq 1000"
check work_irq 1 "irq: 1000 save_fl/irq_disable/restore_fl sequences, [0-9]+ cycles"
boot "$MICROVM" "mmu 100"
check work_mmu 1 "mmu: 100 pages mapped, touched and unmapped, [0-9]+ cycles"
boot "$MICROVM" "clock 100"
check work_clock 1 "clock: 100 clock reads, [0-9]+ cycles"
boot "$MICROVM" "io 100"
check work_io 1 "io: 100 port writes \(io_delay, port 0x80\), [0-9]+ cycles"
boot q35 "log 3"
if check work_log 1 "log: 3 lines of 64 bytes written, [0-9]+ cycles" \
    "log 0000000[0-2] [a-z]{50}"; then
    n=$(grep -cE '^log 0000000[0-2] [a-z]{50}$' <<<"$out")
    [ "$n" -eq 3 ] || { echo "FAIL $P:work_log: $n log lines, expected 3"; failed=1; }
fi

# ---- command line errors and hcfuzz without a monitor --------------------
boot "$MICROVM" "irq 12x"
check cmdline_bad_number 3 'cmdline: irq: N "12x" must be a decimal number from 1 to [0-9]+'
boot "$MICROVM" "frobnicate"
check cmdline_unknown 3 'cmdline "frobnicate": unknown command; expected: .*'
boot "$MICROVM" hcfuzz
check hcfuzz_no_monitor 1 "SKIP hcfuzz: no pvlink monitor"

# ---- an unexpected exception: reported, then exit code 2 (status 5) ------
boot "$MICROVM" fault
check exception 5 "fault: reading unmapped 0x4000000000" \
    "EXCEPTION: vector 14 \(#PF page fault\), error code 0, rip 0x[0-9a-f]+, rsp 0x[0-9a-f]+, cr2 0x4000000000"

# ---- no debug-exit device: the kernel says so and halts for ever ---------
# QEMU is started in the background and stopped once the line is there (or
# it has exited, which is the failure); the bound only guards a hang.
"$QEMU" -machine "$MICROVM" -accel tcg -cpu max -m 128 -display none \
    -serial stdio -no-reboot -kernel "$KERNEL" -append "io 10" \
    </dev/null >"$tmp/bg" 2>"$tmp/stderr" &
pid=$!
running=0
for _ in $(seq 600); do
    if grep -q 'halting$' "$tmp/bg"; then
        kill -0 "$pid" 2>/dev/null && running=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
out=$(cat "$tmp/bg")
status=$((running ? 0 : 1)) # 0: QEMU was still running when the line came
check exit_without_device 0 "io: 10 port writes \(io_delay, port 0x80\), [0-9]+ cycles" \
    "exit 0: no debug-exit port \(0x501\) and no pvlink monitor; halting"

# ---- ROMs found by the option-ROM scan -----------------------------------
# The pvlink monitor's ROM on a monitor that is not pvlink's: its probe
# (the CPUID signature) declines, one line says so, every site stays
# native, and the self-test passes.
boot "$MICROVM" selftest -device loader,file="$PVLROM",addr=0xc0000,force-raw=on
if check rom_declines 1 \
    "pvlink: ROM at 0xc0000 declined this machine \(its probe returned 0\): all [1-9][0-9]* sites stay native" \
    SUCCESS; then
    n=$(grep -c '^pvlink:' <<<"$out")
    [ "$n" -eq 1 ] || { echo "FAIL $P:rom_declines: $n pvlink lines, expected 1"; failed=1; }
fi

rom() { # KIND: build the ROM image and the expected report
    "$MKROM" "$1" "$tmp/$1.rom" || { echo "FAIL $P:rom_$1: guest-mkrom $1 failed"; failed=1; return 1; }
    want=$("$MKROM" expect "$1" "$KERNEL") || { echo "FAIL $P:rom_$1: guest-mkrom expect failed"; failed=1; return 1; }
}
LINKED="pvlink: linked at boot: ROM \"pvlink.kernel\" 1\.1 at $ROM_ADDR: [0-9]+ sites:"
# relink under load on 2 CPUs must end well, with no wrong result
RELINKED="relink: 3 cycles, 6 links on 2 CPUs, all sites, 0 failed; now ROM A"
# check_rounds PATH LINKS: the PATH line says LINKS links, and its rounds
# and IPIs are what batching allows whatever the number of sites:
# breakpoint 3 rounds a link, rendezvous 1 (plus one per retry); one IPI
# per round on 2 CPUs
check_rounds() {
    local path=$1 links=$2 line l r i t want
    line=$(grep -E "^relink: $path: " <<<"$out") || { echo "FAIL $P:$name: no $path line"; failed=1; return; }
    read -r l r i t <<<"$(sed -E 's/^relink: [a-z0-9]+: ([0-9]+) links, ([0-9]+) rounds, ([0-9]+) IPIs, ([0-9]+) retries.*/\1 \2 \3 \4/' <<<"$line")"
    want=$([ "$path" = breakpoint ] && echo $((3 * l)) || echo $((l + t)))
    if [ "$l" != "$links" ] || [ "$r" != "$want" ] || [ "$i" != "$r" ]; then
        echo "FAIL $P:$name: $line: expected $links links, $want rounds, as many IPIs"
        failed=1
    fi
}

if rom nop; then
    boot "$MICROVM" "io 100" -device loader,file="$tmp/nop.rom",addr=$ROM_ADDR,force-raw=on
    check rom_nop_io 1 "$LINKED $want; [1-9][0-9]* changed" \
        "io: 100 port writes \(io_delay, port 0x80\), [0-9]+ cycles"
    # NOPs to native is a single instruction each (breakpoint), back is not
    boot "$MICROVM" "relink 3" -smp 2 -device loader,file="$tmp/nop.rom",addr=$ROM_ADDR,force-raw=on
    name=relink_nop_smp2
    if check $name 1 "$SMP2" "$RELINKED" "relink: .*; wrong results 0" SUCCESS; then
        check_rounds breakpoint 3
        check_rounds rendezvous 3
    fi
fi
if rom mixed; then
    boot "$MICROVM" selftest -device loader,file="$tmp/mixed.rom",addr=$ROM_ADDR,force-raw=on
    check rom_mixed_selftest 1 "$LINKED $want; [1-9][0-9]* changed" SUCCESS
    boot "$MICROVM" "io 100" -device loader,file="$tmp/mixed.rom",addr=$ROM_ADDR,force-raw=on
    check rom_mixed_io 1 "$LINKED $want; [1-9][0-9]* changed" \
        "io: 100 port writes \(io_delay, port 0x80\), [0-9]+ cycles"
    boot "$MICROVM" "relink 3" -smp 2 -device loader,file="$tmp/mixed.rom",addr=$ROM_ADDR,force-raw=on
    name=relink_mixed_smp2
    check $name 1 "$RELINKED" "relink: .*; wrong results 0" SUCCESS && check_rounds rendezvous 6
fi
if rom refuse; then
    n=${want#refused }
    boot "$MICROVM" selftest -device loader,file="$tmp/refuse.rom",addr=$ROM_ADDR,force-raw=on
    if check rom_refused 1 "pvlink: refused site 0x[0-9a-f]+ op read_tsc \(inline\): template longer than the site" \
        "pvlink: link at boot refused: $n sites cannot be linked; every site stays as it was \(native\)" SUCCESS; then
        got=$(grep -c '^pvlink: refused site ' <<<"$out")
        [ "$got" -eq "$n" ] || { echo "FAIL $P:rom_refused: $got refused sites listed, expected $n"; failed=1; }
    fi
fi
if rom decline; then
    boot "$MICROVM" selftest -device loader,file="$tmp/decline.rom",addr=$ROM_ADDR,force-raw=on
    check rom_probe_declines 1 \
        "pvlink: ROM at $ROM_ADDR declined this machine \(its probe returned 0\): all [1-9][0-9]* sites stay native" \
        SUCCESS
fi
if rom badsum; then
    boot "$MICROVM" selftest -device loader,file="$tmp/badsum.rom",addr=$ROM_ADDR,force-raw=on
    check rom_bad_checksum 1 \
        "pvlink: ROM at $ROM_ADDR rejected: header\.checksum: ROM checksum mismatch \(stored 0x[0-9a-f]+, computed 0x[0-9a-f]+\)" \
        "$NATIVE" SUCCESS
fi
exit $failed
