/*
 * json.c — the JSON writer of json.h.  Escaping follows RFC 8259 section
 * 7: '"', '\\' and U+0000..U+001F must be escaped; everything else may be
 * written as UTF-8.  Byte sequences that are not well-formed UTF-8 (RFC
 * 3629 section 4: overlongs, surrogates, > U+10FFFF, truncated) become
 * U+FFFD so a parser reading strict UTF-8 never fails on host strings
 * such as DMI fields.
 */
#include "kvm/json.h"

#include <stdint.h>
#include <string.h>

void json_init(struct json_out *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

static void indent(struct json_out *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Separator and indentation before a value (or before a key). */
static void before_value(struct json_out *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (j->has_items[j->depth])
            fputc(',', j->f);
        indent(j);
    }
    if (j->depth < JSON_MAX_DEPTH)
        j->has_items[j->depth] = true;
}

/* Length of the well-formed UTF-8 sequence at s (1-4), 0 if ill-formed. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlongs */
        if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f; /* <= U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

void json_write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        switch (c) {
        case '"': fputs("\\\"", f); s++; continue;
        case '\\': fputs("\\\\", f); s++; continue;
        case '\b': fputs("\\b", f); s++; continue;
        case '\f': fputs("\\f", f); s++; continue;
        case '\n': fputs("\\n", f); s++; continue;
        case '\r': fputs("\\r", f); s++; continue;
        case '\t': fputs("\\t", f); s++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            s++;
            continue;
        }
        int n = utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
            continue;
        }
        fwrite(s, 1, (size_t)n, f);
        s += n;
    }
    fputc('"', f);
}

void json_begin_object(struct json_out *j)
{
    before_value(j);
    fputc('{', j->f);
    j->depth++;
    if (j->depth < JSON_MAX_DEPTH)
        j->has_items[j->depth] = false;
}

static void end_container(struct json_out *j, char close)
{
    bool items = j->depth < JSON_MAX_DEPTH && j->has_items[j->depth];
    j->depth--;
    if (items)
        indent(j);
    fputc(close, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_end_object(struct json_out *j)
{
    end_container(j, '}');
}

void json_begin_array(struct json_out *j)
{
    before_value(j);
    fputc('[', j->f);
    j->depth++;
    if (j->depth < JSON_MAX_DEPTH)
        j->has_items[j->depth] = false;
}

void json_end_array(struct json_out *j)
{
    end_container(j, ']');
}

void json_key(struct json_out *j, const char *key)
{
    before_value(j);
    json_write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void json_string(struct json_out *j, const char *s)
{
    before_value(j);
    if (s)
        json_write_string(j->f, s);
    else
        fputs("null", j->f);
}

void json_int(struct json_out *j, long long v)
{
    before_value(j);
    fprintf(j->f, "%lld", v);
}

void json_bool(struct json_out *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(struct json_out *j)
{
    before_value(j);
    fputs("null", j->f);
}
