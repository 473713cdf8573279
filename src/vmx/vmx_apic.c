/*
 * vmx_apic.c — the APIC accesses of a VMX non-root guest (SDM Vol.3 chapter
 * 29) with "use TPR shadow", "virtualize APIC accesses", "virtualize x2APIC
 * mode", "APIC-register virtualization" and "virtual-interrupt delivery";
 * the virtual-APIC state and virtual interrupts themselves are in
 * vmx_apicv.c.
 *
 *   MOV to/from CR8 (29.3)  read VTPR[7:4]; write VTPR = source[3:0] << 4
 *                           (bytes 81H-83H cleared), then TPR virtualization;
 *   APIC-access page (29.4) a linear data access that is at most 32 bits,
 *                           within the low 4 bytes of a 16-byte-aligned
 *                           register, with "use TPR shadow", is virtualized
 *                           when the controls allow its offset (29.4.2 for
 *                           reads, 29.4.3.1 for writes) and goes to the same
 *                           offset of the virtual-APIC page; everything else
 *                           — other offsets, instruction fetches, guest-
 *                           physical accesses (paging structures ...) — is an
 *                           APIC-access VM exit (reason 44, qualification of
 *                           Table 27-6: 11:0 offset, 15:12 access type);
 *   APIC-write emulation    after the instruction that did a virtualized
 *     (29.4.3.2)            write, at the next boundary: TPR (bytes 3:1
 *                           cleared, TPR virtualization), EOI (EOI
 *                           virtualization), ICR low (self-IPI
 *                           virtualization), ICR high (bytes 2:0 cleared),
 *                           anything else a trap-like APIC-write VM exit (56)
 *                           with the offset as qualification;
 *   x2APIC MSRs (29.5)      with "virtualize x2APIC mode": RDMSR 808H, or any
 *                           of 800H-8FFH with APIC-register virtualization,
 *                           reads 8 bytes at (ECX & FFH) << 4; WRMSR 808H
 *                           (TPR), and with virtual-interrupt delivery 80BH
 *                           (EOI) and 83FH (SELF IPI), store EDX:EAX there
 *                           (#GP for reserved bits) and are then emulated
 *                           like the memory-mapped writes; other x2APIC MSRs
 *                           behave as in root operation;
 *   TPR virtualization      without virtual-interrupt delivery: VTPR[7:4] <
 *     (29.1.2)              TPR threshold[3:0] → trap-like TPR-below-
 *                           threshold VM exit (raised by vmx_block_boundary());
 *                           with it: PPR virtualization and evaluation of
 *                           pending virtual interrupts.
 *
 * The virtual-APIC page is L1-physical (no EPT), reached with bus_ram_ptr();
 * outside RAM it reads as all-ones and ignores writes.
 */
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "vmx/vmx_apicv.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

/* APIC-access exit types (Table 27-6) */
enum { AA_LIN_READ = 0, AA_LIN_WRITE = 1, AA_LIN_FETCH = 2, AA_LIN_EVENT = 3,
       AA_PHYS_EVENT = 10, AA_PHYS_INSN = 15 };

uint8_t *ix_vapic(struct cpu *cpu)
{
    return bus_ram_ptr(cpu->bus, ix_field(cpu, VMCS_VIRTUAL_APIC_PAGE_ADDR) & IX_PA_MASK, 4096);
}

/* TPR virtualization (29.1.2). */
static void tpr_virtualize(struct cpu *cpu)
{
    if (ix_proc2(cpu) & VMX_PROC2_VINTR_DELIVERY) {
        apicv_ppr_virtualize(cpu);
        apicv_evaluate(cpu);
        return;
    }
    unsigned vtpr = apicv_read(cpu, VAPIC_TPR) & 0xff;
    if ((vtpr >> 4) < (ix_field(cpu, VMCS_TPR_THRESHOLD) & 0xf)) {
        cpu->vmx->ix.tpr_below = true;
        ix_request_boundary(cpu);
    }
}

uint64_t ix_cr8_read(struct cpu *cpu)
{
    return (apicv_read(cpu, VAPIC_TPR) >> 4) & 0xf;
}

void ix_cr8_write(struct cpu *cpu, uint64_t val)
{
    apicv_write(cpu, VAPIC_TPR, (uint32_t)(val & 0xf) << 4);
    tpr_virtualize(cpu);
}

