/*
 * vmx_insn.c — the VMX instructions (SDM Vol.3 chapter 30, "VMX Instruction
 * Reference"): VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE,
 * VMLAUNCH/VMRESUME (their own checks; vmx_entry.c does the rest), INVEPT,
 * INVVPID, VMCALL and VMFUNC, plus the VMsucceed/VMfail conventions (30.2).
 *
 * Every handler follows the SDM pseudocode's order of checks:
 *   1. #UD (not in VMX operation, CR0.PE = 0, RFLAGS.VM = 1, compatibility
 *      mode; VMXON: CR4.VMXE = 0);
 *   2. in VMX non-root operation: VM exit.  The intercept gate
 *      (vmx_op_intercept) normally takes these exits before a handler runs;
 *      a handler reached in non-root operation repeats the decision, so the
 *      architectural order holds whatever the gate does;
 *   3. #GP(0) if CPL > 0 (the table rows are not F_PRIV for that reason);
 *   4. VMfailInvalid / VMfailValid(n) checks, then the operation.
 *
 * VMCS storage: the current VMCS lives in cpu->vmx->vmcs while current.
 * VMPTRLD of another VMCS writes the old one back to its region (vmcs.h
 * layout) and reads the new one; VMCLEAR writes it back and forgets it.
 * VMCS regions are L1-physical and accessed only with bus_ram_ptr() over
 * the whole region; a region outside RAM reads as all-ones (open bus) and
 * ignores writes, so a hostile pointer ends in the architectural failure.
 *
 * VMWRITE may write the VM-exit information fields too: IA32_VMX_MISC bit 29
 * is advertised (vmx_caps.c), so error 13 never occurs (SDM 30.3 VMWRITE).
 */
#include "vmx/vmx.h"

#include "cpu/cpuid.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "cpu/ops_sys.h"

#define PA_WIDTH_MASK (~0ull << CPUID_MAXPHYADDR) /* bits beyond MAXPHYADDR */
#define VMCS_REGION_USED (VMCS_REGION_DATA + 8u * VMCS_NFIELDS)
#define REV_SHADOW (1u << 31)

_Static_assert(VMCS_REGION_USED <= VMCS_REGION_SIZE, "VMCS fields must fit the region");

/* ---------- VMsucceed / VMfail (SDM 30.2) ---------- */

void vmx_succeed(struct cpu *cpu)
{
    flags_set(cpu, FL_ARITH, 0); /* CF PF AF ZF SF OF := 0 */
}

void vmx_fail_invalid(struct cpu *cpu)
{
    flags_set(cpu, FL_ARITH, FL_CF); /* CF := 1, PF AF ZF SF OF := 0 */
}

void vmx_fail_valid(struct cpu *cpu, enum vmx_insn_error err)
{
    flags_set(cpu, FL_ARITH, FL_ZF); /* ZF := 1, CF PF AF SF OF := 0 */
    vmcs_set(&cpu->vmx->vmcs, VMCS_VM_INSTRUCTION_ERROR, (uint64_t)err);
}

void vmx_fail(struct cpu *cpu, enum vmx_insn_error err)
{
    if (cpu->vmx->current == VMX_NO_VMCS)
        vmx_fail_invalid(cpu);
    else
        vmx_fail_valid(cpu, err);
}

/* ---------- VMCS regions in L1-physical memory (vmcs.h layout) ---------- */

static uint8_t *region_ptr(struct cpu *cpu, uint64_t pa)
{
    if (pa & (PA_WIDTH_MASK | 0xfff))
        return NULL;
    return bus_ram_ptr(cpu->bus, pa, VMCS_REGION_SIZE);
}

/* The 32-bit revision word at the start of a region; all-ones off RAM. */
static uint32_t region_rev(struct cpu *cpu, uint64_t pa)
{
    uint32_t rev = ~0u;
    const uint8_t *p = region_ptr(cpu, pa);
    if (p)
        memcpy(&rev, p, 4);
    return rev;
}

