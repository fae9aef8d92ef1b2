#!/usr/bin/env bash
# Tests of the pvlink command (tools/).  Run from the repository root:
#   tests/tool/test.sh --build B --lib LIBPVLINK_SO [--guest KERNEL] [--update]
# Prints one "PASS tool:NAME", "FAIL tool:NAME: why" or "SKIP tool:NAME:
# why" line per case (tests/run.sh adds them up).
#
# Fixture cases compare stdout and stderr with tests/tool/golden/NAME.out
# and NAME.err (absent: must be empty) and check the exit status; --update
# rewrites those files from the current output (review the diff).  The
# real binaries (the e2e test program, libpvlink.so, the guest kernel)
# are checked by what their output must say, against readelf's view of
# the same file.
set -u

build='' lib='' guest='' update=0
while [ $# -gt 0 ]; do
    case $1 in
    --build | --lib | --guest)
        [ $# -ge 2 ] || { echo "FAIL tool:arguments: $1 needs a value"; exit 1; } ;;
    esac
    case $1 in
    --build) build=$2; shift 2 ;;
    --lib) lib=$2; shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --update) update=1; shift ;;
    *) echo "FAIL tool:arguments: unknown argument '$1'"; exit 1 ;;
    esac
done
if [ -z "$build" ] || [ -z "$lib" ]; then
    echo "FAIL tool:arguments: --build and --lib are required"
    exit 1
fi

root=$(pwd)
golden_dir=$root/tests/tool/golden
b=$(cd "$build" && pwd)
PVLINK=$b/bin/pvlink
fx=$b/tests/tool
e2e=$b/tests/e2e
abspath() { (cd "$(dirname "$1")" 2>/dev/null && echo "$(pwd)/$(basename "$1")") || echo "$1"; }
lib=$(abspath "$lib")
[ -n "$guest" ] && guest=$(abspath "$guest")
work=$(mktemp -d "${TMPDIR:-/tmp}/pvlink-tool.XXXXXX")
trap 'rm -rf "$work"' EXIT

pass() { echo "PASS tool:$1"; }
fail() { echo "FAIL tool:$1: $2"; }

# Everything runs in (work), where the fixtures have short names, so
# that the output does not depend on the build directory.
cp "$fx/fixture" "$fx/fixture-stripped.so" "$fx/bad" "$fx/alias" "$work/"
cd "$work" || exit 1
for k in kernel refuse test unknown badtmpl probe liar newer gates gates20 x87 avx switch; do
    "$fx/mkrom" $k $k.rom || { fail setup "mkrom $k failed"; exit 1; }
done
printf 'just some text\n' >notelf.txt
: >empty
mkdir adir

# run NAME CMD...: output in NAME.out, NAME.err; status in $status
run() {
    local name=$1
    shift
    "$@" >"$name.out" 2>"$name.err"
    status=$?
}

# Compare (file) with its golden copy (absent golden: must be empty).
same_as_golden() {
    local file=$1 want=$golden_dir/$1
    if [ "$update" = 1 ]; then
        if [ -s "$file" ]; then cp "$file" "$want"; else rm -f "$want"; fi
        return 0
    fi
    if [ -f "$want" ]; then
        diff -u "$want" "$file" >"$file.diff" && return 0
    elif [ ! -s "$file" ]; then
        return 0
    else
        printf 'expected no output, got:\n' >"$file.diff"
        cat "$file" >>"$file.diff"
    fi
    return 1
}

# golden NAME STATUS CMD...: stdout, stderr and exit status as recorded.
golden() {
    local name=$1 want=$2
    shift 2
    run "$name" "$@"
    local bad=
    same_as_golden "$name.out" || bad="stdout differs"
    same_as_golden "$name.err" || bad="${bad:+$bad, }stderr differs"
    [ "$status" = "$want" ] || bad="${bad:+$bad, }exit status $status, expected $want"
    if [ -z "$bad" ]; then
        pass "$name"
    else
        fail "$name" "$bad"
        cat "$name".*.diff 2>/dev/null | head -n 30 | sed 's/^/    /'
    fi
}

