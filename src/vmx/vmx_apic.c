/*
 * vmx_apic.c — the APIC virtualisation nestvm offers L1 (SDM Vol.3 chapter
 * 29): "use TPR shadow", "virtualize APIC accesses" and "virtualize x2APIC
 * mode".  APIC-register virtualisation and virtual-interrupt delivery are
 * not offered (vmx_caps.c), so of the virtual-APIC page only VTPR (offset
 * 80H) is ever used:
 *
 *   MOV to/from CR8 (29.3)  read VTPR[7:4]; write VTPR = source[3:0] << 4
 *                           (bytes 81H-83H cleared), then TPR virtualisation;
 *   APIC-access page (29.4) linear data reads and writes within TPR
 *                           (80H-83H) use VTPR when "use TPR shadow" is 1;
 *                           everything else — other offsets, instruction
 *                           fetches, guest paging-structure and other
 *                           guest-physical accesses — is an APIC-access VM
 *                           exit (reason 44, qualification of Table 27-6:
 *                           11:0 offset, 15:12 access type);
 *   x2APIC MSRs (29.5)      with "virtualize x2APIC mode", RDMSR 808H reads
 *                           bytes 87H:80H of the page, WRMSR 808H writes them
 *                           (#GP if bits 63:8 are set) and virtualises TPR;
 *                           other x2APIC MSRs behave as in root operation;
 *   TPR virtualisation      VTPR[7:4] < TPR threshold[3:0] → trap-like
 *     (29.1.2)              TPR-below-threshold VM exit after the instruction
 *                           (raised at the next instruction boundary by
 *                           vmx_block_boundary(); the block is ended here).
 *
 * The virtual-APIC page is L1-physical (no EPT), reached with bus_ram_ptr();
 * outside RAM it reads as all-ones and ignores writes.
 */
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

#define VAPIC_TPR 0x80u
#define X2APIC_TPR_MSR 0x808u

/* APIC-access exit types (Table 27-6) */
enum { AA_LIN_READ = 0, AA_LIN_WRITE = 1, AA_LIN_FETCH = 2, AA_LIN_EVENT = 3,
       AA_PHYS_EVENT = 10, AA_PHYS_INSN = 15 };

uint8_t *ix_vapic(struct cpu *cpu)
{
    return bus_ram_ptr(cpu->bus, ix_field(cpu, VMCS_VIRTUAL_APIC_PAGE_ADDR) & IX_PA_MASK, 4096);
}

static void vapic_note_write(struct cpu *cpu, unsigned off, unsigned len)
{
    bus_note_dma(cpu->bus, (ix_field(cpu, VMCS_VIRTUAL_APIC_PAGE_ADDR) & IX_PA_MASK) + off, len);
}

/* TPR virtualisation without virtual-interrupt delivery (29.1.2). */
static void tpr_virtualize(struct cpu *cpu)
{
    const uint8_t *p = ix_vapic(cpu);
    unsigned vtpr = p ? p[VAPIC_TPR] : 0xff;
    if (((vtpr >> 4) & 0xf) < (ix_field(cpu, VMCS_TPR_THRESHOLD) & 0xf)) {
        cpu->vmx->ix.tpr_below = true;
        ix_request_boundary(cpu);
    }
}

uint64_t ix_cr8_read(struct cpu *cpu)
{
    const uint8_t *p = ix_vapic(cpu);
    return p ? (p[VAPIC_TPR] >> 4) & 0xf : 0xf;
}

void ix_cr8_write(struct cpu *cpu, uint64_t val)
{
    uint8_t *p = ix_vapic(cpu);
    if (p) {
        uint32_t vtpr = (uint32_t)(val & 0xf) << 4;
        memcpy(p + VAPIC_TPR, &vtpr, 4);
        vapic_note_write(cpu, VAPIC_TPR, 4);
    }
    tpr_virtualize(cpu);
}

bool ix_x2apic_msr(struct cpu *cpu, uint32_t msr, bool write)
{
    if (msr != X2APIC_TPR_MSR || !(ix_proc2(cpu) & VMX_PROC2_VIRT_X2APIC) ||
        !(ix_proc(cpu) & VMX_PROC_TPR_SHADOW))
        return false;
    uint8_t *p = ix_vapic(cpu);
    if (!write) {
        uint64_t v = ~0ull;
        if (p)
            memcpy(&v, p + VAPIC_TPR, 8);
        reg_set(cpu, R_AX, 4, (uint32_t)v);
        reg_set(cpu, R_DX, 4, v >> 32);
        return true;
    }
    uint64_t v = (uint32_t)cpu->r[R_AX] | (uint64_t)(uint32_t)cpu->r[R_DX] << 32;
    if (v >> 8)
        cpu_gp0(cpu);
    if (p) {
        memcpy(p + VAPIC_TPR, &v, 8);
        vapic_note_write(cpu, VAPIC_TPR, 8);
    }
    tpr_virtualize(cpu);
    return true;
}

/* Is a data access of len bytes at this offset virtualised (29.4.2/29.4.3)? */
static bool tpr_access(struct cpu *cpu, unsigned off, unsigned len)
{
    return (ix_proc(cpu) & VMX_PROC_TPR_SHADOW) && off >= VAPIC_TPR && off + len <= VAPIC_TPR + 4;
}

void ix_apic_access(struct cpu *cpu, uint64_t pa, unsigned len, unsigned acc, bool linear)
{
    unsigned off = (unsigned)(pa & 0xfff);
    if (linear && !(acc & ACC_FETCH) && tpr_access(cpu, off, len))
        return;
    unsigned type;
    if (linear)
        type = cpu->in_event ? AA_LIN_EVENT
             : (acc & ACC_FETCH) ? AA_LIN_FETCH
             : (acc & ACC_WRITE) ? AA_LIN_WRITE : AA_LIN_READ;
    else
        type = cpu->in_event ? AA_PHYS_EVENT : AA_PHYS_INSN;
    vmx_trace(cpu, "APIC-access exit: offset %#x type %u", off, type);
    ix_exit(cpu, EXIT_REASON_APIC_ACCESS, (uint64_t)type << 12 | (linear ? off : 0));
}

bool vmx_apic_mmio(struct cpu *cpu, uint64_t pa, unsigned size, uint64_t *val, bool write)
{
    if (!(ix_proc2(cpu) & VMX_PROC2_VIRT_APIC_ACCESS) ||
        (pa & ~0xfffull) != (ix_field(cpu, VMCS_APIC_ACCESS_ADDR) & ~0xfffull))
        return false;
    unsigned off = (unsigned)(pa & 0xfff);
    uint8_t *p = ix_vapic(cpu);
    if (size > 8 || !tpr_access(cpu, off, size)) {
        /* not reachable: ix_apic_access() exited for these; keep it total */
        if (!write)
            *val = ~0ull;
        return true;
    }
    if (write) {
        if (p) {
            memcpy(p + off, val, size);
            vapic_note_write(cpu, off, size);
        }
        tpr_virtualize(cpu);
    } else {
        uint64_t v = ~0ull;
        if (p) {
            v = 0;
            memcpy(&v, p + off, size);
        }
        *val = v;
    }
    return true;
}
