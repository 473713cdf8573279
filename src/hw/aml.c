/*
 * aml.c — ACPI Machine Language encoder (ACPI 6.x 20.2 grammar, 6.4
 * resource data types).  See aml.h for the usage pattern.
 */
#include "hw/aml.h"

#include <string.h>

enum {
    AML_ZERO = 0x00,
    AML_ONE = 0x01,
    AML_NAME_OP = 0x08,
    AML_BYTE_PREFIX = 0x0A,
    AML_WORD_PREFIX = 0x0B,
    AML_DWORD_PREFIX = 0x0C,
    AML_STRING_PREFIX = 0x0D,
    AML_QWORD_PREFIX = 0x0E,
    AML_SCOPE_OP = 0x10,
    AML_BUFFER_OP = 0x11,
    AML_PACKAGE_OP = 0x12,
    AML_DUAL_NAME_PREFIX = 0x2E,
    AML_MULTI_NAME_PREFIX = 0x2F,
    AML_EXT_OP_PREFIX = 0x5B,
    AML_DEVICE_OP = 0x82, /* after ExtOpPrefix */
    AML_ROOT_CHAR = 0x5C,
    AML_PARENT_PREFIX = 0x5E,
};

#define PKGLEN_RESERVE 4

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
    a->buf = buf;
    a->cap = cap;
    a->len = 0;
    a->error = false;
}

void aml_byte(struct aml *a, uint8_t b)
{
    if (a->error || a->len >= a->cap) {
        a->error = true;
        return;
    }
    a->buf[a->len++] = b;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->error || n > a->cap - a->len) {
        a->error = true;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_u16(struct aml *a, uint16_t v)
{
    aml_byte(a, (uint8_t)v);
    aml_byte(a, (uint8_t)(v >> 8));
}

void aml_u32(struct aml *a, uint32_t v)
{
    aml_u16(a, (uint16_t)v);
    aml_u16(a, (uint16_t)(v >> 16));
}

static bool lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return lead_char(c) || (c >= '0' && c <= '9');
}

/* NameString (20.2.2): [RootChar | ParentPrefix*] NamePath, where each
 * NameSeg is 4 characters, short segments padded with '_'. */
void aml_namestring(struct aml *a, const char *path)
{
    if (!path) {
        a->error = true;
        return;
    }
    if (*path == '\\') {
        aml_byte(a, AML_ROOT_CHAR);
        path++;
    } else {
        while (*path == '^') {
            aml_byte(a, AML_PARENT_PREFIX);
            path++;
        }
    }
    char segs[255][4];
    unsigned n = 0;
    const char *p = path;
    while (*p) {
        if (n == 255) {
            a->error = true;
            return;
        }
        unsigned k = 0;
        while (*p && *p != '.') {
            if (k == 4 || !(k == 0 ? lead_char(*p) : name_char(*p))) {
                a->error = true;
                return;
            }
            segs[n][k++] = *p++;
        }
        if (k == 0) {
            a->error = true;
            return;
        }
        while (k < 4)
            segs[n][k++] = '_';
        n++;
        if (*p == '.')
            p++;
    }
    if (n == 0) {
        aml_byte(a, 0x00); /* NullName */
    } else if (n == 1) {
        aml_bytes(a, segs[0], 4);
    } else if (n == 2) {
        aml_byte(a, AML_DUAL_NAME_PREFIX);
        aml_bytes(a, segs, 8);
    } else {
        aml_byte(a, AML_MULTI_NAME_PREFIX);
        aml_byte(a, (uint8_t)n);
        aml_bytes(a, segs, 4 * (size_t)n);
    }
}

/* ComputationalData (20.2.3): the smallest encoding that holds v. */
void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0) {
        aml_byte(a, AML_ZERO);
    } else if (v == 1) {
        aml_byte(a, AML_ONE);
    } else if (v <= 0xFF) {
        aml_byte(a, AML_BYTE_PREFIX);
        aml_byte(a, (uint8_t)v);
    } else if (v <= 0xFFFF) {
        aml_byte(a, AML_WORD_PREFIX);
        aml_u16(a, (uint16_t)v);
    } else if (v <= 0xFFFFFFFFull) {
        aml_byte(a, AML_DWORD_PREFIX);
        aml_u32(a, (uint32_t)v);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        aml_u32(a, (uint32_t)v);
        aml_u32(a, (uint32_t)(v >> 32));
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING_PREFIX);
    for (; *s; s++) {
        if ((unsigned char)*s > 0x7F) { /* AsciiCharList is 0x01-0x7F */
            a->error = true;
            return;
        }
        aml_byte(a, (uint8_t)*s);
    }
    aml_byte(a, 0x00);
}