# refuse NAME STATUS MESSAGE CMD...: nothing on stdout, exactly MESSAGE
# (one or more lines) on stderr, and the status.
refuse() {
    local name=$1 want=$2 msg=$3
    shift 3
    run "$name" "$@"
    if [ "$status" != "$want" ]; then
        fail "$name" "exit status $status, expected $want; stderr: $(cat "$name.err")"
    elif [ -s "$name.out" ]; then
        fail "$name" "unexpected output: $(head -c 200 "$name.out")"
    elif [ "$(cat "$name.err")" != "$msg" ]; then
        fail "$name" "stderr was '$(cat "$name.err")', expected '$msg'"
    else
        pass "$name"
    fi
}

# json NAME: NAME.out is one well-formed JSON document.
json_ok() {
    python3 -m json.tool <"$1.out" >/dev/null 2>"$1.json-err"
}

patch() { "$fx/elfpatch" "$@" || fail setup "elfpatch $*"; }

# ------------------------------------------------------------------------
# The fixtures: exact output.

golden sites_fixture 0 "$PVLINK" sites fixture
golden sites_fixture_json 0 "$PVLINK" sites --json fixture
json_ok sites_fixture_json && pass sites_json_parses ||
    fail sites_json_parses "$(cat sites_fixture_json.json-err)"
golden sites_stripped_so 0 "$PVLINK" sites fixture-stripped.so
golden sites_bad 3 "$PVLINK" sites bad
golden rom_kernel 0 "$PVLINK" rom kernel.rom
golden rom_unknown 0 "$PVLINK" rom unknown.rom
golden rom_newer 0 "$PVLINK" rom newer.rom
golden rom_probe 0 "$PVLINK" rom probe.rom
golden rom_gates 0 "$PVLINK" rom gates.rom
golden plan_gates 0 "$PVLINK" plan fixture gates.rom
golden plan_kernel 0 "$PVLINK" plan fixture kernel.rom
golden plan_json 0 "$PVLINK" plan --json fixture kernel.rom
json_ok plan_json && pass plan_json_parses ||
    fail plan_json_parses "$(cat plan_json.json-err)"
golden plan_refused 1 "$PVLINK" plan fixture refuse.rom
golden plan_far_rom 1 "$PVLINK" plan --rom-addr 0x7f0000000000 fixture kernel.rom
golden plan_so_test 0 "$PVLINK" plan fixture-stripped.so test.rom
golden plan_no_such_iface 0 "$PVLINK" plan fixture unknown.rom
golden check_fixture 0 "$PVLINK" check fixture
golden check_stripped_so 0 "$PVLINK" check fixture-stripped.so
golden check_bad 1 "$PVLINK" check bad
# What the linker refuses, check reports in the linker's words: a room
# over its own original copy, a room past the end of the code.
golden check_alias 1 "$PVLINK" check alias
refuse plan_exec_straddle 3 \
    "pvlink plan: alias: pvlink_sites[2] (record at 0x402078): site.addr[2]: site room is not inside the object's executable code (0x40100f)" \
    "$PVLINK" plan alias kernel.rom
patch alias alias-own-copy shdr pvlink_sites size 64
golden plan_alias 1 "$PVLINK" plan alias-own-copy kernel.rom

# ------------------------------------------------------------------------
# Malformed and unreadable inputs: refused, with the reason.

refuse missing_file 3 "pvlink sites: nosuch: cannot open: No such file or directory" \
    "$PVLINK" sites nosuch
refuse directory 3 "pvlink check: adir: is a directory" "$PVLINK" check adir
refuse not_elf 3 "pvlink sites: notelf.txt: not an ELF file (bad magic)" \
    "$PVLINK" sites notelf.txt
refuse empty_file 3 "pvlink plan: empty: not an ELF file (empty)" \
    "$PVLINK" plan empty kernel.rom
head -c 40 fixture >trunc40
refuse truncated_header 3 \
    "pvlink sites: trunc40: truncated: the ELF header ends at byte 64, the file has 40" \
    "$PVLINK" sites trunc40
