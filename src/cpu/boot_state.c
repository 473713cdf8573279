/*
 * boot_state.c — put a CPU into the state a loader's struct boot_entry
 * describes (the state firmware would leave behind), so kernels can be
 * entered directly without a BIOS.
 */
#include "boot/boot.h"
#include "cpu/exec.h"
#include "cpu/mem.h"

void cpu_apply_boot_entry(struct cpu *cpu, const struct boot_entry *be)
{
    /* Flat 4 GiB segments; access rights in VMCS layout: type, S, P, D/B, G, L. */
    const uint32_t data = 0xc093, code32 = 0xc09b, code64 = 0xa09b;
    cpu->gdtr.base = be->gdt_base;
    cpu->gdtr.limit = be->gdt_limit;
    cpu->idtr.base = 0;
    cpu->idtr.limit = 0;
    cpu->cr0 = CR0_PE | CR0_ET | CR0_NE;
    cpu->cr4 = 0;
    cpu->efer = 0;
    if (be->mode == BOOT_MODE_LONG64) {
        cpu->cr3 = be->cr3;
        cpu->cr4 = CR4_PAE;
        cpu->efer = EFER_LME | EFER_LMA;
        cpu->cr0 |= CR0_PG;
    }
    for (int s = 0; s < 6; s++)
        cpu_set_seg(cpu, s, be->ds_sel, 0, 0xffffffff, data);
    cpu_set_seg(cpu, SEG_CS, be->cs_sel, 0, 0xffffffff,
                be->mode == BOOT_MODE_LONG64 ? code64 : code32);
    cpu->tr = (struct seg){ .base = 0, .limit = 0xffff, .ar = 0x8b, .sel = 0 };
    cpu->ldtr = (struct seg){ .base = 0, .limit = 0xffff, .ar = 0x82, .sel = 0 };
    cpu->rip = be->rip;
    cpu->r[R_SP] = be->rsp;
    cpu->r[R_AX] = be->rax;
    cpu->r[R_BX] = be->rbx;
    cpu->r[R_SI] = be->rsi;
    cpu_set_rflags(cpu, 2);
    cpu->state = CPU_RUNNING;
    tlb_flush_all(cpu);
    cpu_update_mode(cpu);
}
