/*
 * ops_cr.c — MOV to/from control and debug registers, CLTS, LMSW, SMSW.
 *
 * Rules (SDM Vol.2 "MOV—Move to/from Control Registers", "MOV—Move to/from
 * Debug Registers", Vol.3 2.5, 4.1.1, 4.4.1, 4.10.1, 9.8.5, 17.2):
 *
 *   CR0  bits 63:32 reserved (#GP); reserved bits of 31:0 are ignored, ET
 *        reads as 1.  PG without PE, NW without CD: #GP.  Setting PG with
 *        EFER.LME=1 activates IA-32e mode (LMA=1) and needs CR4.PAE; clearing
 *        PG leaves it (not from 64-bit code, not while CR4.PCIDE=1).
 *   CR3  bits above MAXPHYADDR reserved; with CR4.PCIDE bit 63 means "do not
 *        flush" (we always flush: allowed, just slower) and 11:0 is the PCID.
 *   CR4  only bits whose feature CPUID enumerates (VMXE iff vmx_allowed);
 *        PAE cannot be cleared in IA-32e mode; PCIDE can be set only in
 *        IA-32e mode with CR3[11:0] = 0.
 *   CR8  TPR[7:4]; bits 63:4 reserved.
 *   PAE paging (not IA-32e) keeps the four PDPTEs in registers: they are
 *        loaded by MOV to CR3 and by MOV to CR0/CR4 that enables PAE paging or
 *        changes CD, NW, PG, PAE, PGE, PSE or SMEP while it is on; a present
 *        PDPTE with a reserved bit set is #GP(0) and nothing changes.
 *   DRn  DR4/DR5 alias DR6/DR7 when CR4.DE=0 and are #UD when CR4.DE=1;
 *        DR7.GD makes any access a #DB with DR6.BD; DR6/DR7 bits 63:32 are
 *        reserved (#GP); fixed bits are forced.
 *
 * The register operand is ModRM.rm regardless of ModRM.mod; the operand is
 * 64 bits in 64-bit mode and 32 bits otherwise (operand-size prefix ignored).
 * Every state change ends with cpu_update_mode() (mode, CPL, SSE, TLB
 * context) and, where translations can change, a full TLB flush.
 */
#include "cpu/cpuid.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "cpu/ops_sys.h"
#include "hw/lapic.h"
#include "vmx/vmx_hooks.h"

#define CR0_WRITABLE                                                                        \
    (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
#define CR3_RSVD (~((1ull << CPUID_MAXPHYADDR) - 1))
#define CR3_NOFLUSH (1ull << 63)

/* PAE PDPTE: reserved bits 2:1, 8:5 and MAXPHYADDR..63 (SDM 4.4.1, Table 4-8). */
#define PDPTE_P 1ull
#define PDPTE_RSVD (0x1e6ull | ~((1ull << CPUID_MAXPHYADDR) - 1))

#define DR6_FIXED1 0xffff0ff0ull /* bits 4-11 and 16-31 read as 1, bit 12 as 0 */
#define DR6_WRITABLE 0xe00full   /* B0-B3, BD, BS, BT */
#define DR7_FIXED1 0x400ull
#define DR7_WRITABLE 0xffff23ffull /* L0-G3, LE, GE, GD, R/W and LEN fields */
#define DR7_GD (1ull << 13)

/* Translation-relevant bits: a change flushes the TLB. */
#define CR0_TLB_BITS (CR0_PG | CR0_WP | CR0_PE)
#define CR4_TLB_BITS (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PCIDE)
/* SDM 4.4.1: changes that reload the PDPTEs while PAE paging is in use. */
#define CR0_PDPTE_BITS (CR0_PG | CR0_CD | CR0_NW)
#define CR4_PDPTE_BITS (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)

static inline unsigned crdr_size(const struct cpu *cpu)
{
    return cpu->code64 ? 8 : 4;
}

/* The general register named by ModRM.rm (with REX.B), whatever mod says. */
static inline unsigned crdr_gpr(const struct insn *in)
{
    return in->rm & 15;
}

static inline bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* Read the PDPTEs addressed by CR3[31:5] into out[] (SDM 4.4.1); #GP(0) if
 * a present entry has reserved bits.  Unbacked memory reads as all-ones. */
static void load_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4])
{
    uint64_t base = cr3 & 0xffffffe0u;
    for (unsigned i = 0; i < 4; i++) {
        uint8_t *p = cpu_gpa_host(cpu, base + 8 * i, 8, ACC_READ);
        uint64_t e = ~0ull;
        if (p)
            memcpy(&e, p, 8);
        if ((e & PDPTE_P) && (e & PDPTE_RSVD))
            cpu_gp0(cpu);
        out[i] = e;
    }
}