patch fixture trunc4k trunc 4096
golden truncated_sections 3 "$PVLINK" sites trunc4k
patch fixture noshdr ehdr shoff 0
patch noshdr noshdr ehdr shnum 0
patch noshdr trunc-seg trunc 0x1010
refuse truncated_segment 3 \
    "pvlink sites: trunc-seg: truncated: segment 1 (offset 0x1000, 0x4f bytes) ends at byte 4175, the file has 4112" \
    "$PVLINK" sites trunc-seg
golden no_section_headers 0 "$PVLINK" sites noshdr
patch fixture class32 ehdr class 1
refuse elf32 3 \
    "pvlink sites: class32: a 32-bit ELF file (class 1); expected a 64-bit x86-64 executable or shared object" \
    "$PVLINK" sites class32
patch fixture arm ehdr machine 183
refuse not_x86_64 3 \
    "pvlink sites: arm: built for another machine (ELF machine 183, AArch64); expected a 64-bit x86-64 executable or shared object" \
    "$PVLINK" sites arm
patch fixture rel ehdr type 1
refuse relocatable 3 \
    "pvlink sites: rel: a relocatable object (ELF type 1); expected a 64-bit x86-64 executable or shared object" \
    "$PVLINK" sites rel
patch fixture shoff ehdr shoff 0xffffffff00
golden section_table_out_of_bounds 3 "$PVLINK" sites shoff
patch fixture shent ehdr shentsize 40
refuse section_entry_size 3 "pvlink sites: shent: section header entry size 40, expected 64" \
    "$PVLINK" sites shent
patch fixture size25 shdr pvlink_sites size +1
refuse sites_size_not_multiple 3 \
    "pvlink sites: size25: section pvlink_sites: size 0x181 is not a multiple of the 32-byte site record of format 2" \
    "$PVLINK" sites size25
refuse check_size_not_multiple 3 \
    "pvlink check: size25: section pvlink_sites: size 0x181 is not a multiple of the 32-byte site record of format 2" \
    "$PVLINK" check size25
patch fixture sites-away shdr pvlink_sites addr 0x900000
refuse sites_section_outside 3 \
    "pvlink sites: sites-away: section pvlink_sites (0x180 bytes at 0x900000) is not inside a loadable segment" \
    "$PVLINK" sites sites-away
patch fixture empty0 shdr pvlink_sites size 0
patch empty0 empty0 shdr pvlink_sites addr 0
run empty_sites_section "$PVLINK" sites empty0
[ "$status" = 0 ] && [ "$(cat empty_sites_section.out)" = "empty0: ET_EXEC x86-64, no pvlink sites (section pvlink_sites is empty)" ] &&
    pass empty_sites_section || fail empty_sites_section "status $status: $(cat empty_sites_section.out empty_sites_section.err)"
run empty_sites_plan "$PVLINK" plan empty0 kernel.rom
[ "$status" = 0 ] && grep -qx 'no sites of interface pvlink.kernel' empty_sites_plan.out && [ ! -s empty_sites_plan.err ] &&
    pass empty_sites_plan || fail empty_sites_plan "status $status: $(cat empty_sites_plan.err)"
patch fixture rec-out site 3 addr +0x40000000
golden record_outside_sites 3 "$PVLINK" sites rec-out
golden record_outside_check 1 "$PVLINK" check rec-out
refuse record_outside_plan 3 \
    "pvlink plan: rec-out: pvlink_sites[3] (record at 0x4020f8): site.addr[3]: site lies outside the object (0x40401017)" \
    "$PVLINK" plan rec-out kernel.rom
patch fixture room0 site 0 room 0
refuse record_room_zero 3 \
    "pvlink sites: room0: pvlink_sites[0] (record at 0x402098): site.room[0]: site room is 0 or larger than PVL_ROOM_MAX (found 0, at most 64)" \
    sh -c "'$PVLINK' sites room0 >/dev/null"
patch fixture desc-odd site 1 iface +1
refuse record_desc_misaligned 3 \
    "pvlink sites: desc-odd: pvlink_sites[1] (record at 0x4020b8): site.iface[1]: site interface descriptor is invalid (0x402001)" \
    sh -c "'$PVLINK' sites --json desc-odd >/dev/null"