static void region_set_launch(struct cpu *cpu, uint64_t pa, bool launched)
{
    uint8_t *p = region_ptr(cpu, pa);
    if (!p)
        return;
    uint64_t v = launched;
    memcpy(p + 8, &v, 8);
    bus_note_dma(cpu->bus, pa + 8, 8);
}

void vmx_vmcs_flush(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    if (!v || v->current == VMX_NO_VMCS)
        return;
    uint8_t *p = region_ptr(cpu, v->current);
    if (!p)
        return;
    uint64_t launch = v->current_launched;
    memcpy(p + 8, &launch, 8);
    memcpy(p + VMCS_REGION_DATA, v->vmcs.f, sizeof(v->vmcs.f));
    bus_note_dma(cpu->bus, v->current, VMCS_REGION_USED);
}

/* Make the region at pa the current VMCS (its revision was checked). */
static void vmcs_load(struct cpu *cpu, uint64_t pa, uint32_t rev)
{
    struct vmx *v = cpu->vmx;
    const uint8_t *p = region_ptr(cpu, pa);
    uint64_t launch = 0;
    if (p) {
        memcpy(&launch, p + 8, 8);
        for (int i = 0; i < VMCS_NFIELDS; i++) {
            uint64_t x;
            memcpy(&x, p + VMCS_REGION_DATA + 8 * i, 8);
            vmcs_set(&v->vmcs, (enum vmcs_field)i, x); /* width rules */
        }
    } else {
        memset(&v->vmcs, 0, sizeof(v->vmcs));
    }
    v->current = pa;
    v->current_launched = launch == 1;
    v->current_shadow = (rev & REV_SHADOW) != 0;
}

/* ---------- shared checks ---------- */

bool vmx_insn_mode_ud(const struct cpu *cpu)
{
    if (!(cpu->cr0 & CR0_PE) || (cpu->rflags & FL_VM))
        return true;
    return (cpu->efer & EFER_LMA) && !cpu->code64; /* compatibility mode */
}

/* Exit qualification of VMX-instruction exits: the memory operand's
 * displacement, 0 for register operands (SDM 27.2.1, Table 27-1). */
static uint64_t insn_qual(const struct insn *in)
{
    return in->mod == 3 ? 0 : (uint64_t)(int64_t)in->disp;
}

/* Steps 1-3 of the VMX instructions except VMXON/VMCALL/VMFUNC. */
static struct vmx *vmx_insn_enter(struct cpu *cpu, const struct insn *in, uint32_t reason)
{
    struct vmx *v = cpu->vmx;
    if (!v || !v->vmxon || vmx_insn_mode_ud(cpu))
        cpu_ud(cpu);
    if (cpu->nonroot)
        vmx_exit_insn(cpu, in, reason, insn_qual(in));
    if (cpu->cpl > 0)
        cpu_gp0(cpu);
    return v;
}

/* The 64-bit memory operand of VMXON/VMCLEAR/VMPTRLD/VMPTRST. */
static uint64_t insn_mem_addr(struct cpu *cpu, const struct insn *in)
{
    return insn_ea(cpu, in);
}

/* Register size of VMREAD/VMWRITE/INVEPT/INVVPID: 64 bits in 64-bit mode,
 * else 32 (SDM 30.3). */
static unsigned vmx_reg_size(const struct cpu *cpu)
{
    return cpu->code64 ? 8 : 4;
}

/* ---------- VMXON / VMXOFF ---------- */

