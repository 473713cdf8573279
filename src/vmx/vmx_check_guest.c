/*
 * vmx_check_guest.c — VM-entry checks on the guest-state area (SDM Vol.3
 * 26.3.1): control/debug registers and MSRs (26.3.1.1), segment registers
 * (26.3.1.2), GDTR/IDTR (26.3.1.3), RIP/RFLAGS (26.3.1.4), non-register
 * state (26.3.1.5) and PDPTEs (26.3.1.6).  A failure is not a VMfail: VM
 * entry fails with a VM exit of basic reason 33 (invalid guest state) and
 * the exit qualification of SDM 26.8 (2 = PDPTEs, 4 = VMCS link pointer,
 * else 0) — vmx_entry.c performs it.
 *
 * Terms as in the SDM: the guest "will be IA-32e mode" if the "IA-32e mode
 * guest" entry control is 1, "virtual-8086" if RFLAGS.VM is 1 in the guest
 * RFLAGS field, a register is "usable" if its AR unusable bit is 0.  With
 * "unrestricted guest" CR0.PE/PG may be 0 and the real-mode relaxations of
 * 26.3.1.2 apply (CS type 3, SS/CS DPL rules not tied to RPLs).
 */
#include "cpu/msr.h"
#include "vmx/vmx_check.h"

#define S_CRS "SDM 26.3.1.1"
#define S_SEGS "SDM 26.3.1.2"
#define S_DTRS "SDM 26.3.1.3"
#define S_RIP "SDM 26.3.1.4"
#define S_NONREG "SDM 26.3.1.5"
#define S_PDPTE "SDM 26.3.1.6"

/* Activity states (SDM 24.4.2). */
enum { ACT_ACTIVE, ACT_HLT, ACT_SHUTDOWN, ACT_WAIT_SIPI };
/* Interruptibility state bits (SDM 24.4.2, Table 24-3). */
#define BLOCK_STI 1u
#define BLOCK_MOV_SS 2u
#define BLOCK_SMI 4u
#define BLOCK_NMI 8u
/* Pending debug exceptions: B3-B0, enabled breakpoint (12), BS (14). */
#define PEND_DBG_DEFINED 0x500full
#define PEND_DBG_BS (1ull << 14)
#define DEBUGCTL_BTF (1ull << 1)

struct gseg {
    uint16_t sel;
    uint64_t base;
    uint32_t limit, ar;
    bool usable;
};

struct gctx {
    const struct vmcs *c;
    struct vmx_ctls k;
    bool ia32e, ug, v86;
    uint64_t cr0, cr4, rflags;
    uint32_t inject; /* VM-entry interruption information if valid, else 0 */
    uint32_t intr;   /* interruptibility state */
    uint32_t activity;
    struct gseg seg[8]; /* ES CS SS DS FS GS LDTR TR */
};

typedef bool guest_check(struct cpu *cpu, const struct gctx *g);

static const struct gseg *cs_of(const struct gctx *g) { return &g->seg[SEG_CS]; }
static const struct gseg *ss_of(const struct gctx *g) { return &g->seg[SEG_SS]; }
static const struct gseg *tr_of(const struct gctx *g) { return &g->seg[VMX_SEG_TR]; }
static const struct gseg *ldtr_of(const struct gctx *g) { return &g->seg[VMX_SEG_LDTR]; }

/* CS is checked whether or not it is usable (26.3.1.2). */
static bool checked(int s, const struct gseg *x)
{
    return s == SEG_CS || x->usable;
}

/* G versus limit: limit 11:0 not all ones → G = 0; limit 31:20 nonzero → G = 1. */
static bool granularity_ok(uint32_t limit, uint32_t ar)
{
    bool g = ar & AR_G;
    if ((limit & 0xfff) != 0xfff && g)
        return false;
    return !((limit >> 20) && !g);
}

/* ---------------- 26.3.1.1 control registers, debug registers, MSRs ---------------- */

static bool guest_cr0_fixed_bits(struct cpu *cpu, const struct gctx *g)
{
    uint64_t fixed0 = vmx_cr0_fixed0(), fixed1 = vmx_cr0_fixed1();
    if (g->ug)
        fixed0 &= ~(CR0_PE | CR0_PG); /* unrestricted guest (26.3.1.1 first item) */
    uint64_t guest_cr0 = g->cr0;
    return !VMX_CC(cpu, (guest_cr0 & fixed0) != fixed0 || (guest_cr0 & ~fixed1), S_CRS);
}

