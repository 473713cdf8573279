/*
 * vmx_intercept_cr.c — control- and debug-register accesses of a VMX
 * non-root guest: MOV to/from CR0/CR3/CR4/CR8, CLTS, LMSW, SMSW, MOV DR.
 *
 * When they exit (SDM Vol.3 25.1.3):
 *   MOV to CR0/CR4  a bit set in the guest/host mask differs between the
 *                   source and the read shadow;
 *   MOV to CR3      "CR3-load exiting" and the value is none of the first
 *                   CR3_TARGET_COUNT CR3-target values;
 *   MOV from CR3    "CR3-store exiting";
 *   MOV to/from CR8 "CR8-load/store exiting";
 *   CLTS            CR0.TS is set in both the mask and the shadow;
 *   LMSW            a masked PE that the shadow has clear and the source
 *                   sets, or a masked MP/EM/TS differing from the shadow;
 *   MOV DR          "MOV-DR exiting" (before the CPL and CR4.DE checks).
 * What they do when they do not (25.3):
 *   MOV from CR0/CR4 and SMSW read (guest & ~mask) | (shadow & mask);
 *   MOV to CR0/CR4 and LMSW leave the masked bits alone; the result must
 *   respect the VMX fixed-0 bits (23.8; PE/PG exempt for unrestricted
 *   guests) or #GP(0);  CLTS leaves a masked TS alone;
 *   MOV to/from CR8 with "use TPR shadow" use VTPR (vmx_apic.c).
 * Exit qualification (SDM Table 27-3): 3:0 CR number, 5:4 access type
 * (0 to CR, 1 from CR, 2 CLTS, 3 LMSW), 6 LMSW operand in memory, 11:8 the
 * general register, 31:16 LMSW source data; MOV DR (Table 27-4): 2:0 DR
 * number, 4 direction (1 = from DR), 11:8 the register.
 */
#include "cpu/mem.h"
#include "cpu/ops_sys.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

enum { CRQ_TO = 0, CRQ_FROM = 1, CRQ_CLTS = 2, CRQ_LMSW = 3 };

/* ---------- pure decisions ---------- */

bool vmx_lmsw_exits(uint16_t src, uint64_t mask, uint64_t shadow)
{
    if ((mask & CR0_PE) && !(shadow & CR0_PE) && (src & CR0_PE))
        return true;
    return ((src ^ shadow) & mask & (CR0_MP | CR0_EM | CR0_TS)) != 0;
}

uint64_t vmx_lmsw_value(uint16_t src, uint64_t cr0, uint64_t mask)
{
    uint64_t owned = ~mask & 0xf; /* bits LMSW may change */
    uint64_t v = (cr0 & ~(owned & 0xe)) | (src & owned & 0xe);
    if (owned & CR0_PE)
        v |= src & CR0_PE; /* LMSW sets PE but never clears it */
    return v;
}

bool vmx_cr3_target_match(const struct vmcs *c, uint64_t val)
{
    uint64_t n = vmcs_get(c, VMCS_CR3_TARGET_COUNT);
    if (n > VMX_CR3_TARGETS) /* VM entry refuses more (26.2.1.1) */
        n = VMX_CR3_TARGETS;
    for (unsigned i = 0; i < n; i++)
        if (vmcs_get(c, (enum vmcs_field)(VMCS_CR3_TARGET_VALUE0 + i)) == val)
            return true;
    return false;
}

/* ---------- helpers ---------- */

static uint64_t cr0_mask(const struct cpu *cpu) { return ix_field(cpu, VMCS_CR0_GUEST_HOST_MASK); }
static uint64_t cr0_shadow(const struct cpu *cpu) { return ix_field(cpu, VMCS_CR0_READ_SHADOW); }
static uint64_t cr4_mask(const struct cpu *cpu) { return ix_field(cpu, VMCS_CR4_GUEST_HOST_MASK); }
static uint64_t cr4_shadow(const struct cpu *cpu) { return ix_field(cpu, VMCS_CR4_READ_SHADOW); }

/* MOV CR names its general register in bits 11:8; CLTS has none. */
static _Noreturn void cr_exit(struct cpu *cpu, const struct insn *in, unsigned cr, unsigned type)
{
    uint64_t gpr = type == CRQ_CLTS ? 0 : (uint64_t)(in->rm & 15) << 8;
    vmx_exit_insn(cpu, in, EXIT_REASON_CR_ACCESS, cr | type << 4 | gpr);
}

/* Fixed-0 bits of CR0/CR4 in VMX operation (23.8, 25.3). */
static void cr0_fixed_check(struct cpu *cpu, uint64_t val)
{
    uint64_t f0 = vmx_cr0_fixed0();
    if (ix_proc2(cpu) & VMX_PROC2_UNRESTRICTED)
        f0 &= ~(CR0_PE | CR0_PG);
    if ((val & f0) != f0)
        cpu_gp0(cpu);
}

static void cr4_fixed_check(struct cpu *cpu, uint64_t val)
{
    uint64_t f0 = vmx_cr4_fixed0();
    if ((val & f0) != f0)
        cpu_gp0(cpu);
}

/* ---------- MOV CR ---------- */