# ROM images
cp kernel.rom bad-magic.rom
printf 'Q' | dd of=bad-magic.rom bs=1 seek=0 conv=notrunc status=none
refuse rom_bad_magic 3 \
    "pvlink rom: bad-magic.rom: invalid ROM image: header.magic: bad ROM magic (0x524c5651)" \
    "$PVLINK" rom bad-magic.rom
cp kernel.rom bad-sum.rom
printf '\xcc' | dd of=bad-sum.rom bs=1 seek=400 conv=notrunc status=none
refuse rom_bad_checksum 3 \
    "pvlink rom: bad-sum.rom: invalid ROM image: header.checksum: ROM checksum mismatch (stored 0x726fcb6e, computed 0xf4563708)" \
    "$PVLINK" rom bad-sum.rom
refuse plan_bad_rom 3 \
    "pvlink plan: bad-sum.rom: invalid ROM image: header.checksum: ROM checksum mismatch (stored 0x726fcb6e, computed 0xf4563708)" \
    "$PVLINK" plan fixture bad-sum.rom
head -c 10 kernel.rom >short.rom
refuse rom_short 3 \
    "pvlink rom: short.rom: invalid ROM image: header: ROM image is shorter than its header (0xa)" \
    "$PVLINK" rom short.rom
refuse rom_template_escapes 3 \
    "pvlink rom: badtmpl.rom: invalid ROM image: entry.template[1] +0: jmp 0x12 branches to +18, which is neither an instruction start in this code nor a call entry" \
    "$PVLINK" rom badtmpl.rom
refuse rom_lying_template 3 \
    "pvlink rom: liar.rom: invalid ROM image: entry.template[0] +0: xor %eax, %eax writes rax, which the entry does not declare" \
    "$PVLINK" rom liar.rom
# Gate calls in a 2.0 image are C calls, which a "save" operation does not
# allow (the 2.1 declaration is what makes gates.rom acceptable).
refuse rom_gates_2_0 3 \
    "pvlink rom: gates20.rom: invalid ROM image: entry.call[0] +5: jmp *0xb writes rcx, which the entry does not declare" \
    "$PVLINK" rom gates20.rom
# An x87 template writes x87 (its ModRM.reg 4 is no stack pointer); an AVX
# instruction and a jump table's jump are named, with what to do.
refuse rom_x87_template 3 \
    "pvlink rom: x87.rom: invalid ROM image: entry.template[0] +0: fninit writes x87, which the entry does not declare" \
    "$PVLINK" rom x87.rom
refuse rom_avx_call 3 \
    "pvlink rom: avx.rom: invalid ROM image: entry.call[0] +2: vzeroupper is a VEX-encoded (AVX) instruction, which pvlink does not decode; build this code without AVX (-mno-avx)" \
    "$PVLINK" rom avx.rom
refuse plan_avx_call 3 \
    "pvlink plan: avx.rom: invalid ROM image: entry.call[0] +2: vzeroupper is a VEX-encoded (AVX) instruction, which pvlink does not decode; build this code without AVX (-mno-avx)" \
    "$PVLINK" plan fixture avx.rom
refuse rom_jump_table 3 \
    "pvlink rom: switch.rom: invalid ROM image: entry.call[0] +2: jmp %rdx is an indirect jump (a switch's jump table?), which cannot be followed; build this code with -fno-jump-tables" \
    "$PVLINK" rom switch.rom
refuse plan_lying_template 3 \
    "pvlink plan: liar.rom: invalid ROM image: entry.template[0] +0: xor %eax, %eax writes rax, which the entry does not declare" \
    "$PVLINK" plan fixture liar.rom
refuse rom_missing 3 "pvlink rom: nosuch.rom: cannot open: No such file or directory" \
    "$PVLINK" rom nosuch.rom
refuse rom_directory 3 "pvlink rom: adir: is a directory" "$PVLINK" rom adir
refuse plan_missing_rom 3 "pvlink plan: nosuch.rom: cannot open: No such file or directory" \
    "$PVLINK" plan fixture nosuch.rom