static bool guest_cr0_pg_needs_pe(struct cpu *cpu, const struct gctx *g)
{
    bool pg = g->cr0 & CR0_PG, pe = g->cr0 & CR0_PE;
    return !VMX_CC(cpu, pg && !pe, S_CRS);
}

static bool guest_cr4_fixed_bits(struct cpu *cpu, const struct gctx *g)
{
    uint64_t fixed0 = vmx_cr4_fixed0(), fixed1 = vmx_cr4_fixed1(), guest_cr4 = g->cr4;
    return !VMX_CC(cpu, (guest_cr4 & fixed0) != fixed0 || (guest_cr4 & ~fixed1), S_CRS);
}

/* "load debug controls": no reserved IA32_DEBUGCTL bits.  The engine
 * implements none of the DEBUGCTL features; WRMSR accepts (and ignores)
 * only LBR and BTF (msr.c), so every other bit counts as reserved. */
static bool guest_debugctl_reserved_bits(struct cpu *cpu, const struct gctx *g)
{
    bool load_debug_controls = g->k.entry & VMX_ENTRYCTL_LOAD_DEBUG;
    uint64_t debugctl = vmcs_get(g->c, VMCS_GUEST_IA32_DEBUGCTL);
    return !VMX_CC(cpu, load_debug_controls && (debugctl & ~DEBUGCTL_ACCEPTED_IGNORED),
                   S_CRS);
}

static bool guest_ia32e_needs_pg_and_pae(struct cpu *cpu, const struct gctx *g)
{
    bool ia32e_mode_guest = g->ia32e, pg = g->cr0 & CR0_PG, pae = g->cr4 & CR4_PAE;
    return !VMX_CC(cpu, ia32e_mode_guest && (!pg || !pae), S_CRS);
}

static bool guest_pcide_needs_ia32e(struct cpu *cpu, const struct gctx *g)
{
    bool ia32e_mode_guest = g->ia32e, pcide = g->cr4 & CR4_PCIDE;
    return !VMX_CC(cpu, !ia32e_mode_guest && pcide, S_CRS);
}

static bool guest_cr3_within_maxphyaddr(struct cpu *cpu, const struct gctx *g)
{
    uint64_t guest_cr3 = vmcs_get(g->c, VMCS_GUEST_CR3);
    return !VMX_CC(cpu, !vmx_pa_ok(guest_cr3), S_CRS);
}

static bool guest_dr7_high_bits(struct cpu *cpu, const struct gctx *g)
{
    bool load_debug_controls = g->k.entry & VMX_ENTRYCTL_LOAD_DEBUG;
    uint64_t guest_dr7 = vmcs_get(g->c, VMCS_GUEST_DR7);
    return !VMX_CC(cpu, load_debug_controls && (guest_dr7 >> 32), S_CRS);
}

static bool guest_sysenter_canonical(struct cpu *cpu, const struct gctx *g)
{
    uint64_t sysenter_esp = vmcs_get(g->c, VMCS_GUEST_SYSENTER_ESP);
    uint64_t sysenter_eip = vmcs_get(g->c, VMCS_GUEST_SYSENTER_EIP);
    return !VMX_CC(cpu, !seg_canonical(sysenter_esp) || !seg_canonical(sysenter_eip), S_CRS);
}

static bool guest_pat_valid(struct cpu *cpu, const struct gctx *g)
{
    bool load_pat = g->k.entry & VMX_ENTRYCTL_LOAD_PAT;
    uint64_t guest_pat = vmcs_get(g->c, VMCS_GUEST_IA32_PAT);
    return !VMX_CC(cpu, load_pat && !vmx_pat_ok(guest_pat), S_CRS);
}

static bool guest_efer_reserved_bits(struct cpu *cpu, const struct gctx *g)
{
    bool load_efer = g->k.entry & VMX_ENTRYCTL_LOAD_EFER;
    uint64_t guest_efer = vmcs_get(g->c, VMCS_GUEST_IA32_EFER);
    return !VMX_CC(cpu, load_efer && (guest_efer & ~cpuid_efer_valid_bits(cpu)), S_CRS);
}

