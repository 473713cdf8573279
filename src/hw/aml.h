/*
 * aml.h — a tiny ACPI Machine Language encoder (ACPI 6.x chapter 20, "ACPI
 * Machine Language Specification"; resource descriptors: chapter 6.4).
 *
 * Output goes into a caller-provided byte buffer; running out of room sets
 * a->error instead of writing past the end.  Nested objects (Scope, Device,
 * Package) are opened with *_begin(), which returns a mark, and closed with
 * aml_end(mark), which back-patches the minimal PkgLength encoding.
 *
 *     size_t s = aml_scope_begin(a, "\\_SB_");
 *       size_t d = aml_device_begin(a, "COM1");
 *         aml_name(a, "_HID"); aml_eisaid(a, "PNP0501");
 *       aml_end(a, d);
 *     aml_end(a, s);
 */
#ifndef NESTVM_HW_AML_H
#define NESTVM_HW_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t cap, len;
    bool error; /* overflow or malformed input; output is then unusable */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_u16(struct aml *a, uint16_t v); /* little-endian raw data */
void aml_u32(struct aml *a, uint32_t v);

/* Data objects */
void aml_namestring(struct aml *a, const char *path); /* "\\_SB_.COM1", "_S5_", "^FOO" */
void aml_integer(struct aml *a, uint64_t v);          /* Zero/One/Byte/Word/DWord/QWord */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);       /* "PNP0501" -> DWordConst */
void aml_buffer(struct aml *a, const uint8_t *data, size_t len);

/* Named objects and scopes */
void aml_name(struct aml *a, const char *name); /* NameOp NameString; emit the value next */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_package_begin(struct aml *a, uint8_t nelem);
void aml_end(struct aml *a, size_t mark);

/* Resource template items (ACPI 6.4.2 small / 6.4.3 large descriptors), to
 * be written into a separate struct aml and wrapped with aml_buffer(). */
void aml_rt_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_rt_irq_noflags(struct aml *rt, uint16_t mask);
void aml_rt_memory32_fixed(struct aml *rt, bool writable, uint32_t base, uint32_t len);
void aml_rt_interrupt(struct aml *rt, bool edge, bool active_low, bool shared, uint32_t gsi);
void aml_rt_end(struct aml *rt);

#endif
