/*
 * lib.c — COM1 output (8250/16550: transmitter-holding-register-empty is
 * LSR bit 5), a small vsnprintf (%d %u %x %s %c %p, l/ll, width, 0 and #
 * flags), string helpers and the per-test failure record.
 */
#include "lib.h"

#define COM1 0x3f8

void putc_serial(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            putc_serial('\r');
        putc_serial(*s);
    }
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

const char *strstr(const char *h, const char *n)
{
    size_t ln = strlen(n);
    for (; *h; h++)
        if (!strncmp(h, n, ln))
            return h;
    return ln ? NULL : h;
}

struct out { char *buf; size_t n, len; };

static void emit(struct out *o, char c)
{
    if (o->len + 1 < o->n)
        o->buf[o->len] = c;
    o->len++;
}

static void emit_num(struct out *o, uint64_t v, unsigned base, bool neg, int width, bool zero,
                     const char *prefix)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    int plen = (int)strlen(prefix) + (neg ? 1 : 0);
    if (!zero)
        for (int i = k + plen; i < width; i++)
            emit(o, ' ');
    if (neg)
        emit(o, '-');
    for (; *prefix; prefix++)
        emit(o, *prefix);
    if (zero)
        for (int i = k + plen; i < width; i++)
            emit(o, '0');
    while (k)
        emit(o, tmp[--k]);
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct out o = { buf, n, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        fmt++;
        bool alt = false, zero = false;
        for (;; fmt++) {
            if (*fmt == '#')
                alt = true;
            else if (*fmt == '0')
                zero = true;
            else
                break;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int lng = 0;
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        if (*fmt == 'z') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            emit_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, zero, "");
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            emit_num(&o, v, *fmt == 'x' ? 16 : 10, false, width, zero, alt && *fmt == 'x' ? "0x" : "");
            break;
        }
        case 'p':
            emit_num(&o, (uint64_t)va_arg(ap, void *), 16, false, width, zero, "0x");
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int l = (int)strlen(s);
            for (int i = l; i < width; i++)
                emit(&o, ' ');
            for (; *s; s++)
                emit(&o, *s);
            break;
        }
        case 'c':
            emit(&o, (char)va_arg(ap, int));
            break;
        case '%':
            emit(&o, '%');
            break;
        default:
            emit(&o, '?');
            break;
        }
    }
    if (n)
        buf[o.len < n ? o.len : n - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

void printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    puts_serial(buf);
}

_Noreturn void debug_exit(uint32_t code)
{
    outl(0xf4, code);
    for (;;)
        asm volatile("cli; hlt");
}

struct report cur;

void fail_at(int line, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cur.fails == 0)
        snprintf(cur.why, sizeof cur.why, "%s (line %d)", msg, line);
    else if (cur.fails <= (int)ARRAY_SIZE(cur.notes))
        snprintf(cur.notes[cur.fails - 1], sizeof cur.notes[0], "%s (line %d)", msg, line);
    cur.fails++;
}

void skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!cur.skipped && !cur.fails)
        vsnprintf(cur.why, sizeof cur.why, fmt, ap);
    va_end(ap);
    cur.skipped = true;
}