/* "load IA32_EFER": LMA = "IA-32e mode guest"; LME = LMA when CR0.PG = 1. */
static bool guest_efer_lma_lme(struct cpu *cpu, const struct gctx *g)
{
    bool load_efer = g->k.entry & VMX_ENTRYCTL_LOAD_EFER;
    uint64_t guest_efer = vmcs_get(g->c, VMCS_GUEST_IA32_EFER);
    bool lma = guest_efer & EFER_LMA, lme = guest_efer & EFER_LME, pg = g->cr0 & CR0_PG;
    bool ia32e_mode_guest = g->ia32e;
    return !VMX_CC(cpu, load_efer && (lma != ia32e_mode_guest || (pg && lme != lma)), S_CRS);
}

/* ---------------- 26.3.1.2 segment registers ---------------- */

/* TR.TI = 0; LDTR.TI = 0 when LDTR is usable. */
static bool guest_tr_ldtr_selector_ti(struct cpu *cpu, const struct gctx *g)
{
    bool tr_ti = tr_of(g)->sel & 4, ldtr_ti = ldtr_of(g)->usable && (ldtr_of(g)->sel & 4);
    return !VMX_CC(cpu, tr_ti || ldtr_ti, S_SEGS);
}

/* Not virtual-8086 and no unrestricted guest: SS.RPL = CS.RPL. */
static bool guest_ss_rpl_equals_cs_rpl(struct cpu *cpu, const struct gctx *g)
{
    unsigned ss_rpl = ss_of(g)->sel & 3, cs_rpl = cs_of(g)->sel & 3;
    return !VMX_CC(cpu, !g->v86 && !g->ug && ss_rpl != cs_rpl, S_SEGS);
}

/* Virtual-8086: base = selector * 16, limit FFFFH, AR F3H for CS..GS. */
static bool guest_v86_segments(struct cpu *cpu, const struct gctx *g)
{
    bool v86_segment_mismatch = false;
    for (int s = SEG_ES; s <= SEG_GS; s++) {
        const struct gseg *x = &g->seg[s];
        if (x->base != (uint64_t)x->sel << 4 || x->limit != 0xffff || x->ar != 0xf3)
            v86_segment_mismatch = true;
    }
    return !VMX_CC(cpu, g->v86 && v86_segment_mismatch, S_SEGS);
}

/* TR, FS, GS (and a usable LDTR) bases are canonical. */
static bool guest_bases_canonical(struct cpu *cpu, const struct gctx *g)
{
    bool noncanonical_base = !seg_canonical(tr_of(g)->base) ||
                             !seg_canonical(g->seg[SEG_FS].base) ||
                             !seg_canonical(g->seg[SEG_GS].base) ||
                             (ldtr_of(g)->usable && !seg_canonical(ldtr_of(g)->base));
    return !VMX_CC(cpu, noncanonical_base, S_SEGS);
}

/* CS (and usable SS, DS, ES) bases have bits 63:32 clear. */
static bool guest_bases_high_bits(struct cpu *cpu, const struct gctx *g)
{
    bool base_above_4g = false;
    static const int segs[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        const struct gseg *x = &g->seg[segs[i]];
        if (checked(segs[i], x) && (x->base >> 32))
            base_above_4g = true;
    }
    return !VMX_CC(cpu, base_above_4g, S_SEGS);
}

/* CS type: accessed code (9, 11, 13, 15), or 3 with unrestricted guest. */
static bool guest_cs_type(struct cpu *cpu, const struct gctx *g)
{
    unsigned cs_type = AR_TYPE(cs_of(g)->ar);
    bool accessed_code = cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15;
    bool allowed = accessed_code || (g->ug && cs_type == 3);
    return !VMX_CC(cpu, !g->v86 && !allowed, S_SEGS);
}

/* A usable SS is a read/write accessed data segment (type 3 or 7). */
static bool guest_ss_type(struct cpu *cpu, const struct gctx *g)
{
    unsigned ss_type = AR_TYPE(ss_of(g)->ar);
    bool usable_ss = ss_of(g)->usable;
    return !VMX_CC(cpu, !g->v86 && usable_ss && ss_type != 3 && ss_type != 7, S_SEGS);
}