/* ---------- control registers ---------- */

static void cr0_write(struct cpu *cpu, uint64_t val)
{
    uint64_t old = cpu->cr0, efer = cpu->efer;
    if (val >> 32)
        cpu_gp0(cpu);
    val = (val & CR0_WRITABLE) | CR0_ET;
    if (unlikely(cpu->vmx) && vmx_cr_fixed_violation(cpu, 0, val))
        cpu_gp0(cpu); /* SDM 23.8: fixed CR0 bits in VMX operation */
    if ((val & CR0_PG) && !(val & CR0_PE))
        cpu_gp0(cpu);
    if ((val & CR0_NW) && !(val & CR0_CD))
        cpu_gp0(cpu);
    if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
        if (!(cpu->cr4 & CR4_PAE))
            cpu_gp0(cpu); /* IA-32e mode needs PAE (SDM 9.8.5) */
        efer |= EFER_LMA;
    } else if (!(val & CR0_PG) && (old & CR0_PG)) {
        if (cpu->code64 || (cpu->cr4 & CR4_PCIDE))
            cpu_gp0(cpu); /* SDM MOV CR 64-bit mode exceptions; 4.10.1 */
        efer &= ~EFER_LMA;
    }
    uint64_t pdpte[4];
    bool load = pae_paging(val, cpu->cr4, efer) && ((old ^ val) & CR0_PDPTE_BITS);
    if (load)
        load_pdptes(cpu, cpu->cr3, pdpte);

    cpu->cr0 = val;
    cpu->efer = efer;
    if (load)
        memcpy(cpu->pdpte, pdpte, sizeof(pdpte));
    if ((old ^ val) & CR0_TLB_BITS)
        tlb_flush_all(cpu);
    cpu_update_mode(cpu);
}

static void cr3_write(struct cpu *cpu, uint64_t val)
{
    if (cpu->cr4 & CR4_PCIDE)
        val &= ~CR3_NOFLUSH; /* a hint only; the flush below is always allowed */
    if (val & CR3_RSVD)
        cpu_gp0(cpu);
    uint64_t pdpte[4];
    bool load = pae_paging(cpu->cr0, cpu->cr4, cpu->efer);
    if (load)
        load_pdptes(cpu, val, pdpte);
    cpu->cr3 = val;
    if (load)
        memcpy(cpu->pdpte, pdpte, sizeof(pdpte));
    tlb_flush_all(cpu);
    cpu_update_mode(cpu);
}

static void cr4_write(struct cpu *cpu, uint64_t val)
{
    uint64_t old = cpu->cr4;
    if (val & ~cpuid_cr4_valid_bits(cpu))
        cpu_gp0(cpu);
    if (unlikely(cpu->vmx) && vmx_cr_fixed_violation(cpu, 4, val))
        cpu_gp0(cpu); /* SDM 23.8: fixed CR4 bits (VMXE) in VMX operation */
    if ((cpu->efer & EFER_LMA) && !(val & CR4_PAE))
        cpu_gp0(cpu); /* SDM MOV CR: clearing PAE in IA-32e mode */
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
        (!(cpu->efer & EFER_LMA) || (cpu->cr3 & 0xfff)))
        cpu_gp0(cpu); /* SDM 4.10.1 */
    uint64_t pdpte[4];
    bool load = pae_paging(cpu->cr0, val, cpu->efer) && ((old ^ val) & CR4_PDPTE_BITS);
    if (load)
        load_pdptes(cpu, cpu->cr3, pdpte);

    cpu->cr4 = val;
    if (load)
        memcpy(cpu->pdpte, pdpte, sizeof(pdpte));
    if ((old ^ val) & CR4_TLB_BITS)
        tlb_flush_all(cpu);
    cpu_update_mode(cpu);
}

/* VMX non-root: vmx_cr_access_exit() loads CR0/CR4 values merged with the
 * guest/host masks through the ordinary checks (SDM 25.3). */
void cpu_write_cr0(struct cpu *cpu, uint64_t val)
{
    cr0_write(cpu, val);
}

