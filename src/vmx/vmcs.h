/*
 * vmcs.h — VMCS field access.  Field *encodings* come only from
 * vmcs_fields.def; where a field is *stored* is this module's business:
 *
 *   - the current VMCS is cached in struct vmcs (one uint64_t per field,
 *     indexed by enum vmcs_field) while it is current;
 *   - in guest memory (the VMCS region at the VMCS pointer) nestvm's
 *     implementation-specific layout is:
 *         0x000  revision identifier (bits 30:0), shadow-VMCS indicator (bit 31)
 *         0x004  VMX-abort indicator
 *         0x008  launch state (0 clear, 1 launched)
 *         0x010  field[i] at 0x010 + 8 * i
 *     VMPTRLD reads it into the cache, VMCLEAR writes the cache back, so a
 *     guest hypervisor that moves or inspects its VMCS sees consistent data.
 */
#ifndef NESTVM_VMX_VMCS_H
#define NESTVM_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
#define FIELD(name, enc) VMCS_##name,
#include "vmx/vmcs_fields.def"
#undef FIELD
    VMCS_NFIELDS
};

#define VMCS_REGION_DATA 0x10
#define VMCS_REGION_SIZE 4096
#define VMCS_REVISION_ID 0x4e56 /* 'NV' */

/* Encoding helpers (SDM Vol.3 24.11.2). */
enum { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };
static inline unsigned vmcs_enc_width(uint32_t enc) { return (enc >> 13) & 3; }
static inline unsigned vmcs_enc_type(uint32_t enc) { return (enc >> 10) & 3; }
static inline bool vmcs_enc_high(uint32_t enc) { return enc & 1; }

struct vmcs {
    uint64_t f[VMCS_NFIELDS];
};

/* Index of a field encoding (a "high" encoding maps to its 64-bit field,
 * *high set); -1 if nestvm does not support the field. */
int vmcs_field_index(uint32_t enc, bool *high);
uint32_t vmcs_field_encoding(enum vmcs_field f);
const char *vmcs_field_name(enum vmcs_field f);

/* Read/write with the field's width applied (truncation per SDM 30.3 VMWRITE). */
uint64_t vmcs_get(const struct vmcs *v, enum vmcs_field f);
void vmcs_set(struct vmcs *v, enum vmcs_field f, uint64_t val);
/* By encoding, as VMREAD/VMWRITE see it (high halves included); false if
 * the encoding is unsupported. */
bool vmcs_read_enc(const struct vmcs *v, uint32_t enc, uint64_t *val);
bool vmcs_write_enc(struct vmcs *v, uint32_t enc, uint64_t val);

#endif