/* Usable DS, ES, FS, GS: accessed; a code segment must be readable. */
static bool guest_data_segment_types(struct cpu *cpu, const struct gctx *g)
{
    bool bad_data_segment_type = false;
    static const int segs[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        const struct gseg *x = &g->seg[segs[i]];
        unsigned type = AR_TYPE(x->ar);
        if (x->usable && (!(type & 1) || ((type & 8) && !(type & 2))))
            bad_data_segment_type = true;
    }
    return !VMX_CC(cpu, !g->v86 && bad_data_segment_type, S_SEGS);
}

/* CS and usable SS/DS/ES/FS/GS: S = 1, P = 1, AR bits 11:8 and 31:17 zero,
 * G consistent with the limit. */
static bool guest_segment_s_p_reserved_g(struct cpu *cpu, const struct gctx *g)
{
    bool not_s_or_not_present = false, reserved_ar_bits = false, granularity_mismatch = false;
    for (int s = SEG_ES; s <= SEG_GS; s++) {
        const struct gseg *x = &g->seg[s];
        if (!checked(s, x))
            continue;
        not_s_or_not_present |= !(x->ar & AR_S) || !(x->ar & AR_P);
        reserved_ar_bits |= (x->ar & 0xf00) || (x->ar >> 17);
        granularity_mismatch |= !granularity_ok(x->limit, x->ar);
    }
    return !VMX_CC(cpu, !g->v86 && not_s_or_not_present, S_SEGS) &&
           !VMX_CC(cpu, !g->v86 && reserved_ar_bits, S_SEGS) &&
           !VMX_CC(cpu, !g->v86 && granularity_mismatch, S_SEGS);
}

/* CS.DPL: type 3 → 0; 9/11 → = SS.DPL; 13/15 → <= SS.DPL. */
static bool guest_cs_dpl(struct cpu *cpu, const struct gctx *g)
{
    unsigned cs_type = AR_TYPE(cs_of(g)->ar);
    unsigned cs_dpl = AR_DPL(cs_of(g)->ar), ss_dpl = AR_DPL(ss_of(g)->ar);
    bool bad_cs_dpl = (cs_type == 3 && cs_dpl != 0) ||
                      ((cs_type == 9 || cs_type == 11) && cs_dpl != ss_dpl) ||
                      ((cs_type == 13 || cs_type == 15) && cs_dpl > ss_dpl);
    return !VMX_CC(cpu, !g->v86 && bad_cs_dpl, S_SEGS);
}

/* SS.DPL = SS.RPL without unrestricted guest; 0 if CS type 3 or CR0.PE = 0. */
static bool guest_ss_dpl(struct cpu *cpu, const struct gctx *g)
{
    unsigned ss_dpl = AR_DPL(ss_of(g)->ar), ss_rpl = ss_of(g)->sel & 3;
    bool real_mode_or_data_cs = AR_TYPE(cs_of(g)->ar) == 3 || !(g->cr0 & CR0_PE);
    return !VMX_CC(cpu, !g->v86 && !g->ug && ss_dpl != ss_rpl, S_SEGS) &&
           !VMX_CC(cpu, !g->v86 && real_mode_or_data_cs && ss_dpl != 0, S_SEGS);
}

/* Without unrestricted guest: usable DS/ES/FS/GS of type 0-11 have DPL >= RPL. */
static bool guest_data_segment_dpl(struct cpu *cpu, const struct gctx *g)
{
    bool dpl_below_rpl = false;
    static const int segs[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        const struct gseg *x = &g->seg[segs[i]];
        if (x->usable && AR_TYPE(x->ar) <= 11 && AR_DPL(x->ar) < (x->sel & 3u))
            dpl_below_rpl = true;
    }
    return !VMX_CC(cpu, !g->v86 && !g->ug && dpl_below_rpl, S_SEGS);
}

/* IA-32e mode guest with CS.L = 1: CS.D/B = 0. */
static bool guest_cs_l_excludes_d(struct cpu *cpu, const struct gctx *g)
{
    bool cs_l = cs_of(g)->ar & AR_L, cs_d = cs_of(g)->ar & AR_DB;
    return !VMX_CC(cpu, !g->v86 && g->ia32e && cs_l && cs_d, S_SEGS);
}