/* APIC-write emulation to run at the next instruction boundary. */
static void emulate_later(struct cpu *cpu, unsigned off)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    x->apic_emul = true;
    x->apic_emul_off = (uint16_t)(off & 0xfff);
    ix_request_boundary(cpu);
}

/* ---------------- x2APIC MSRs (29.5) ---------------- */

#define X2APIC_TPR 0x808u
#define X2APIC_EOI 0x80bu
#define X2APIC_SELF_IPI 0x83fu

bool ix_x2apic_msr(struct cpu *cpu, uint32_t msr, bool write)
{
    uint32_t proc2 = ix_proc2(cpu);
    if ((msr >> 8) != 8 || !(proc2 & VMX_PROC2_VIRT_X2APIC) ||
        !(ix_proc(cpu) & VMX_PROC_TPR_SHADOW))
        return false;
    unsigned off = (msr & 0xff) << 4;
    if (!write) {
        if (msr != X2APIC_TPR && !(proc2 & VMX_PROC2_APIC_REG_VIRT))
            return false; /* operates normally */
        reg_set(cpu, R_AX, 4, apicv_read(cpu, off));
        reg_set(cpu, R_DX, 4, apicv_read(cpu, off + 4));
        return true;
    }
    bool vid = proc2 & VMX_PROC2_VINTR_DELIVERY;
    if (msr != X2APIC_TPR && !(vid && (msr == X2APIC_EOI || msr == X2APIC_SELF_IPI)))
        return false;
    uint32_t lo = (uint32_t)cpu->r[R_AX], hi = (uint32_t)cpu->r[R_DX];
    /* the normal reserved-bit checks (#GP), not the x2APIC-mode one */
    if (hi || (msr == X2APIC_EOI ? lo != 0 : (lo >> 8) != 0))
        cpu_gp0(cpu);
    apicv_write(cpu, off, lo);
    apicv_write(cpu, off + 4, hi);
    if (msr == X2APIC_TPR)
        tpr_virtualize(cpu);
    else
        emulate_later(cpu, off); /* EOI / self-IPI: may end in a trap-like exit */
    return true;
}

/* ---------------- APIC-access page (29.4) ---------------- */

/* Offsets (bits 11:2, in units of the low dword of each 16-byte register)
 * whose reads APIC-register virtualization virtualizes (29.4.2). */
static bool reg_virt_readable(unsigned off)
{
    switch (off) {
    case 0x020: case 0x030: case 0x080: case 0x0b0: case 0x0d0: case 0x0e0: case 0x0f0:
    case 0x280: case 0x300: case 0x310: case 0x380: case 0x3e0:
        return true;
    default:
        return (off >= 0x100 && off <= 0x270) || (off >= 0x320 && off <= 0x370);
    }
}

/* ... and whose writes (29.4.3.1). */
static bool reg_virt_writable(unsigned off)
{
    switch (off) {
    case 0x020: case 0x080: case 0x0b0: case 0x0d0: case 0x0e0: case 0x0f0: case 0x280:
    case 0x300: case 0x310: case 0x380: case 0x3e0:
        return true;
    default:
        return off >= 0x320 && off <= 0x370;
    }
}

/* Is a linear data access of len bytes at this page offset virtualized?
 * (29.4.2, 29.4.3.1) */
static bool access_virtualized(struct cpu *cpu, unsigned off, unsigned len, bool write)
{
    const struct vmx_ix *x = &cpu->vmx->ix;
    if (!(ix_proc(cpu) & VMX_PROC_TPR_SHADOW) || len == 0 || len > 4 || (off & 0xf) + len > 4)
        return false;
    /* an operation that already had a write virtualized: only that same
     * write may be repeated (a read-modify-write's final store) */
    if (x->apic_emul && (!write || off != x->apic_emul_off))
        return false;
    uint32_t proc2 = ix_proc2(cpu);
    unsigned reg = off & ~0xfu;
    if (proc2 & VMX_PROC2_APIC_REG_VIRT)
        return write ? reg_virt_writable(reg) : reg_virt_readable(reg);
    if (write && (proc2 & VMX_PROC2_VINTR_DELIVERY))
        return off == VAPIC_TPR || off == VAPIC_EOI || off == VAPIC_ICR_LO;
    return off == VAPIC_TPR;
}