/* EISA ID (ACPI 6.1.5 _HID): three letters compressed to 5 bits each,
 * then four hex digits, stored big-endian in a DWord. */
void aml_eisaid(struct aml *a, const char *id)
{
    if (strlen(id) != 7) {
        a->error = true;
        return;
    }
    uint32_t v = 0;
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            a->error = true;
            return;
        }
        v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
    }
    for (int i = 3; i < 7; i++) {
        char c = id[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else {
            a->error = true;
            return;
        }
        v = (v << 4) | d;
    }
    /* v is now the 31-bit value with the vendor in bits 30:16; the bytes
     * go out in big-endian order. */
    aml_byte(a, AML_DWORD_PREFIX);
    aml_byte(a, (uint8_t)(v >> 24));
    aml_byte(a, (uint8_t)(v >> 16));
    aml_byte(a, (uint8_t)(v >> 8));
    aml_byte(a, (uint8_t)v);
}

static size_t pkg_begin(struct aml *a)
{
    size_t mark = a->len;
    for (int i = 0; i < PKGLEN_RESERVE; i++)
        aml_byte(a, 0);
    return mark;
}

/* PkgLength (20.2.4): the length counts itself.  One byte holds up to 63;
 * otherwise the lead byte gives the count of following bytes in bits 7:6
 * and the low nibble, the following bytes hold the rest. */
void aml_end(struct aml *a, size_t mark)
{
    if (a->error || mark + PKGLEN_RESERVE > a->len) {
        a->error = true;
        return;
    }
    size_t body = a->len - mark - PKGLEN_RESERVE;
    size_t n = body + 1 <= 0x3F ? 1 : body + 2 <= 0xFFF ? 2 : body + 3 <= 0xFFFFF ? 3 : 4;
    size_t total = body + n;
    if (total > 0xFFFFFFF) {
        a->error = true;
        return;
    }
    uint8_t enc[4];
    if (n == 1) {
        enc[0] = (uint8_t)total;
    } else {
        enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xF));
        for (size_t i = 1; i < n; i++)
            enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    memmove(a->buf + mark + n, a->buf + mark + PKGLEN_RESERVE, body);
    memcpy(a->buf + mark, enc, n);
    a->len -= PKGLEN_RESERVE - n;
}

void aml_buffer(struct aml *a, const uint8_t *data, size_t len)
{
    aml_byte(a, AML_BUFFER_OP);
    size_t m = pkg_begin(a);
    aml_integer(a, len);
    aml_bytes(a, data, len);
    aml_end(a, m);
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME_OP);
    aml_namestring(a, name);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
    aml_byte(a, AML_SCOPE_OP);
    size_t m = pkg_begin(a);
    aml_namestring(a, name);
    return m;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
    aml_byte(a, AML_EXT_OP_PREFIX);
    aml_byte(a, AML_DEVICE_OP);
    size_t m = pkg_begin(a);
    aml_namestring(a, name);
    return m;
}

size_t aml_package_begin(struct aml *a, uint8_t nelem)
{
    aml_byte(a, AML_PACKAGE_OP);
    size_t m = pkg_begin(a);
    aml_byte(a, nelem);
    return m;
}

/* ---- resource descriptors ---- */

/* I/O Port Descriptor (6.4.2.5), 16-bit decode */
void aml_rt_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    aml_byte(rt, 0x47);
    aml_byte(rt, 0x01);
    aml_u16(rt, min);
    aml_u16(rt, max);
    aml_byte(rt, align);
    aml_byte(rt, len);
}

/* IRQ Descriptor without information byte (6.4.2.1): edge, active high */
void aml_rt_irq_noflags(struct aml *rt, uint16_t mask)
{
    aml_byte(rt, 0x22);
    aml_u16(rt, mask);
}

/* 32-Bit Fixed Memory Range Descriptor (6.4.3.4) */
void aml_rt_memory32_fixed(struct aml *rt, bool writable, uint32_t base, uint32_t len)
{
    aml_byte(rt, 0x86);
    aml_u16(rt, 9);
    aml_byte(rt, writable ? 1 : 0);
    aml_u32(rt, base);
    aml_u32(rt, len);
}

/* Extended Interrupt Descriptor (6.4.3.6), one interrupt, consumer */
void aml_rt_interrupt(struct aml *rt, bool edge, bool active_low, bool shared, uint32_t gsi)
{
    aml_byte(rt, 0x89);
    aml_u16(rt, 6);
    aml_byte(rt, (uint8_t)(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0) |
                           (shared ? 0x08 : 0)));
    aml_byte(rt, 1);
    aml_u32(rt, gsi);
}

/* End Tag (6.4.2.9); checksum 0 means "treat as valid" */
void aml_rt_end(struct aml *rt)
{
    aml_byte(rt, 0x79);
    aml_byte(rt, 0x00);
}