/* TR type: 11 (busy 32/64-bit TSS), or 3 (busy 16-bit TSS) outside IA-32e mode. */
static bool guest_tr_type(struct cpu *cpu, const struct gctx *g)
{
    unsigned tr_type = AR_TYPE(tr_of(g)->ar);
    bool busy_tss = tr_type == 11 || (!g->ia32e && tr_type == 3);
    return !VMX_CC(cpu, !busy_tss, S_SEGS);
}

/* TR: S = 0, P = 1, usable, reserved AR bits 0, G consistent. */
static bool guest_tr_access_rights(struct cpu *cpu, const struct gctx *g)
{
    const struct gseg *tr = tr_of(g);
    bool tr_s_or_not_present = (tr->ar & AR_S) || !(tr->ar & AR_P);
    bool tr_unusable = !tr->usable;
    bool tr_reserved_bits = (tr->ar & 0xf00) || (tr->ar >> 17);
    bool tr_granularity_mismatch = !granularity_ok(tr->limit, tr->ar);
    return !VMX_CC(cpu, tr_s_or_not_present || tr_unusable, S_SEGS) &&
           !VMX_CC(cpu, tr_reserved_bits || tr_granularity_mismatch, S_SEGS);
}

/* A usable LDTR: type 2, S = 0, P = 1, reserved AR bits 0, G consistent. */
static bool guest_ldtr_access_rights(struct cpu *cpu, const struct gctx *g)
{
    const struct gseg *l = ldtr_of(g);
    bool bad_ldtr = AR_TYPE(l->ar) != 2 || (l->ar & AR_S) || !(l->ar & AR_P) ||
                    (l->ar & 0xf00) || (l->ar >> 17) || !granularity_ok(l->limit, l->ar);
    return !VMX_CC(cpu, l->usable && bad_ldtr, S_SEGS);
}

/* ---------------- 26.3.1.3 GDTR and IDTR ---------------- */

static bool guest_gdtr_idtr(struct cpu *cpu, const struct gctx *g)
{
    uint64_t gdtr_base = vmcs_get(g->c, VMCS_GUEST_GDTR_BASE);
    uint64_t idtr_base = vmcs_get(g->c, VMCS_GUEST_IDTR_BASE);
    uint64_t gdtr_limit = vmcs_get(g->c, VMCS_GUEST_GDTR_LIMIT);
    uint64_t idtr_limit = vmcs_get(g->c, VMCS_GUEST_IDTR_LIMIT);
    return !VMX_CC(cpu, !seg_canonical(gdtr_base) || !seg_canonical(idtr_base), S_DTRS) &&
           !VMX_CC(cpu, (gdtr_limit >> 16) || (idtr_limit >> 16), S_DTRS);
}

/* ---------------- 26.3.1.4 RIP and RFLAGS ---------------- */

/* RIP 63:32 = 0 unless IA-32e mode with CS.L = 1; then canonical. */
static bool guest_rip(struct cpu *cpu, const struct gctx *g)
{
    uint64_t guest_rip = vmcs_get(g->c, VMCS_GUEST_RIP);
    bool code64 = g->ia32e && (cs_of(g)->ar & AR_L);
    return !VMX_CC(cpu, !code64 && (guest_rip >> 32), S_RIP) &&
           !VMX_CC(cpu, code64 && !seg_canonical(guest_rip), S_RIP);
}

/* RFLAGS: bits 63:22, 15, 5, 3 are 0 and bit 1 is 1. */
static bool guest_rflags_reserved_bits(struct cpu *cpu, const struct gctx *g)
{
    uint64_t rflags = g->rflags;
    uint64_t reserved = ~0ull << 22 | 1u << 15 | 1u << 5 | 1u << 3;
    return !VMX_CC(cpu, (rflags & reserved) || !(rflags & 2), S_RIP);
}

static bool guest_rflags_vm(struct cpu *cpu, const struct gctx *g)
{
    bool vm = g->v86, pe = g->cr0 & CR0_PE;
    return !VMX_CC(cpu, vm && (g->ia32e || !pe), S_RIP);
}