static bool mov_to_cr(struct cpu *cpu, const struct insn *in)
{
    unsigned cr = in->reg;
    uint64_t src = reg_get(cpu, in->rm & 15, ix_crdr_size(cpu));
    uint32_t proc = ix_proc(cpu);
    switch (cr) {
    case 0:
        if (vmx_cr_write_exits(src, cr0_mask(cpu), cr0_shadow(cpu)))
            cr_exit(cpu, in, 0, CRQ_TO);
        src = vmx_cr_write_value(src, cpu->cr0, cr0_mask(cpu));
        cr0_fixed_check(cpu, src);
        cpu_write_cr0(cpu, src);
        return true;
    case 4:
        if (vmx_cr_write_exits(src, cr4_mask(cpu), cr4_shadow(cpu)))
            cr_exit(cpu, in, 4, CRQ_TO);
        src = vmx_cr_write_value(src, cpu->cr4, cr4_mask(cpu));
        cr4_fixed_check(cpu, src);
        cpu_write_cr4(cpu, src);
        return true;
    case 3:
        if ((proc & VMX_PROC_CR3_LOAD) && !vmx_cr3_target_match(&cpu->vmx->vmcs, src))
            cr_exit(cpu, in, 3, CRQ_TO);
        return false;
    case 8:
        if (proc & VMX_PROC_CR8_LOAD)
            cr_exit(cpu, in, 8, CRQ_TO);
        if (!(proc & VMX_PROC_TPR_SHADOW))
            return false; /* the local APIC's TPR, as in root operation */
        if (src >> 4)
            cpu_gp0(cpu); /* reserved bits 63:4 */
        ix_cr8_write(cpu, src);
        return true;
    default: /* CR2: unchanged; others: the handler's #UD */
        return false;
    }
}

static bool mov_from_cr(struct cpu *cpu, const struct insn *in)
{
    unsigned cr = in->reg, gpr = in->rm & 15, size = ix_crdr_size(cpu);
    uint32_t proc = ix_proc(cpu);
    switch (cr) {
    case 0:
        reg_set(cpu, gpr, size, vmx_cr_shadow_read(cpu->cr0, cr0_mask(cpu), cr0_shadow(cpu)));
        return true;
    case 4:
        reg_set(cpu, gpr, size, vmx_cr_shadow_read(cpu->cr4, cr4_mask(cpu), cr4_shadow(cpu)));
        return true;
    case 3:
        if (proc & VMX_PROC_CR3_STORE)
            cr_exit(cpu, in, 3, CRQ_FROM);
        return false;
    case 8:
        if (proc & VMX_PROC_CR8_STORE)
            cr_exit(cpu, in, 8, CRQ_FROM);
        if (!(proc & VMX_PROC_TPR_SHADOW))
            return false;
        reg_set(cpu, gpr, size, ix_cr8_read(cpu));
        return true;
    default:
        return false;
    }
}

/* ---------- CLTS, LMSW, SMSW ---------- */

static bool clts(struct cpu *cpu, const struct insn *in)
{
    uint64_t mask = cr0_mask(cpu);
    if ((mask & CR0_TS) && (cr0_shadow(cpu) & CR0_TS))
        cr_exit(cpu, in, 0, CRQ_CLTS);
    return (mask & CR0_TS) != 0; /* masked TS: CLTS leaves CR0.TS alone */
}

static bool lmsw(struct cpu *cpu, const struct insn *in)
{
    uint16_t src = (uint16_t)op_read_rm(cpu, in, 2);
    uint64_t mask = cr0_mask(cpu);
    if (vmx_lmsw_exits(src, mask, cr0_shadow(cpu))) {
        bool mem = in->mod != 3;
        struct vmx_exit_info ei = {
            .reason = EXIT_REASON_CR_ACCESS,
            .qual = CRQ_LMSW << 4 | (mem ? 1u << 6 : 0) | (uint64_t)src << 16,
            .insn_len = in->len,
        };
        if (mem) /* linear address of the operand (27.2.1) */
            ei.guest_linear = seg_linear(cpu, in->seg, insn_ea(cpu, in), 2, ACC_READ);
        vmx_vmexit(cpu, &ei);
    }
    uint64_t val = vmx_lmsw_value(src, cpu->cr0, mask);
    cr0_fixed_check(cpu, val);
    cpu_write_cr0(cpu, val);
    return true;
}

void ix_smsw(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
        cpu_gp0(cpu);
    uint64_t v = vmx_cr_shadow_read(cpu->cr0, cr0_mask(cpu), cr0_shadow(cpu));
    op_write_rm(cpu, in, in->mod == 3 ? in->osz : 2, v);
}

/* ---------- MOV DR ---------- */

void ix_mov_dr(struct cpu *cpu, const struct insn *in)
{
    if (in->reg > 7)
        cpu_ud(cpu); /* DR8-DR15: a plain #UD, before the exit (25.1.1) */
    if (ix_proc(cpu) & VMX_PROC_MOV_DR) {
        bool from = in->opc == 0x21;
        vmx_exit_insn(cpu, in, EXIT_REASON_DR_ACCESS,
                      (in->reg & 7u) | (from ? 1u << 4 : 0) | (uint64_t)(in->rm & 15) << 8);
    }
}

/* ---------- the hook in ops_cr.c ---------- */

bool vmx_cr_access_exit(struct cpu *cpu, const struct insn *in)
{
    if (!cpu->vmx)
        return false;
    switch (F_EXIT(op_rows[in->row].flags)) {
    case IX_MOV_CR:
        return in->opc == 0x22 ? mov_to_cr(cpu, in) : mov_from_cr(cpu, in);
    case IX_MOV_DR:
        ix_mov_dr(cpu, in);
        return false;
    case IX_CLTS:
        return clts(cpu, in);
    case IX_LMSW:
        return lmsw(cpu, in);
    default:
        return false;
    }
}