# ------------------------------------------------------------------------
# Command line, help, version, output errors.

try="Try 'pvlink --help'."
refuse no_command 2 "pvlink: expected a command
$try" "$PVLINK"
refuse unknown_command 2 "pvlink: unknown command 'frob'
$try" "$PVLINK" frob
refuse unknown_global_option 2 "pvlink: unknown option '--frob'
$try" "$PVLINK" --frob
refuse missing_file_arg 2 "pvlink sites: expected ELF file
Try 'pvlink sites --help'." "$PVLINK" sites
refuse missing_rom_arg 2 "pvlink plan: expected ELF and ROM files
Try 'pvlink plan --help'." "$PVLINK" plan fixture
refuse extra_arg 2 "pvlink check: unexpected argument 'more'
Try 'pvlink check --help'." "$PVLINK" check fixture more
refuse unknown_option 2 "pvlink sites: unknown option '--bogus'
Try 'pvlink sites --help'." "$PVLINK" sites --bogus fixture
refuse flag_with_value 2 "pvlink sites: option '--json' takes no argument
Try 'pvlink sites --help'." "$PVLINK" sites --json=yes fixture
refuse option_needs_arg 2 "pvlink plan: option '--rom-addr' needs an argument
Try 'pvlink plan --help'." "$PVLINK" plan fixture kernel.rom --rom-addr
refuse bad_rom_addr 2 "pvlink plan: --rom-addr: '12zz' is not an address (decimal, or hex with 0x)
Try 'pvlink plan --help'." "$PVLINK" plan --rom-addr 12zz fixture kernel.rom
refuse help_unknown 2 "pvlink help: unknown command 'frob'
Try 'pvlink help --help'." "$PVLINK" help frob
refuse write_error 4 "pvlink sites: writing the output failed: No space left on device" \
    sh -c "'$PVLINK' sites fixture >/dev/full"
# A reader that went away (it exits before pvlink starts writing): EPIPE
# and status 4, never death by SIGPIPE (141).
refuse write_pipe 4 "pvlink sites: writing the output failed: Broken pipe" \
    sh -c "{ sleep 0.3; '$PVLINK' sites fixture; echo \$? >pipe.st; } | true; exit \$(cat pipe.st)"

# "--" ends the options: a file may be called --json.
cp fixture ./--json
run dashdash "$PVLINK" sites -- --json
[ "$status" = 0 ] && head -n 1 dashdash.out | grep -q '^--json: ET_EXEC' &&
    pass dashdash || fail dashdash "status $status: $(head -n 1 dashdash.out)"
run rom_addr_equals "$PVLINK" plan --rom-addr=0x500000 fixture kernel.rom
grep -q '^ROM at 0x500000 (--rom-addr)$' rom_addr_equals.out && [ "$status" = 0 ] &&
    pass rom_addr_equals || fail rom_addr_equals "status $status: $(sed -n 3p rom_addr_equals.out)"

golden help 0 "$PVLINK" --help
run help_cmd "$PVLINK" help
cmp -s help.out help_cmd.out && [ "$status" = 0 ] && pass help_is_help ||
    fail help_is_help "'pvlink help' differs from 'pvlink --help'"
for c in sites rom plan check; do
    golden "help_$c" 0 "$PVLINK" "$c" --help
    run "help2_$c" "$PVLINK" help "$c"
    cmp -s "help_$c.out" "help2_$c.out" && pass "help_${c}_same" ||
        fail "help_${c}_same" "'pvlink help $c' differs from 'pvlink $c --help'"
done
version=$(sed -n 's/^#define PVT_VERSION "\(.*\)"/\1/p' "$root/tools/version.h")
run version "$PVLINK" --version
[ "$status" = 0 ] && [ "$(cat version.out)" = "pvlink $version (site and ROM format 2.1, pvlink.kernel 1.1)" ] &&
    pass version || fail version "status $status: $(cat version.out)"

# ------------------------------------------------------------------------
# Real binaries.  readelf gives the number of records independently.

