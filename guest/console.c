/*
 * The console: an 8250 UART at 0x3f8 driven through port I/O sites, and
 * formatted output.
 *
 * Every print goes through pvk_console_write(), one site call per
 * k_printf(), so that a ROM can replace the whole write (the pvlink
 * monitor's ROM buffers a line and flushes it with one hypercall).  The
 * native implementation, pvk_native_console_write(), is the polled serial
 * loop; it is what runs on QEMU, Firecracker or bare hardware.
 *
 * One CPU writes at a time (the UART, and a ROM's console buffer, are
 * shared), so that lines from different CPUs never mix.  A CPU that faults
 * while it holds the console (and reports the fault) writes without
 * waiting for itself.
 */
#include "kern.h"

#define COM1 0x3f8
#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_IER 1 /* interrupt enable (DLAB = 0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB = 1) */
#define UART_DLM 1 /* divisor latch, high byte (DLAB = 1) */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define LSR_THRE 0x20

/* A UART that never reports an empty transmitter (absent, or broken) is
 * written anyway after this many polls rather than hanging the kernel. */
#define THRE_POLLS 10000

/* 115200 8N1, FIFOs on, no UART interrupts (output is polled). */
static const struct {
    uint8_t reg, val;
} uart_setup[] = {
    {UART_IER, 0x00}, {UART_LCR, 0x80}, {UART_DLL, 0x01}, {UART_DLM, 0x00},
    {UART_LCR, 0x03}, {UART_FCR, 0x07}, {UART_MCR, 0x03},
};

void k_console_init(void)
{
    for (size_t i = 0; i < K_ARRAY_LEN(uart_setup); i++)
        pvk_outb(COM1 + uart_setup[i].reg, uart_setup[i].val);
}

static struct k_lock console_lock;
static volatile unsigned console_owner; /* CPU index + 1, 0 if free */

void k_console_write(const char *buf, size_t len)
{
    unsigned me = k_this_cpu()->index + 1;
    uint64_t fl;

    if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me) {
        pvk_console_write(buf, len); /* a fault report from inside a write */
        return;
    }
    fl = k_lock_irqsave(&console_lock);
    console_owner = me;
    pvk_console_write(buf, len);
    console_owner = 0;
    k_unlock_irqrestore(&console_lock, fl);
}

__attribute__((visibility("hidden"))) void
pvk_native_console_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        for (int n = 0; n < THRE_POLLS; n++)
            if (pvk_inb(COM1 + UART_LSR) & LSR_THRE)
                break;
        pvk_outb(COM1 + UART_THR, (uint8_t)buf[i]);
    }
}

/* ---- formatting ------------------------------------------------------- */

struct out {
    char *buf;
    size_t n, len;
};

static void put_c(struct out *o, char c)
{
    if (o->len + 1 < o->n)
        o->buf[o->len] = c;
    o->len++;
}

struct spec {
    int alt, zero, left;
    unsigned width;
    int size; /* 0 int, 1 long, 2 long long, 3 size_t */
};

static void put_str(struct out *o, const char *s, const struct spec *sp)
{
    size_t len = k_strlen(s);

    for (size_t i = len; !sp->left && i < sp->width; i++)
        put_c(o, ' ');
    for (size_t i = 0; i < len; i++)
        put_c(o, s[i]);
    for (size_t i = len; sp->left && i < sp->width; i++)
        put_c(o, ' ');
}

static void put_num(struct out *o, uint64_t v, unsigned base, int neg,
                    const struct spec *sp)
{
    char tmp[24];
    unsigned i = 0, pre = neg || (sp->alt && base == 16 && v) ? 1 + (base == 16) : 0;

    do
        tmp[i++] = "0123456789abcdef"[v % base];
    while ((v /= base) != 0);
    for (unsigned w = i + pre; !sp->zero && !sp->left && w < sp->width; w++)
        put_c(o, ' ');
    if (neg)
        put_c(o, '-');
    else if (pre)
        put_c(o, '0'), put_c(o, 'x');
    for (unsigned w = i + pre; sp->zero && !sp->left && w < sp->width; w++)
        put_c(o, '0');
    while (i)
        put_c(o, tmp[--i]);
}

static uint64_t arg_u(va_list *ap, int size)
{
    switch (size) {
    case 0:
        return va_arg(*ap, unsigned);
    case 1:
        return va_arg(*ap, unsigned long);
    case 2:
        return va_arg(*ap, unsigned long long);
    default:
        return va_arg(*ap, size_t);
    }
}

static int64_t arg_s(va_list *ap, int size)
{
    switch (size) {
    case 0:
        return va_arg(*ap, int);
    case 1:
        return va_arg(*ap, long);
    case 2:
        return va_arg(*ap, long long);
    default:
        return (int64_t)va_arg(*ap, size_t);
    }
}

/* Parse flags, width and length of one conversion; returns the
 * conversion character's position. */
static const char *parse_spec(const char *f, struct spec *sp)
{
    *sp = (struct spec){0};
    for (;; f++) {
        if (*f == '#')
            sp->alt = 1;
        else if (*f == '0')
            sp->zero = 1;
        else if (*f == '-')
            sp->left = 1;
        else
            break;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (unsigned)(*f++ - '0');
    if (*f == 'z')
        sp->size = 3, f++;
    while (*f == 'l' && sp->size < 2)
        sp->size++, f++;
    return f;
}

static void convert(struct out *o, char c, const struct spec *sp, va_list *ap)
{
    int64_t s;

    switch (c) {
    case 'd':
        s = arg_s(ap, sp->size);
        put_num(o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10, s < 0, sp);
        break;
    case 'u':
        put_num(o, arg_u(ap, sp->size), 10, 0, sp);
        break;
    case 'x':
        put_num(o, arg_u(ap, sp->size), 16, 0, sp);
        break;
    case 'p':
        put_num(o, (uintptr_t)va_arg(*ap, void *), 16, 0,
                &(struct spec){.alt = 1});
        break;
    case 's': {
        const char *str = va_arg(*ap, const char *);
        put_str(o, str ? str : "(null)", sp);
        break;
    }
    case 'c':
        put_c(o, (char)va_arg(*ap, int));
        break;
    default: /* '%' and anything unknown are printed as they are */
        put_c(o, c);
    }
}

size_t k_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct out o = {buf, n, 0};
    va_list aq;
    struct spec sp;

    va_copy(aq, ap);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put_c(&o, *f);
            continue;
        }
        f = parse_spec(f + 1, &sp);
        if (!*f)
            break;
        convert(&o, *f, &sp, &aq);
    }
    va_end(aq);
    if (n)
        buf[o.len < n ? o.len : n - 1] = '\0';
    return o.len;
}

size_t k_snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    len = k_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return len;
}

/* Longest line k_printf() writes in one console call; longer output is
 * cut (and ends with "...\n" so the cut is visible). */
#define PRINT_MAX 256

void k_printf(const char *fmt, ...)
{
    char buf[PRINT_MAX];
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    len = k_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (len >= sizeof buf) {
        len = sizeof buf - 1;
        memcpy(buf + len - 4, "...\n", 4);
    }
    k_console_write(buf, len);
}

void k_puts(const char *s)
{
    k_console_write(s, k_strlen(s));
}
