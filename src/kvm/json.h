/*
 * json.h — a tiny streaming JSON writer (RFC 8259) for `nestvm check
 * --json`: objects, arrays, strings with proper escaping, integers,
 * booleans, null.  Output is indented, two spaces per level.
 *
 *     struct json_out j;
 *     json_init(&j, stdout);
 *     json_begin_object(&j);
 *     json_key(&j, "flavour"); json_string(&j, "pvm");
 *     json_end_object(&j);          // also ends the line at depth 0
 */
#ifndef NESTVM_KVM_JSON_H
#define NESTVM_KVM_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_out {
    FILE *f;
    int depth;
    bool has_items[JSON_MAX_DEPTH]; /* a value was already written at this depth */
    bool after_key;
};

void json_init(struct json_out *j, FILE *f);
void json_begin_object(struct json_out *j);
void json_end_object(struct json_out *j);
void json_begin_array(struct json_out *j);
void json_end_array(struct json_out *j);
/* Inside an object: the next value's name. */
void json_key(struct json_out *j, const char *key);
/* s == NULL writes null. */
void json_string(struct json_out *j, const char *s);
void json_int(struct json_out *j, long long v);
void json_bool(struct json_out *j, bool v);
void json_null(struct json_out *j);
/* A JSON string literal for s (quotes included): control characters as
 * \n, \t ... or \u00XX, '"' and '\\' escaped, invalid UTF-8 bytes as
 * \ufffd so the output is always valid UTF-8. */
void json_write_string(FILE *f, const char *s);

#endif