records() { # FILE: records in pvlink_sites according to readelf, or none
    local size
    size=$(readelf -SW "$1" |
        sed -nE 's/.* pvlink_sites +[A-Z]+ +[0-9a-f]+ +[0-9a-f]+ +([0-9a-f]+) .*/\1/p')
    if [ -z "$size" ]; then echo none; else echo $((16#$size / 32)); fi
}

# py NAME SCRIPT: run a python check on NAME.out (JSON); prints why not.
py() {
    local name=$1
    shift
    python3 - "$name.out" "$@" 2>&1
}

e2e_n=$(records "$e2e")
run e2e_sites "$PVLINK" sites --json "$e2e"
why=$(py e2e_sites "$e2e_n" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
s = d["sites"]
assert len(s) == n, f"{len(s)} sites listed, readelf says {n}"
assert not [x for x in s if "error" in x], "invalid records"
names = {i["name"]: i for i in d["interfaces"]}
assert names["pvlink.kernel"]["catalog"] and not names["pvlink.test"]["catalog"], names
assert sum(i["sites"] for i in d["interfaces"]) == n
tsc = [x for x in s if x["symbol"] and x["symbol"].startswith("run_tsc")]
assert len(tsc) == 1 and tsc[0]["op_name"] == "read_tsc", tsc
assert tsc[0]["disasm"] == "rdtsc; shl $0x20, %rdx; or %rdx, %rax", tsc[0]["disasm"]
con = [x for x in s if x["op_name"] == "console_write"]
assert con and all(x["flags"] == ["native-call"] and
                   x["disasm"].endswith(" <pvk_native_console_write>") for x in con), con
EOF
)
[ "$status" = 0 ] && [ -z "$why" ] && pass e2e_sites || fail e2e_sites "status $status: $why"

run e2e_check "$PVLINK" check "$e2e"
[ "$status" = 0 ] && [ "$(tail -n 1 e2e_check.out)" = "result: no problems found" ] &&
    pass e2e_check || fail e2e_check "status $status: $(tail -n 3 e2e_check.out)"

run e2e_plan "$PVLINK" plan --json "$e2e" kernel.rom
why=$(py e2e_plan e2e_sites.out <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))["sites"]
kernel = [x for x in s if x["interface"] == "pvlink.kernel"]
t = p["totals"]
assert p["ok"] and t["refused"] == 0, p.get("reason")
assert sum(t[a] for a in ("native", "inline", "call", "nop")) == len(kernel), t
assert t["other_interfaces"] == len(s) - len(kernel), t
assert [x["index"] for x in p["sites"]] == [x["index"] for x in kernel]
tsc = [x for x in p["sites"] if x["symbol"] and x["symbol"].startswith("run_tsc")][0]
assert tsc["action"] == "inline" and tsc["disasm"] == "mov $0x1234, %eax; .nops 4", tsc
want = {"write_cr3": "call", "nop": "nop", "io_delay": "nop",
        "lazy_mmu_begin": "native", "read_msr": "native"}
seen = set()
for x in p["sites"]:
    if x["op_name"] in want:
        seen.add(x["op_name"])
        assert x["action"] == want[x["op_name"]], x
        if x["action"] == "call":
            assert " <rom+0x" in x["disasm"], x
assert seen == set(want), seen
EOF
)
[ "$status" = 0 ] && [ -z "$why" ] && pass e2e_plan || fail e2e_plan "status $status: $why"

run e2e_plan_test "$PVLINK" plan "$e2e" test.rom
n_test=$(grep -c '"interface": "pvlink.test"' e2e_sites.out)
[ "$status" = 0 ] && grep -q "synthesized from the binary's interface descriptor" e2e_plan_test.out &&
    grep -q "; 0 refused; " e2e_plan_test.out &&
    [ "$(grep -cE '^ *[0-9]+  0x' e2e_plan_test.out)" = "$n_test" ] &&
    pass e2e_plan_test || fail e2e_plan_test "status $status: $(tail -n 3 e2e_plan_test.out)"

