/*
 * guest-boot: the kernel's start_info parser (guest/boot.c, compiled
 * hosted) on valid and malformed boot information.  The data is placed in
 * a mapping below 1 GiB, where the kernel's boot identity map would make
 * it readable.
 *
 *   valid            everything copied; RAM top from the RAM entries only
 *   no_cmdline       cmdline_paddr 0 means an empty command line
 *   version0         a version-0 start_info has no memory map to read
 *   bad_magic        refused, message names start_info.magic
 *   bad_address      start_info at 0 or past 1 GiB refused
 *   memmap_count     more entries than the kernel holds: refused
 *   memmap_outside   memory map past the boot mapping: refused
 *   memmap_wraps     an entry whose addr + size overflows: refused
 *   cmdline_unended  no NUL within 4096 bytes: refused
 *   changes_nothing  after each refusal k_boot still holds the last
 *                    valid copy
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "../../guest/boot.c"

#include "../harness.h"

#define BASE 0x20000000ul /* 512 MiB: below the 1 GiB boot mapping */
#define SPAN (2ul << 20)
#define SI_OFF 0x1000
#define MAP_OFF 0x2000
#define CMD_OFF 0x10000

static char msg[512];
static uint8_t *mem;

void k_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
}

static struct start_info *si(void)
{
    return (struct start_info *)(mem + SI_OFF);
}

static struct k_memmap_entry *mm(void)
{
    return (struct k_memmap_entry *)(mem + MAP_OFF);
}

/* A valid start_info: 3 entries (RAM, reserved above it, RAM). */
static int setup(void)
{
    if (!mem) {
        void *p = mmap((void *)BASE, SPAN, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != (void *)BASE) {
            t_skip("cannot map %#lx bytes at %#lx for the boot data", SPAN, BASE);
            return -1;
        }
        mem = p;
    }
    memset(mem, 0, SPAN);
    *si() = (struct start_info){
        .magic = START_INFO_MAGIC, .version = 1,
        .cmdline_paddr = BASE + CMD_OFF, .memmap_paddr = BASE + MAP_OFF,
        .memmap_entries = 3};
    mm()[0] = (struct k_memmap_entry){0, 0x9fc00, K_E820_RAM, 0};
    mm()[1] = (struct k_memmap_entry){0xfeff0000, 0x10000, 2, 0};
    mm()[2] = (struct k_memmap_entry){0x100000, 0x3f00000, K_E820_RAM, 0};
    strcpy((char *)mem + CMD_OFF, "irq 10");
    msg[0] = 0;
    return 0;
}

static void valid(void)
{
    if (setup())
        return;
    CHECK_EQ(k_boot_copy(BASE + SI_OFF), 0);
    CHECK(!strcmp(k_boot.cmdline, "irq 10"));
    CHECK_EQ(k_boot.nmemmap, 3);
    CHECK_EQ(k_boot.memmap[1].addr, 0xfeff0000);
    CHECK_EQ(k_boot.ram_top, 0x4000000);
    CHECK_EQ(k_boot.version, 1);
}

static void no_cmdline(void)
{
    if (setup())
        return;
    si()->cmdline_paddr = 0;
    CHECK_EQ(k_boot_copy(BASE + SI_OFF), 0);
    CHECK_EQ(k_boot.cmdline[0], 0);
}

static void version0(void)
{
    if (setup())
        return;
    si()->version = 0;
    si()->memmap_paddr = 0xdead0000000ull; /* not a field in version 0 */
    CHECK_EQ(k_boot_copy(BASE + SI_OFF), 0);
    CHECK_EQ(k_boot.nmemmap, 0);
    CHECK_EQ(k_boot.ram_top, 0);
}

/* Refused with a message containing (what), k_boot unchanged. */
static void refused(const char *what)
{
    struct k_bootinfo before = k_boot;

    CHECK_EQ(k_boot_copy(BASE + SI_OFF), -1);
    if (!strstr(msg, what))
        t_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", msg, what);
    CHECK(!memcmp(&before, &k_boot, sizeof before));
}

static void bad_magic(void)
{
    if (setup())
        return;
    si()->magic = 0x1badb002;
    refused("start_info.magic: 0x1badb002");
}

static void bad_address(void)
{
    if (setup())
        return;
    CHECK_EQ(k_boot_copy(0), -1);
    CHECK(strstr(msg, "start_info: address 0") != NULL);
    CHECK_EQ(k_boot_copy((1ull << 30) - 8), -1);
    CHECK_EQ(k_boot_copy(UINT64_MAX - 8), -1);
}

static void memmap_count(void)
{
    if (setup())
        return;
    si()->memmap_entries = K_MEMMAP_MAX + 1;
    refused("start_info.memmap_entries: 129");
}

static void memmap_outside(void)
{
    if (setup())
        return;
    si()->memmap_paddr = (1ull << 30) - 24; /* 3 entries cross 1 GiB */
    refused("start_info.memmap_paddr");
}

static void memmap_wraps(void)
{
    if (setup())
        return;
    mm()[1].size = UINT64_MAX;
    refused("memmap[1]");
}

static void cmdline_unended(void)
{
    if (setup())
        return;
    memset(mem + CMD_OFF, 'x', K_CMDLINE_MAX);
    refused("no NUL within 4096 bytes");
    memset(mem + CMD_OFF + K_CMDLINE_MAX - 1, 0, 1); /* 4095 chars: fits */
    CHECK_EQ(k_boot_copy(BASE + SI_OFF), 0);
    CHECK_EQ(strlen(k_boot.cmdline), K_CMDLINE_MAX - 1);
}

/* After a valid copy, every kind of refusal leaves it as it was. */
static void changes_nothing(void)
{
    if (setup())
        return;
    CHECK_EQ(k_boot_copy(BASE + SI_OFF), 0);
    si()->magic = 0;
    refused("magic");
    setup();
    mm()[2].size = UINT64_MAX;
    refused("memmap[2]");
    CHECK(!strcmp(k_boot.cmdline, "irq 10"));
}

T_CASES(T(valid), T(no_cmdline), T(version0), T(bad_magic), T(bad_address),
        T(memmap_count), T(memmap_outside), T(memmap_wraps),
        T(cmdline_unended), T(changes_nothing))