void ix_apic_access(struct cpu *cpu, uint64_t pa, unsigned len, unsigned acc, bool linear)
{
    unsigned off = (unsigned)(pa & 0xfff);
    if (linear && !(acc & ACC_FETCH) && access_virtualized(cpu, off, len, acc & ACC_WRITE))
        return;
    unsigned type;
    if (linear)
        type = cpu->in_event ? AA_LIN_EVENT
             : (acc & ACC_FETCH) ? AA_LIN_FETCH
             : (acc & ACC_WRITE) ? AA_LIN_WRITE : AA_LIN_READ;
    else
        type = cpu->in_event ? AA_PHYS_EVENT : AA_PHYS_INSN;
    vmx_trace(cpu, "APIC-access exit: offset %#x type %u", off, type);
    struct vmx_exit_info ei = {
        .reason = EXIT_REASON_APIC_ACCESS,
        .qual = (uint64_t)type << 12 | (linear ? off : 0),
    };
    /* The VM-exit instruction length is architecturally undefined here
     * (27.2.5) but processors report the accessing instruction's length,
     * and hypervisors (kvm-unit-tests' skip_exit_insn) rely on it. */
    uint64_t insn_len = cpu->next_rip - cpu->rip;
    if (!cpu->in_event && insn_len >= 1 && insn_len <= 15)
        ei.insn_len = (uint32_t)insn_len;
    vmx_vmexit(cpu, &ei);
}

bool vmx_apic_mmio(struct cpu *cpu, uint64_t pa, unsigned size, uint64_t *val, bool write)
{
    if (!(ix_proc2(cpu) & VMX_PROC2_VIRT_APIC_ACCESS) ||
        (pa & ~0xfffull) != (ix_field(cpu, VMCS_APIC_ACCESS_ADDR) & ~0xfffull))
        return false;
    unsigned off = (unsigned)(pa & 0xfff);
    uint8_t *p = ix_vapic(cpu);
    if (!access_virtualized(cpu, off, size, write)) {
        /* not reachable: ix_apic_access() exited for these; keep it total */
        if (!write)
            *val = ~0ull;
        return true;
    }
    if (!write) {
        uint64_t v = ~0ull;
        if (p) {
            v = 0;
            memcpy(&v, p + off, size);
        }
        *val = v;
        return true;
    }
    if (p) {
        memcpy(p + off, val, size);
        apicv_note_write(cpu, off, size);
    }
    emulate_later(cpu, off);
    return true;
}

/* ---------------- APIC-write emulation (29.4.3.2, 29.5) ---------------- */

/* A VICR_LO value that is a fixed, edge-triggered self-IPI with no reserved
 * bit, delivery status 0, and a vector of at least 16 (29.4.3.2). */
static bool self_ipi_icr(uint32_t icr)
{
    return (icr & 0xfff3b700u) == 0 && ((icr >> 18) & 3) == 1 && (icr & 0xf0) != 0;
}

bool apic_write_emulation(struct cpu *cpu, struct vmx_exit_info *ei)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    if (!x->apic_emul)
        return false;
    x->apic_emul = false;
    unsigned off = x->apic_emul_off, vec;
    bool vid = ix_proc2(cpu) & VMX_PROC2_VINTR_DELIVERY;
    switch (off & ~0xfu) {
    case VAPIC_TPR:
        apicv_write(cpu, VAPIC_TPR, apicv_read(cpu, VAPIC_TPR) & 0xff);
        tpr_virtualize(cpu); /* a TPR-below-threshold exit follows via ix.tpr_below */
        return false;
    case VAPIC_EOI:
        if (!vid)
            break;
        apicv_write(cpu, VAPIC_EOI, 0);
        if (!apicv_eoi_virtualize(cpu, &vec))
            return false;
        ei->reason = EXIT_REASON_EOI_INDUCED;
        ei->qual = vec;
        return true;
    case VAPIC_ICR_LO: {
        uint32_t icr = apicv_read(cpu, VAPIC_ICR_LO);
        if (!vid || !self_ipi_icr(icr))
            break;
        apicv_self_ipi(cpu, icr & 0xff);
        return false;
    }
    case VAPIC_ICR_HI:
        apicv_write(cpu, VAPIC_ICR_HI, apicv_read(cpu, VAPIC_ICR_HI) & 0xff000000u);
        return false;
    case VAPIC_SELF_IPI: /* only from WRMSR 83FH (29.5) */
        vec = apicv_read(cpu, VAPIC_SELF_IPI) & 0xff;
        if (!vid || !(vec & 0xf0))
            break;
        apicv_self_ipi(cpu, vec);
        return false;
    default:
        break;
    }
    ei->reason = EXIT_REASON_APIC_WRITE;
    ei->qual = off;
    return true;
}