/* VMXON m64 (F3 0F C7 /6), SDM 30.3 "VMXON". */
void op_vmxon_Mq(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = cpu->vmx;
    if (!v || !(cpu->cr4 & CR4_VMXE) || vmx_insn_mode_ud(cpu))
        cpu_ud(cpu);
    if (v->vmxon) {
        if (cpu->nonroot)
            vmx_exit_insn(cpu, in, EXIT_REASON_VMON, insn_qual(in));
        if (cpu->cpl > 0)
            cpu_gp0(cpu);
        vmx_fail(cpu, VMXERR_VMXON_IN_ROOT);
        return;
    }
    /* Outside VMX operation: #GP(0) conditions.  The engine has no A20M
     * and no SMX; IA32_FEATURE_CONTROL must be locked with VMX outside SMX
     * enabled (SDM 23.7), CR0/CR4 must respect the fixed bits (23.8). */
    uint64_t fc = 0;
    if (msr_read(cpu, MSR_IA32_FEATURE_CONTROL, &fc) != 0)
        fc = 0;
    if (cpu->cpl > 0 || !(fc & FEATURE_CONTROL_LOCK) || !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
        cpu_gp0(cpu);
    if ((cpu->cr0 & vmx_cr0_fixed0()) != vmx_cr0_fixed0() || (cpu->cr0 & ~vmx_cr0_fixed1()) ||
        (cpu->cr4 & vmx_cr4_fixed0()) != vmx_cr4_fixed0() || (cpu->cr4 & ~vmx_cr4_fixed1()))
        cpu_gp0(cpu);
    uint64_t addr = mem_read64(cpu, in->seg, insn_mem_addr(cpu, in));
    if (addr & (PA_WIDTH_MASK | 0xfff)) {
        vmx_fail_invalid(cpu);
        return;
    }
    uint32_t rev = region_rev(cpu, addr);
    if ((rev & ~REV_SHADOW) != VMCS_REVISION_ID || (rev & REV_SHADOW)) {
        vmx_fail_invalid(cpu);
        return;
    }
    v->vmxon = true;
    v->vmxon_ptr = addr;
    v->current = VMX_NO_VMCS;
    v->current_launched = false;
    v->current_shadow = false;
    vmx_trace(cpu, "VMXON region %#llx", (unsigned long long)addr);
    vmx_succeed(cpu);
}

/* VMXOFF (0F 01 C4), SDM 30.3 "VMXOFF".  The current VMCS is not written
 * back (software must VMCLEAR first, SDM 24.11.1): the cache is kept but is
 * unreachable, and the next VMXON starts with no current VMCS.  Not writing
 * keeps memory the guest may already have reused untouched. */
void op_vmxoff(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = vmx_insn_enter(cpu, in, EXIT_REASON_VMOFF);
    /* No dual-monitor treatment of SMIs: error 23 cannot occur. */
    v->vmxon = false;
    v->vmxon_ptr = VMX_NO_VMCS;
    v->current = VMX_NO_VMCS;
    if (v->init_latched) { /* a blocked INIT is taken now (23.8) */
        atomic_fetch_or(&cpu->events, EV_INIT);
        cpu_end_block(cpu);
    }
    vmx_trace(cpu, "VMXOFF");
    vmx_succeed(cpu);
}

/* ---------- VMCLEAR / VMPTRLD / VMPTRST ---------- */

/* VMCLEAR m64 (66 0F C7 /6), SDM 30.3 "VMCLEAR". */
void op_vmclear_Mq(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = vmx_insn_enter(cpu, in, EXIT_REASON_VMCLEAR);
    uint64_t addr = mem_read64(cpu, in->seg, insn_mem_addr(cpu, in));
    if (addr & (PA_WIDTH_MASK | 0xfff)) {
        vmx_fail(cpu, VMXERR_VMCLEAR_INVALID_ADDR);
        return;
    }
    if (addr == v->vmxon_ptr) {
        vmx_fail(cpu, VMXERR_VMCLEAR_VMXON_PTR);
        return;
    }
    if (addr == v->current) {
        vmx_vmcs_flush(cpu); /* "ensure that data for the VMCS is in memory" */
        v->current = VMX_NO_VMCS;
        v->current_launched = false;
        v->current_shadow = false;
    }
    region_set_launch(cpu, addr, false);
    vmx_trace(cpu, "VMCLEAR %#llx", (unsigned long long)addr);
    vmx_succeed(cpu);
}

/* VMPTRLD m64 (0F C7 /6), SDM 30.3 "VMPTRLD". */
void op_vmptrld_Mq(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = vmx_insn_enter(cpu, in, EXIT_REASON_VMPTRLD);
    uint64_t addr = mem_read64(cpu, in->seg, insn_mem_addr(cpu, in));
    if (addr & (PA_WIDTH_MASK | 0xfff)) {
        vmx_fail(cpu, VMXERR_VMPTRLD_INVALID_ADDR);
        return;
    }
    if (addr == v->vmxon_ptr) {
        vmx_fail(cpu, VMXERR_VMPTRLD_VMXON_PTR);
        return;
    }
    /* Bit 31 (shadow-VMCS indicator) is allowed: VMCS shadowing is
     * supported (IA32_VMX_PROCBASED_CTLS2 bit 46). */
    uint32_t rev = region_rev(cpu, addr);
    if ((rev & ~REV_SHADOW) != VMCS_REVISION_ID) {
        vmx_fail(cpu, VMXERR_VMPTRLD_BAD_REVISION);
        return;
    }
    if (addr != v->current) { /* reloading the current VMCS keeps its cache */
        vmx_vmcs_flush(cpu);
        vmcs_load(cpu, addr, rev);
    } else {
        v->current_shadow = (rev & REV_SHADOW) != 0;
    }
    vmx_trace(cpu, "VMPTRLD %#llx", (unsigned long long)addr);
    vmx_succeed(cpu);
}

/* VMPTRST m64 (0F C7 /7), SDM 30.3 "VMPTRST". */
void op_vmptrst_Mq(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = vmx_insn_enter(cpu, in, EXIT_REASON_VMPTRST);
    mem_write64(cpu, in->seg, insn_mem_addr(cpu, in), v->current);
    vmx_succeed(cpu);
}

/* ---------- VMREAD / VMWRITE ---------- */

static uint64_t field_width_mask(enum vmcs_field f)
{
    switch (vmcs_enc_width(vmcs_field_encoding(f))) {
    case VMCS_W16: return 0xffff;
    case VMCS_W32: return 0xffffffff;
    default: return ~0ull;
    }
}

bool vmx_vmrw_exits(struct cpu *cpu, uint64_t enc, bool write)
{
    const struct vmcs *c = &cpu->vmx->vmcs;
    if (!(vmcs_get(c, VMCS_CPU_BASED_VM_EXEC_CONTROL) & VMX_PROC_SECONDARY) ||
        !(vmcs_get(c, VMCS_SECONDARY_VM_EXEC_CONTROL) & VMX_PROC2_SHADOW_VMCS))
        return true;
    if (enc >> 15)
        return true;
    /* Bit n of the 4-KByte bitmap for encoding n (SDM 24.6.15); a bitmap
     * outside RAM reads as all-ones. */
    uint64_t bm = vmcs_get(c, write ? VMCS_VMWRITE_BITMAP : VMCS_VMREAD_BITMAP);
    if (bm & PA_WIDTH_MASK)
        return true;
    const uint8_t *p = bus_ram_ptr(cpu->bus, (bm & ~0xfffull) + (enc >> 3), 1);
    return !p || ((*p >> (enc & 7)) & 1);
}

/* Host pointer to field i of the shadow VMCS at the VMCS link pointer
 * (SDM 24.10), NULL off RAM.  The link pointer is L1-physical. */
static uint8_t *shadow_field(struct cpu *cpu, uint64_t link, int i)
{
    if (!region_ptr(cpu, link))
        return NULL;
    return bus_ram_ptr(cpu->bus, link + VMCS_REGION_DATA + 8u * (unsigned)i, 8);
}

/* Where VMREAD/VMWRITE operate: the current VMCS in root operation, the
 * VMCS referenced by the link pointer in non-root operation.  Returns false
 * (after VMfailInvalid) when that VMCS pointer is not valid. */
static bool vmrw_target(struct cpu *cpu, uint64_t *link)
{
    struct vmx *v = cpu->vmx;
    if (v->current == VMX_NO_VMCS) {
        vmx_fail_invalid(cpu);
        return false;
    }
    if (cpu->nonroot) {
        *link = vmcs_get(&v->vmcs, VMCS_VMCS_LINK_POINTER);
        if (*link == VMX_NO_VMCS) {
            vmx_fail_invalid(cpu);
            return false;
        }
    }
    return true;
}

/* Field index for a VMREAD/VMWRITE encoding operand, or -1 (error 12). */
static int vmrw_index(uint64_t enc, bool *high)
{
    return enc >> 32 ? -1 : vmcs_field_index((uint32_t)enc, high);
}

/* VMREAD Ey, Gy (0F 78), SDM 30.3 "VMREAD". */
void op_vmread_EyGy(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = cpu->vmx;
    unsigned sz = vmx_reg_size(cpu);
    if (!v || !v->vmxon || vmx_insn_mode_ud(cpu))
        cpu_ud(cpu);
    uint64_t enc = reg_get(cpu, in->reg, sz);
    if (cpu->nonroot && vmx_vmrw_exits(cpu, enc, false))
        vmx_exit_insn(cpu, in, EXIT_REASON_VMREAD, insn_qual(in));
    if (cpu->cpl > 0)
        cpu_gp0(cpu);
    uint64_t link = 0;
    if (!vmrw_target(cpu, &link))
        return;
    bool high = false;
    int i = vmrw_index(enc, &high);
    if (i < 0) {
        vmx_fail_valid(cpu, VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    uint64_t val;
    if (cpu->nonroot) {
        const uint8_t *p = shadow_field(cpu, link, i);
        uint64_t raw = ~0ull;
        if (p)
            memcpy(&raw, p, 8);
        val = raw & field_width_mask((enum vmcs_field)i);
        if (high)
            val >>= 32;
    } else {
        val = vmcs_get(&v->vmcs, (enum vmcs_field)i);
        if (high)
            val >>= 32;
    }
    /* The destination gets the field zero-extended or truncated to the
     * operand size; a memory write may fault, so flags come after it. */
    op_write_rm(cpu, in, sz, val);
    vmx_succeed(cpu);
}

/* VMWRITE Gy, Ey (0F 79), SDM 30.3 "VMWRITE". */
void op_vmwrite_GyEy(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = cpu->vmx;
    unsigned sz = vmx_reg_size(cpu);
    if (!v || !v->vmxon || vmx_insn_mode_ud(cpu))
        cpu_ud(cpu);
    uint64_t enc = reg_get(cpu, in->reg, sz);
    if (cpu->nonroot && vmx_vmrw_exits(cpu, enc, true))
        vmx_exit_insn(cpu, in, EXIT_REASON_VMWRITE, insn_qual(in));
    if (cpu->cpl > 0)
        cpu_gp0(cpu);
    uint64_t link = 0;
    if (!vmrw_target(cpu, &link))
        return;
    uint64_t val = op_read_rm(cpu, in, sz); /* may fault: nothing changed yet */
    bool high = false;
    int i = vmrw_index(enc, &high);
    if (i < 0) {
        vmx_fail_valid(cpu, VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    if (vmcs_enc_type((uint32_t)enc) == 1 && !(vmx_misc_caps() & VMX_MISC_VMWRITE_ANY)) {
        /* VM-exit information: read-only unless IA32_VMX_MISC[29] */
        vmx_fail_valid(cpu, VMXERR_VMWRITE_READONLY);
        return;
    }
    if (cpu->nonroot) {
        uint8_t *p = shadow_field(cpu, link, i);
        if (p) {
            uint64_t raw;
            memcpy(&raw, p, 8);
            if (high)
                raw = (raw & 0xffffffffull) | (val << 32);
            else
                raw = val & field_width_mask((enum vmcs_field)i);
            memcpy(p, &raw, 8);
            bus_note_dma(cpu->bus, link + VMCS_REGION_DATA + 8u * (unsigned)i, 8);
        }
    } else {
        vmcs_write_enc(&v->vmcs, (uint32_t)enc, val);
    }
    vmx_succeed(cpu);
}

/* ---------- VMLAUNCH / VMRESUME ---------- */

/* SDM 30.3 "VMLAUNCH/VMRESUME" checks before vmx_vmentry() (26.1). */
static void launch_resume(struct cpu *cpu, const struct insn *in, bool launch)
{
    struct vmx *v = vmx_insn_enter(cpu, in, launch ? EXIT_REASON_VMLAUNCH : EXIT_REASON_VMRESUME);
    if (v->current == VMX_NO_VMCS || v->current_shadow) { /* shadow VMCS: 24.10 */
        vmx_fail_invalid(cpu);
        return;
    }
    /* Blocking by MOV SS (SDM 26.1): the engine marks it with bit 1 of
     * intr_shadow (interruptibility-state format, 24.4.2) for the one
     * instruction at intr_shadow_rip. */
    if ((cpu->intr_shadow & 2) && cpu->intr_shadow_rip == cpu->rip) {
        vmx_fail_valid(cpu, VMXERR_ENTRY_EVENTS_BLOCKED_MOV_SS);
        return;
    }
    if (launch && v->current_launched) {
        vmx_fail_valid(cpu, VMXERR_VMLAUNCH_NONCLEAR);
        return;
    }
    if (!launch && !v->current_launched) {
        vmx_fail_valid(cpu, VMXERR_VMRESUME_NONLAUNCHED);
        return;
    }
    vmx_vmentry(cpu, launch);
}

void op_vmlaunch(struct cpu *cpu, const struct insn *in)
{
    launch_resume(cpu, in, true);
}

void op_vmresume(struct cpu *cpu, const struct insn *in)
{
    launch_resume(cpu, in, false);
}

/* ---------- INVEPT / INVVPID ---------- */

static bool canonical48(uint64_t a)
{
    return (uint64_t)((int64_t)(a << (64 - CPUID_MAXLINADDR)) >> (64 - CPUID_MAXLINADDR)) == a;
}

/* INVEPT Gy, m128 (66 0F 38 80), SDM 30.3 "INVEPT".  The engine's TLB is
 * not tagged by EPTP, so every invalidation flushes all of it. */
void op_invept_GyMdq(struct cpu *cpu, const struct insn *in)
{
    vmx_insn_enter(cpu, in, EXIT_REASON_INVEPT);
    uint64_t type = reg_get(cpu, in->reg, vmx_reg_size(cpu));
    uint64_t caps = vmx_ept_vpid_caps();
    bool ok = (type == 1 && (caps & VMX_EPT_INVEPT_SINGLE)) ||
              (type == 2 && (caps & VMX_EPT_INVEPT_ALL));
    if (!(caps & VMX_EPT_INVEPT) || !ok) {
        vmx_fail(cpu, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[2];
    mem_read_buf(cpu, in->seg, insn_ea(cpu, in), desc, sizeof(desc));
    if (type == 1 && !vmx_eptp_valid(desc[0])) {
        vmx_fail(cpu, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    tlb_flush_all(cpu);
    vmx_succeed(cpu);
}

/* INVVPID Gy, m128 (66 0F 38 81), SDM 30.3 "INVVPID". */
void op_invvpid_GyMdq(struct cpu *cpu, const struct insn *in)
{
    vmx_insn_enter(cpu, in, EXIT_REASON_INVVPID);
    uint64_t type = reg_get(cpu, in->reg, vmx_reg_size(cpu));
    uint64_t caps = vmx_ept_vpid_caps();
    static const uint64_t type_cap[4] = { VMX_VPID_INDIV_ADDR, VMX_VPID_SINGLE, VMX_VPID_ALL,
                                          VMX_VPID_SINGLE_NONGLOBAL };
    if (!(caps & VMX_VPID_INVVPID) || type > 3 || !(caps & type_cap[type])) {
        vmx_fail(cpu, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[2];
    mem_read_buf(cpu, in->seg, insn_ea(cpu, in), desc, sizeof(desc));
    uint16_t vpid = (uint16_t)desc[0];
    bool bad = (desc[0] >> 16) != 0;                          /* reserved bits 63:16 */
    if (type != 2 && vpid == 0)                               /* VPID 0 is VMX root's */
        bad = true;
    if (type == 0 && !canonical48(desc[1]))                   /* linear address */
        bad = true;
    if (bad) {
        vmx_fail(cpu, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    tlb_flush_all(cpu);
    vmx_succeed(cpu);
}

/* ---------- VMCALL / VMFUNC ---------- */

/* VMCALL (0F 01 C1), SDM 30.3 "VMCALL".  No dual-monitor treatment of SMIs
 * and SMM: in VMX root operation it always fails with error 1. */
void op_vmcall(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = cpu->vmx;
    if (!v || !v->vmxon)
        cpu_ud(cpu);
    if (cpu->nonroot)
        vmx_exit_insn(cpu, in, EXIT_REASON_VMCALL, 0);
    if ((cpu->rflags & FL_VM) || ((cpu->efer & EFER_LMA) && !cpu->code64))
        cpu_ud(cpu);
    if (cpu->cpl > 0)
        cpu_gp0(cpu);
    vmx_fail(cpu, VMXERR_VMCALL_IN_ROOT);
}

/* VMFUNC (0F 01 D4), SDM 30.3 "VMFUNC" and 25.5.6.  #UD outside non-root
 * operation or when "enable VM functions" is 0; an unsupported or disabled
 * function, or a bad EPTP-list entry, is a VM exit (reason 59). */
void op_vmfunc(struct cpu *cpu, const struct insn *in)
{
    struct vmx *v = cpu->vmx;
    if (!v || !cpu->nonroot)
        cpu_ud(cpu);
    struct vmcs *c = &v->vmcs;
    if (!(vmcs_get(c, VMCS_CPU_BASED_VM_EXEC_CONTROL) & VMX_PROC_SECONDARY) ||
        !(vmcs_get(c, VMCS_SECONDARY_VM_EXEC_CONTROL) & VMX_PROC2_VMFUNC))
        cpu_ud(cpu);
    uint32_t fn = (uint32_t)cpu->r[R_AX];
    if (fn >= 64 || !((vmcs_get(c, VMCS_VM_FUNCTION_CONTROL) >> fn) & 1) ||
        !((vmx_vmfunc_caps() >> fn) & 1))
        vmx_exit_insn(cpu, in, EXIT_REASON_VMFUNC, 0);
    /* Function 0, EPTP switching (25.5.6.3): ECX indexes the 512-entry list. */
    uint32_t idx = (uint32_t)cpu->r[R_CX];
    if (idx >= 512)
        vmx_exit_insn(cpu, in, EXIT_REASON_VMFUNC, 0);
    uint64_t list = vmcs_get(c, VMCS_EPTP_LIST_ADDRESS) & ~0xfffull, eptp = ~0ull;
    const uint8_t *p = (list & PA_WIDTH_MASK) ? NULL : bus_ram_ptr(cpu->bus, list + 8u * idx, 8);
    if (p)
        memcpy(&eptp, p, 8);
    if (!vmx_eptp_valid(eptp))
        vmx_exit_insn(cpu, in, EXIT_REASON_VMFUNC, 0);
    vmcs_set(c, VMCS_EPT_POINTER, eptp);
    tlb_flush_all(cpu);
    cpu_end_block(cpu); /* code may now translate differently */
}