/* Injecting an external interrupt needs RFLAGS.IF = 1. */
static bool guest_if_for_external_interrupt(struct cpu *cpu, const struct gctx *g)
{
    bool inject_external = g->inject && VMX_INTR_TYPE(g->inject) == VMX_INTR_TYPE_EXT;
    bool interrupt_flag = g->rflags & FL_IF;
    return !VMX_CC(cpu, inject_external && !interrupt_flag, S_RIP);
}

/* ---------------- 26.3.1.5 non-register state ---------------- */

/* Activity state: active, or one IA32_VMX_MISC bits 8:6 report. */
static bool guest_activity_state_supported(struct cpu *cpu, const struct gctx *g)
{
    uint32_t activity = g->activity;
    bool supported = activity == ACT_ACTIVE ||
                     (activity <= ACT_WAIT_SIPI && ((vmx_misc_caps() >> (5 + activity)) & 1));
    return !VMX_CC(cpu, !supported, S_NONREG);
}

static bool guest_hlt_needs_ss_dpl0(struct cpu *cpu, const struct gctx *g)
{
    bool hlt = g->activity == ACT_HLT;
    unsigned ss_dpl = AR_DPL(ss_of(g)->ar);
    return !VMX_CC(cpu, hlt && ss_dpl != 0, S_NONREG);
}

/* Blocking by STI or MOV SS: the activity state must be active. */
static bool guest_blocking_needs_active(struct cpu *cpu, const struct gctx *g)
{
    bool sti_or_mov_ss_blocking = g->intr & (BLOCK_STI | BLOCK_MOV_SS);
    return !VMX_CC(cpu, sti_or_mov_ss_blocking && g->activity != ACT_ACTIVE, S_NONREG);
}

/* An injected event must be one the activity state does not block: HLT
 * takes external interrupts, NMIs, #DB, #MC and MTF; shutdown NMIs and #MC;
 * wait-for-SIPI nothing. */
static bool guest_activity_allows_injection(struct cpu *cpu, const struct gctx *g)
{
    if (!g->inject || g->activity == ACT_ACTIVE)
        return true;
    unsigned type = VMX_INTR_TYPE(g->inject), vector = VMX_INTR_VECTOR(g->inject);
    bool nmi = type == VMX_INTR_TYPE_NMI;
    bool mc = type == VMX_INTR_TYPE_HW_EXC && vector == EXC_MC;
    bool allowed_in_hlt = type == VMX_INTR_TYPE_EXT || nmi || mc ||
                          (type == VMX_INTR_TYPE_HW_EXC && vector == EXC_DB) ||
                          (type == VMX_INTR_TYPE_OTHER && vector == 0);
    bool blocked_by_activity = (g->activity == ACT_HLT && !allowed_in_hlt) ||
                               (g->activity == ACT_SHUTDOWN && !nmi && !mc) ||
                               g->activity == ACT_WAIT_SIPI;
    return !VMX_CC(cpu, blocked_by_activity, S_NONREG);
}

/* Interruptibility: bits 31:4 reserved (bit 4 needs SGX); not STI and MOV SS
 * together; no SMI blocking outside SMM; STI blocking needs IF = 1. */
static bool guest_interruptibility_bits(struct cpu *cpu, const struct gctx *g)
{
    uint32_t intr = g->intr;
    bool sti_and_mov_ss = (intr & (BLOCK_STI | BLOCK_MOV_SS)) == (BLOCK_STI | BLOCK_MOV_SS);
    bool sti_without_if = (intr & BLOCK_STI) && !(g->rflags & FL_IF);
    return !VMX_CC(cpu, (intr >> 4) || (intr & BLOCK_SMI), S_NONREG) &&
           !VMX_CC(cpu, sti_and_mov_ss, S_NONREG) && !VMX_CC(cpu, sti_without_if, S_NONREG);
}

/* Injection versus blocking: an external interrupt needs no STI/MOV-SS
 * blocking, an NMI no MOV-SS blocking and, with virtual NMIs, no (virtual-)
 * NMI blocking. */