void cpu_write_cr4(struct cpu *cpu, uint64_t val)
{
    cr4_write(cpu, val);
}

/* CR8 is the task-priority class TPR[7:4] of the local APIC (SDM 10.8.6.1). */
static uint64_t cr8_read(struct cpu *cpu)
{
    if (cpu->lapic)
        return (atomic_load(&cpu->lapic->tpr) >> 4) & 0xf;
    return cpu->cr8;
}

static void cr8_write(struct cpu *cpu, uint64_t val)
{
    if (val & ~0xfull)
        cpu_gp0(cpu);
    cpu->cr8 = val;
    if (cpu->lapic) { /* also while the APIC is disabled (SDM 10.8.6.1) */
        lapic_set_tpr(cpu->lapic, (uint32_t)val << 4);
        cpu_lapic_written(cpu);
    }
    cpu_end_block(cpu); /* a lower priority may unmask a pending interrupt */
}

void op_mov_RdCd(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    uint64_t v;
    switch (in->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    case 8: v = cr8_read(cpu); break;
    default: cpu_ud(cpu);
    }
    reg_set(cpu, crdr_gpr(in), crdr_size(cpu), v);
}

void op_mov_CdRd(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    uint64_t v = reg_get(cpu, crdr_gpr(in), crdr_size(cpu));
    switch (in->reg) {
    case 0: cr0_write(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: cr3_write(cpu, v); break;
    case 4: cr4_write(cpu, v); break;
    case 8: cr8_write(cpu, v); break;
    default: cpu_ud(cpu);
    }
}

/* CLTS: clear CR0.TS (SDM Vol.2 CLTS). */
void op_clts(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    cpu->cr0 &= ~CR0_TS;
    cpu_update_mode(cpu);
}

/* LMSW: load CR0[3:0] from a 16-bit operand; PE can be set but not cleared
 * (SDM Vol.2 LMSW). */
void op_lmsw_Ew(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    uint64_t src = op_read_rm(cpu, in, 2);
    uint64_t v = (cpu->cr0 & ~0xeull) | (src & 0xf);
    cr0_write(cpu, v);
}

/* SMSW: store CR0 (16 bits to memory, operand size to a register); #GP at
 * CPL > 0 with CR4.UMIP (SDM Vol.2 SMSW, Vol.3 2.5). */
void op_smsw_Ew(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
        cpu_gp0(cpu);
    op_write_rm(cpu, in, in->mod == 3 ? in->osz : 2, cpu->cr0);
}

/* ---------- debug registers ---------- */

/* Resolve DRn for an access: #UD for 8-15 and for DR4/DR5 with CR4.DE,
 * aliasing otherwise; DR7.GD raises #DB with DR6.BD (SDM 17.2.2, 17.2.4). */
static unsigned dr_access(struct cpu *cpu, const struct insn *in)
{
    unsigned n = in->reg;
    if (n > 7)
        cpu_ud(cpu);
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE)
            cpu_ud(cpu);
        n += 2;
    }
    if (cpu->dr[7] & DR7_GD) {
        if (unlikely(cpu->nonroot))
            vmx_debug_exception(cpu, DR6_BD); /* may VM-exit, DR6/DR7 untouched */
        cpu->dr[6] |= DR6_BD;
        cpu->dr[7] &= ~DR7_GD; /* cleared on entry to the #DB handler */
        cpu_fault(cpu, EXC_DB, NO_ERR);
    }
    return n;
}

void op_mov_RdDd(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    unsigned n = dr_access(cpu, in);
    reg_set(cpu, crdr_gpr(in), crdr_size(cpu), cpu->dr[n]);
}

void op_mov_DdRd(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(cpu->nonroot) && vmx_cr_access_exit(cpu, in))
        return;
    unsigned n = dr_access(cpu, in);
    uint64_t v = reg_get(cpu, crdr_gpr(in), crdr_size(cpu));
    if (n >= 6) {
        if (v >> 32)
            cpu_gp0(cpu);
        v = n == 6 ? (v & DR6_WRITABLE) | DR6_FIXED1 : (v & DR7_WRITABLE) | DR7_FIXED1;
    }
    bool armed = dbg_armed(cpu);
    cpu->dr[n] = v;
    if ((n == 7 || n < 4) && (armed || dbg_armed(cpu)))
        dbg_regs_changed(cpu); /* watched pages change (debug.h) */
    if (n == 7)
        cpu_end_block(cpu); /* breakpoint enables may change */
}