# libpvlink.so: no sites (unless a component gives it some: then they
# must list and check cleanly).
lib_n=$(records "$lib")
run lib_sites "$PVLINK" sites "$lib"
run lib_check "$PVLINK" check "$lib"
if [ "$lib_n" = none ]; then
    [ "$status" = 0 ] && [ "$(cat lib_sites.out)" = "$lib: ET_DYN x86-64, no pvlink sites (no pvlink_sites section)" ] &&
        [ "$(cat lib_check.out)" = "$lib: ET_DYN x86-64, no pvlink sites (no pvlink_sites section): nothing to check" ] &&
        [ ! -s lib_sites.err ] && pass lib_no_sites ||
        fail lib_no_sites "status $status: $(cat lib_sites.out lib_sites.err lib_check.out)"
else
    [ "$status" = 0 ] && [ "$(tail -n 1 lib_check.out)" = "result: no problems found" ] &&
        pass lib_sites_clean || fail lib_sites_clean "$(tail -n 3 lib_check.out)"
fi
run lib_plan "$PVLINK" plan "$lib" kernel.rom
[ "$status" = 0 ] && grep -qx 'result: the link would succeed; 0 sites would change' lib_plan.out &&
    pass lib_plan || fail lib_plan "status $status: $(tail -n 2 lib_plan.out)"

if [ -z "$guest" ]; then
    echo "SKIP tool:guest_kernel: GUEST_KERNEL is not defined in this build"
elif [ ! -f "$guest" ]; then
    fail guest_kernel "$guest does not exist"
else
    g_n=$(records "$guest")
    run guest_sites "$PVLINK" sites --json "$guest"
    why=$(py guest_sites "$g_n" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["type"] == "ET_EXEC", d["type"]
assert len(d["sites"]) == int(sys.argv[2]), (len(d["sites"]), sys.argv[2])
assert not [x for x in d["sites"] if "error" in x]
EOF
)
    [ "$status" = 0 ] && [ -z "$why" ] && pass guest_sites || fail guest_sites "status $status: $why"
    run guest_check "$PVLINK" check "$guest"
    [ "$status" = 0 ] && pass guest_check || fail guest_check "status $status: $(tail -n 5 guest_check.out)"
    run guest_plan "$PVLINK" plan --json "$guest" kernel.rom
    why=$(py guest_plan guest_sites.out <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))["sites"]
k = len([x for x in s if x["interface"] == "pvlink.kernel"])
t = p["totals"]
assert sum(t[a] for a in ("native", "inline", "call", "nop", "refused")) == k, (t, k)
assert p["ok"] == (t["refused"] == 0)
EOF
)
    [ "$status" -le 1 ] && [ -z "$why" ] && pass guest_plan || fail guest_plan "status $status: $why"
fi

# ------------------------------------------------------------------------
# Compatibility fixtures (tests/fixtures/README): a format-2.0 kernel and
# ROM kept from when the format was made.  Every later pvlink must accept
# them and plan the very same link.  Never rewritten by --update.
fxk=pvlink-kernel-2.0.elf fxr=pvlink-2.0.rom
cp "$root/tests/fixtures/$fxk" "$root/tests/fixtures/$fxr" .
run compat_plan "$PVLINK" plan --rom-addr 0xc0000 "$fxk" "$fxr"
if [ "$status" != 0 ] || [ -s compat_plan.err ]; then
    fail compat_plan "status $status: $(head -c 300 compat_plan.err)"
elif ! diff -u "$root/tests/fixtures/pvlink-kernel-2.0.plan" compat_plan.out >compat_plan.diff; then
    fail compat_plan "differs from tests/fixtures/pvlink-kernel-2.0.plan: $(head -n 20 compat_plan.diff)"
else
    pass compat_plan
fi
run compat_check "$PVLINK" check "$fxk"
[ "$status" = 0 ] && grep -q '^result: no problems found$' compat_check.out &&
    pass compat_check || fail compat_check "status $status: $(tail -n 5 compat_check.out)"
run compat_rom "$PVLINK" rom "$fxr"
[ "$status" = 0 ] && [ ! -s compat_rom.err ] && pass compat_rom ||
    fail compat_rom "status $status: $(head -c 300 compat_rom.err)"