static bool guest_injection_not_blocked(struct cpu *cpu, const struct gctx *g)
{
    unsigned type = VMX_INTR_TYPE(g->inject);
    bool inject_external = g->inject && type == VMX_INTR_TYPE_EXT;
    bool inject_nmi = g->inject && type == VMX_INTR_TYPE_NMI;
    bool virtual_nmis = g->k.pin & VMX_PIN_VIRTUAL_NMI;
    return !VMX_CC(cpu, inject_external && (g->intr & (BLOCK_STI | BLOCK_MOV_SS)), S_NONREG) &&
           !VMX_CC(cpu, inject_nmi && (g->intr & BLOCK_MOV_SS), S_NONREG) &&
           !VMX_CC(cpu, inject_nmi && virtual_nmis && (g->intr & BLOCK_NMI), S_NONREG);
}

/* Pending debug exceptions: only B3-B0, bit 12 and BS (no RTM); with STI/
 * MOV-SS blocking or HLT, BS = RFLAGS.TF && !IA32_DEBUGCTL.BTF. */
static bool guest_pending_debug_exceptions(struct cpu *cpu, const struct gctx *g)
{
    uint64_t pending = vmcs_get(g->c, VMCS_GUEST_PENDING_DBG_EXCEPTIONS);
    bool blocking_or_hlt = (g->intr & (BLOCK_STI | BLOCK_MOV_SS)) || g->activity == ACT_HLT;
    bool tf = g->rflags & FL_TF;
    bool btf = vmcs_get(g->c, VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF;
    bool bs = pending & PEND_DBG_BS;
    return !VMX_CC(cpu, pending & ~PEND_DBG_DEFINED, S_NONREG) &&
           !VMX_CC(cpu, blocking_or_hlt && bs != (tf && !btf), S_NONREG);
}

/* VMCS link pointer other than ~0: 4-KByte aligned within MAXPHYADDR, a
 * region with nestvm's revision identifier whose shadow-VMCS indicator
 * equals the "VMCS shadowing" control.  Exit qualification 4. */
static bool guest_vmcs_link_pointer(struct cpu *cpu, const struct gctx *g)
{
    uint64_t link = vmcs_get(g->c, VMCS_VMCS_LINK_POINTER);
    if (link == VMX_NO_VMCS)
        return true;
    uint32_t rev = ~0u;
    bool link_unaligned_or_above_maxphyaddr = !vmx_page_ok(link);
    bool link_revision_mismatch = !vmx_read_l1(cpu, link, &rev, 4) ||
                                  (rev & 0x7fffffffu) != VMCS_REVISION_ID;
    bool shadow_indicator = rev >> 31, vmcs_shadowing = g->k.proc2 & VMX_PROC2_SHADOW_VMCS;
    return !VMX_CC(cpu, link_unaligned_or_above_maxphyaddr, S_NONREG) &&
           !VMX_CC(cpu, link_revision_mismatch, S_NONREG) &&
           !VMX_CC(cpu, shadow_indicator != vmcs_shadowing, S_NONREG);
}

/* ---------------- 26.3.1.6 PDPTEs ---------------- */

/* PAE paging without IA-32e mode: with EPT the PDPTE fields, else the
 * entries at guest CR3, have no reserved bits set when present.  Exit
 * qualification 2. */
static bool guest_pdptes(struct cpu *cpu, const struct gctx *g)
{
    if (!vmx_guest_pae_paging(g->c, &g->k))
        return true;
    uint64_t pdpte[4];
    bool pdpte_table_not_in_ram = false;
    if (g->k.proc2 & VMX_PROC2_EPT) {
        for (int i = 0; i < 4; i++)
            pdpte[i] = vmcs_get(g->c, (enum vmcs_field)(VMCS_GUEST_PDPTE0 + i));
    } else {
        pdpte_table_not_in_ram = !vmx_read_pdptes(cpu, vmcs_get(g->c, VMCS_GUEST_CR3), pdpte);
    }
    bool pdpte_reserved_bits = false;
    for (int i = 0; i < 4 && !pdpte_table_not_in_ram; i++)
        pdpte_reserved_bits |= !vmx_pdpte_ok(pdpte[i]);
    return !VMX_CC(cpu, pdpte_table_not_in_ram, S_PDPTE) &&
           !VMX_CC(cpu, pdpte_reserved_bits, S_PDPTE);
}
_Static_assert(VMCS_GUEST_PDPTE3 == VMCS_GUEST_PDPTE0 + 3, "PDPTE fields are consecutive");

/* ---------------- in SDM order, with the exit qualification of each ---------------- */

static const struct {
    guest_check *fn;
    uint64_t qual;
} guest_checks[] = {
    { guest_cr0_fixed_bits, 0 },
    { guest_cr0_pg_needs_pe, 0 },
    { guest_cr4_fixed_bits, 0 },
    { guest_debugctl_reserved_bits, 0 },
    { guest_ia32e_needs_pg_and_pae, 0 },
    { guest_pcide_needs_ia32e, 0 },
    { guest_cr3_within_maxphyaddr, 0 },
    { guest_dr7_high_bits, 0 },
    { guest_sysenter_canonical, 0 },
    { guest_pat_valid, 0 },
    { guest_efer_reserved_bits, 0 },
    { guest_efer_lma_lme, 0 },
    { guest_tr_ldtr_selector_ti, 0 },
    { guest_ss_rpl_equals_cs_rpl, 0 },
    { guest_v86_segments, 0 },
    { guest_bases_canonical, 0 },
    { guest_bases_high_bits, 0 },
    { guest_cs_type, 0 },
    { guest_ss_type, 0 },
    { guest_data_segment_types, 0 },
    { guest_segment_s_p_reserved_g, 0 },
    { guest_cs_dpl, 0 },
    { guest_ss_dpl, 0 },
    { guest_data_segment_dpl, 0 },
    { guest_cs_l_excludes_d, 0 },
    { guest_tr_type, 0 },
    { guest_tr_access_rights, 0 },
    { guest_ldtr_access_rights, 0 },
    { guest_gdtr_idtr, 0 },
    { guest_rip, 0 },
    { guest_rflags_reserved_bits, 0 },
    { guest_rflags_vm, 0 },
    { guest_if_for_external_interrupt, 0 },
    { guest_activity_state_supported, 0 },
    { guest_hlt_needs_ss_dpl0, 0 },
    { guest_blocking_needs_active, 0 },
    { guest_activity_allows_injection, 0 },
    { guest_interruptibility_bits, 0 },
    { guest_injection_not_blocked, 0 },
    { guest_pending_debug_exceptions, 0 },
    { guest_vmcs_link_pointer, 4 },
    { guest_pdptes, 2 },
};

bool vmx_check_guest_state(struct cpu *cpu, uint64_t *qual)
{
    struct gctx g;
    g.c = &cpu->vmx->vmcs;
    vmx_ctls_get(g.c, &g.k);
    g.ia32e = g.k.entry & VMX_ENTRYCTL_IA32E_GUEST;
    g.ug = g.k.proc2 & VMX_PROC2_UNRESTRICTED;
    g.cr0 = vmcs_get(g.c, VMCS_GUEST_CR0);
    g.cr4 = vmcs_get(g.c, VMCS_GUEST_CR4);
    g.rflags = vmcs_get(g.c, VMCS_GUEST_RFLAGS);
    g.v86 = g.rflags & FL_VM;
    uint32_t info = (uint32_t)vmcs_get(g.c, VMCS_VM_ENTRY_INTR_INFO_FIELD);
    g.inject = (info & VMX_INTR_VALID) ? info : 0;
    g.intr = (uint32_t)vmcs_get(g.c, VMCS_GUEST_INTERRUPTIBILITY_INFO);
    g.activity = (uint32_t)vmcs_get(g.c, VMCS_GUEST_ACTIVITY_STATE);
    for (int s = 0; s < 8; s++) {
        struct gseg *x = &g.seg[s];
        x->sel = (uint16_t)vmcs_get(g.c, vmx_gseg_sel(s));
        x->base = vmcs_get(g.c, vmx_gseg_base(s));
        x->limit = (uint32_t)vmcs_get(g.c, vmx_gseg_limit(s));
        x->ar = (uint32_t)vmcs_get(g.c, vmx_gseg_ar(s));
        x->usable = !(x->ar & AR_UNUSABLE);
    }
    *qual = 0;
    for (size_t i = 0; i < sizeof(guest_checks) / sizeof(guest_checks[0]); i++)
        if (!guest_checks[i].fn(cpu, &g)) {
            *qual = guest_checks[i].qual;
            return false;
        }
    return true;
}
