/*
 * vmcs.c — VMCS field table and width rules (see vmcs.h).
 */
#include "vmx/vmcs.h"

static const uint32_t enc_of[VMCS_NFIELDS] = {
#define FIELD(name, enc) [VMCS_##name] = enc,
#include "vmx/vmcs_fields.def"
#undef FIELD
};

static const char *const name_of[VMCS_NFIELDS] = {
#define FIELD(name, enc) [VMCS_##name] = #name,
#include "vmx/vmcs_fields.def"
#undef FIELD
};

uint32_t vmcs_field_encoding(enum vmcs_field f)
{
    return f < VMCS_NFIELDS ? enc_of[f] : 0xffffffffu;
}

const char *vmcs_field_name(enum vmcs_field f)
{
    return f < VMCS_NFIELDS ? name_of[f] : "?";
}

int vmcs_field_index(uint32_t enc, bool *high)
{
    /* Bits 31:15 must be 0 (SDM 24.11.2); 64-bit fields have a high alias. */
    if (enc >> 15)
        return -1;
    bool h = false;
    if (vmcs_enc_high(enc)) {
        if (vmcs_enc_width(enc) != VMCS_W64)
            return -1;
        h = true;
        enc &= ~1u;
    }
    /* The table is small (about 170 entries) and VMREAD/VMWRITE are rare
     * compared with guest instructions; a linear scan keeps one source of truth. */
    for (int i = 0; i < VMCS_NFIELDS; i++)
        if (enc_of[i] == enc) {
            if (high)
                *high = h;
            return i;
        }
    return -1;
}

static uint64_t width_mask(uint32_t enc)
{
    switch (vmcs_enc_width(enc)) {
    case VMCS_W16: return 0xffff;
    case VMCS_W32: return 0xffffffff;
    default: return ~0ull;
    }
}

uint64_t vmcs_get(const struct vmcs *v, enum vmcs_field f)
{
    return v->f[f] & width_mask(enc_of[f]);
}

void vmcs_set(struct vmcs *v, enum vmcs_field f, uint64_t val)
{
    v->f[f] = val & width_mask(enc_of[f]);
}

bool vmcs_read_enc(const struct vmcs *v, uint32_t enc, uint64_t *val)
{
    bool high;
    int i = vmcs_field_index(enc, &high);
    if (i < 0)
        return false;
    uint64_t x = vmcs_get(v, (enum vmcs_field)i);
    *val = high ? x >> 32 : x;
    return true;
}

bool vmcs_write_enc(struct vmcs *v, uint32_t enc, uint64_t val)
{
    bool high;
    int i = vmcs_field_index(enc, &high);
    if (i < 0)
        return false;
    if (high)
        v->f[i] = (v->f[i] & 0xffffffffull) | (val << 32);
    else
        vmcs_set(v, (enum vmcs_field)i, val);
    return true;
}
