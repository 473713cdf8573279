/*
 * test_vmx_entry.c — VM entry and VM exit (SDM Vol.3 chapters 26 and 27)
 * driven directly through vmx_vmentry() / vmx_exit_at_boundary() on a
 * harness CPU in VMX root operation with a current VMCS.
 *
 * build_valid_vmcs() fills the VMCS the way Linux KVM sets up a 64-bit
 * guest with EPT + VPID + unrestricted guest (controls from the TRUE
 * capability settings plus the features KVM asks for, host state = the
 * current CPU state, a flat 64-bit guest).  Every failure test changes one
 * field of that VMCS and checks the architectural outcome (VM-instruction
 * error, or exit reason / qualification of a VM-entry failure) and which
 * check was recorded (the expression text and SDM section).
 */
#include <setjmp.h>
#include <string.h>

#include "cpu/msr.h"
#include "cpu_harness.h"
#include "test.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"
#include "vmx_l2_harness.h"

#define VMXON_PA 0x30000ull
#define VMCS_PA 0x31000ull
#define GUEST_IDT 0x40000ull
#define GUEST_RIP0 0x50000ull
#define GUEST_HANDLER 0x51000ull
#define GUEST_RSP0 0x60000ull
#define EPT_PML4 0x300000ull
#define EPT_PDPT 0x301000ull
#define MSR_BITMAP_PA 0x304000ull
#define ENTRY_MSRS 0x305000ull
#define EXIT_STORE_MSRS 0x306000ull
#define EXIT_LOAD_MSRS 0x307000ull
#define HOST_RIP0 0x12340ull
#define HOST_RSP0 0x7f000ull

#define AR_CODE64 0xa09bu /* P S type 11 L G */
#define AR_CODE32 0xc09bu /* P S type 11 D G */
#define AR_DATA 0xc093u   /* P S type 3 D G */
#define AR_TSS_BUSY 0x8bu

static void put64(struct th *t, uint64_t pa, uint64_t v)
{
    memcpy(th_mem(t, pa), &v, 8);
}

static uint64_t get64(struct th *t, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, th_mem(t, pa), 8);
    return v;
}

static struct vmcs *vc(struct th *t)
{
    return &t->cpu.vmx->vmcs;
}

static uint64_t rd(struct th *t, enum vmcs_field f)
{
    return vmcs_get(vc(t), f);
}

static void wr(struct th *t, enum vmcs_field f, uint64_t v)
{
    vmcs_set(vc(t), f, v);
}

static void set_bits(struct th *t, enum vmcs_field f, uint64_t set, uint64_t clear)
{
    wr(t, f, (rd(t, f) & ~clear) | set);
}

/* A flat 64-bit guest/host pair; guest data segments share one layout. */
static void set_guest_seg(struct th *t, int s, uint16_t sel, uint64_t base, uint32_t limit,
                          uint32_t ar)
{
    wr(t, (enum vmcs_field)(VMCS_GUEST_ES_SELECTOR + s), sel);
    wr(t, (enum vmcs_field)(VMCS_GUEST_ES_BASE + s), base);
    wr(t, (enum vmcs_field)(VMCS_GUEST_ES_LIMIT + s), limit);
    wr(t, (enum vmcs_field)(VMCS_GUEST_ES_AR_BYTES + s), ar);
}

/* Identity EPT for the first GiB: one 1-GByte page, RWX, write-back. */
static void build_ept(struct th *t)
{
    put64(t, EPT_PML4, EPT_PDPT | 7);
    put64(t, EPT_PDPT, 0 | 7 | (6u << 3) | (1u << 7));
}

static void build_valid_vmcs(struct th *t)
{
    struct cpu *cpu = &t->cpu;
    uint32_t m1, a1;

    /* ---- controls: TRUE must-be-1 settings + what KVM asks for ---- */
    vmx_allowed_pin(true, &m1, &a1);
    wr(t, VMCS_PIN_BASED_VM_EXEC_CONTROL, m1 | VMX_PIN_EXT_INTR | VMX_PIN_NMI | VMX_PIN_VIRTUAL_NMI);
    vmx_allowed_proc(true, &m1, &a1);
    wr(t, VMCS_CPU_BASED_VM_EXEC_CONTROL,
       m1 | VMX_PROC_HLT | VMX_PROC_TSC_OFFSET | VMX_PROC_MWAIT | VMX_PROC_MONITOR |
           VMX_PROC_RDPMC | VMX_PROC_UNCOND_IO | VMX_PROC_MSR_BITMAPS | VMX_PROC_MOV_DR |
           VMX_PROC_SECONDARY);
    wr(t, VMCS_SECONDARY_VM_EXEC_CONTROL,
       VMX_PROC2_EPT | VMX_PROC2_VPID | VMX_PROC2_UNRESTRICTED | VMX_PROC2_RDTSCP |
           VMX_PROC2_INVPCID);
    vmx_allowed_exit(true, &m1, &a1);
    wr(t, VMCS_VM_EXIT_CONTROLS,
       m1 | VMX_EXITCTL_SAVE_DEBUG | VMX_EXITCTL_HOST_64 | VMX_EXITCTL_ACK_INTR |
           VMX_EXITCTL_SAVE_PAT | VMX_EXITCTL_LOAD_PAT | VMX_EXITCTL_SAVE_EFER |
           VMX_EXITCTL_LOAD_EFER);
    vmx_allowed_entry(true, &m1, &a1);
    wr(t, VMCS_VM_ENTRY_CONTROLS,
       m1 | VMX_ENTRYCTL_LOAD_DEBUG | VMX_ENTRYCTL_IA32E_GUEST | VMX_ENTRYCTL_LOAD_PAT |
           VMX_ENTRYCTL_LOAD_EFER);
    wr(t, VMCS_VPID, 1);
    build_ept(t);
    wr(t, VMCS_EPT_POINTER, EPT_PML4 | 6 | (3u << 3) | (1u << 6));
    wr(t, VMCS_MSR_BITMAP, MSR_BITMAP_PA);
    wr(t, VMCS_CR0_GUEST_HOST_MASK, CR0_PE | CR0_PG | CR0_NE);
    wr(t, VMCS_CR0_READ_SHADOW, CR0_PE | CR0_PG);
    wr(t, VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE);
    wr(t, VMCS_CR4_READ_SHADOW, CR4_PAE);
    wr(t, VMCS_VMCS_LINK_POINTER, VMX_NO_VMCS);

    /* ---- host state: the current (L1) state, as KVM's vmx_set_constant_host_state ---- */
    vl2_host_state(t);
    wr(t, VMCS_HOST_FS_BASE, 0x1000);
    wr(t, VMCS_HOST_GS_BASE, 0xffff800000002000ull);
    wr(t, VMCS_HOST_TR_BASE, 0x3000);
    wr(t, VMCS_HOST_GDTR_BASE, 0x800);
    wr(t, VMCS_HOST_IDTR_BASE, 0x4000);
    wr(t, VMCS_HOST_IA32_SYSENTER_CS, 0x08);
    wr(t, VMCS_HOST_IA32_SYSENTER_ESP, 0x7e000);
    wr(t, VMCS_HOST_IA32_SYSENTER_EIP, 0x12000);
    wr(t, VMCS_HOST_IA32_EFER, cpu->efer);
    wr(t, VMCS_HOST_IA32_PAT, cpu->pat);
    wr(t, VMCS_HOST_RSP, HOST_RSP0);
    wr(t, VMCS_HOST_RIP, HOST_RIP0);

    /* ---- guest state: flat 64-bit kernel sharing L1's GDT and page tables ---- */
    wr(t, VMCS_GUEST_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
    wr(t, VMCS_GUEST_CR3, TH_PT);
    wr(t, VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE | CR4_OSFXSR);
    wr(t, VMCS_GUEST_DR7, 0x400);
    for (int s = SEG_ES; s <= SEG_GS; s++)
        set_guest_seg(t, s, 0x10, 0, 0xffffffff, AR_DATA);
    set_guest_seg(t, SEG_CS, 0x08, 0, 0xffffffff, AR_CODE64);
    wr(t, VMCS_GUEST_FS_BASE, 0x5000);
    wr(t, VMCS_GUEST_GS_BASE, 0xffff888000006000ull);
    set_guest_seg(t, 6, 0, 0, 0, AR_UNUSABLE);          /* LDTR */
    set_guest_seg(t, 7, 0x18, 0x7000, 0x67, AR_TSS_BUSY); /* TR */
    wr(t, VMCS_GUEST_GDTR_BASE, 0x800);
    wr(t, VMCS_GUEST_GDTR_LIMIT, 0x3f);
    wr(t, VMCS_GUEST_IDTR_BASE, GUEST_IDT);
    wr(t, VMCS_GUEST_IDTR_LIMIT, 0xfff);
    wr(t, VMCS_GUEST_RSP, GUEST_RSP0);
    wr(t, VMCS_GUEST_RIP, GUEST_RIP0);
    wr(t, VMCS_GUEST_RFLAGS, 2);
    wr(t, VMCS_GUEST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    wr(t, VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
    wr(t, VMCS_GUEST_SYSENTER_ESP, 0);
    wr(t, VMCS_GUEST_SYSENTER_EIP, 0);
    wr(t, VMCS_GUEST_ACTIVITY_STATE, 0);
    wr(t, VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
    wr(t, VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
}

/* A 64-bit CPL-0 L1 in VMX root operation with a current VMCS. */
static void vt_init(struct th *t)
{
    th_init(t, TH_LONG64);
    t->cpu.vmx_allowed = true;
    vmx_cpu_init(&t->cpu);
    t->cpu.cr4 |= CR4_VMXE;
    cpu_update_mode(&t->cpu);
    uint32_t rev = VMCS_REVISION_ID;
    memcpy(th_mem(t, VMXON_PA), &rev, 4);
    memcpy(th_mem(t, VMCS_PA), &rev, 4);
    struct vmx *v = t->cpu.vmx;
    v->vmxon = true;
    v->vmxon_ptr = VMXON_PA;
    v->current = VMCS_PA;
    v->current_launched = false;
    build_valid_vmcs(t);
}

static void vt_done(struct th *t)
{
    vmx_cpu_destroy(&t->cpu);
    th_destroy(t);
}

/* VM entry as VMLAUNCH's handler runs it; returns the fault vector if
 * something unwound with cpu_fault() (event delivery, VM exit), else 0. */
static int enter_as(struct th *t, bool launch)
{
    struct cpu *cpu = &t->cpu;
    cpu->rip = TH_CODE;
    cpu->next_rip = TH_CODE + 3;
    cpu_set_rflags(cpu, 2 | FL_ARITH);
    if (setjmp(cpu->fault_jmp))
        return cpu->fault_vector == VEC_VMEXIT ? -1 : cpu->fault_vector ? cpu->fault_vector : 99;
    vmx_vmentry(cpu, launch);
    return 0;
}

static int enter(struct th *t)
{
    return enter_as(t, true);
}

static bool recorded(struct th *t, const char *expr, const char *sdm)
{
    const char *s = t->cpu.vmx->stats.last_failed_check;
    return strstr(s, expr) != NULL && strstr(s, sdm) != NULL;
}

/* VMfailValid(err): ZF = 1, the other arithmetic flags 0, still in root. */
static bool vmfail_valid(struct th *t, enum vmx_insn_error err)
{
    struct cpu *cpu = &t->cpu;
    return (cpu_get_rflags(cpu) & FL_ARITH) == FL_ZF && rd(t, VMCS_VM_INSTRUCTION_ERROR) == err &&
           !cpu->nonroot && cpu->next_rip == TH_CODE + 3;
}

/* A VM-entry failure exit: reason | bit 31, qualification, L1 host state. */
static bool entry_failed(struct th *t, uint32_t reason, uint64_t qual)
{
    struct cpu *cpu = &t->cpu;
    return rd(t, VMCS_VM_EXIT_REASON) == (EXIT_REASON_FAILED_VMENTRY | reason) &&
           rd(t, VMCS_EXIT_QUALIFICATION) == qual && !cpu->nonroot && cpu->rip == HOST_RIP0 &&
           cpu->next_rip == HOST_RIP0 && cpu->r[R_SP] == HOST_RSP0 &&
           cpu_get_rflags(cpu) == 2 && rd(t, VMCS_VM_INSTRUCTION_ERROR) == 0;
}

/* ---------------- successful entry and exit ---------------- */

TEST(vmx_entry_loads_guest_state)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(cpu->nonroot, 1);
    CHECK_EQ(cpu->rip, GUEST_RIP0);
    CHECK_EQ(cpu->next_rip, GUEST_RIP0);
    CHECK_EQ(cpu->r[R_SP], GUEST_RSP0);
    CHECK_EQ(cpu_get_rflags(cpu), 2);
    CHECK_EQ(cpu->cr0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
    CHECK_EQ(cpu->cr3, TH_PT);
    CHECK_EQ(cpu->cr4, CR4_PAE | CR4_VMXE | CR4_OSFXSR);
    CHECK_EQ(cpu->efer, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    CHECK_EQ(cpu->seg[SEG_CS].sel, 0x08);
    CHECK_EQ(cpu->seg[SEG_CS].ar, AR_CODE64);
    CHECK_EQ(cpu->seg[SEG_SS].ar, AR_DATA);
    CHECK_EQ(cpu->seg[SEG_FS].base, 0x5000);
    CHECK_EQ(cpu->seg[SEG_GS].base, 0xffff888000006000ull);
    CHECK_EQ(cpu->ldtr.ar, AR_UNUSABLE);
    CHECK_EQ(cpu->tr.sel, 0x18);
    CHECK_EQ(cpu->tr.base, 0x7000);
    CHECK_EQ(cpu->tr.limit, 0x67);
    CHECK_EQ(cpu->gdtr.base, 0x800);
    CHECK_EQ(cpu->idtr.base, GUEST_IDT);
    CHECK_EQ(cpu->idtr.limit, 0xfff);
    CHECK_EQ(cpu->code64, 1);
    CHECK_EQ(cpu->cpl, 0);
    CHECK_EQ(cpu->state, CPU_RUNNING);
    CHECK(cpu->vmx->current_launched);
    CHECK_EQ(cpu->vmx->stats.entries, 1);
    vt_done(&t);
}

TEST(vmx_exit_saves_guest_loads_host)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    CHECK_EQ(enter(&t), 0);
    /* L2 runs a little: new RIP/RSP, lazy flags (ZF from a SUB), FS base,
     * an STI shadow with IF = 1, HLT state, a new CR3. */
    cpu->rip = GUEST_RIP0 + 0x10;
    cpu->r[R_SP] = GUEST_RSP0 - 0x40;
    cpu_set_rflags(cpu, 2 | FL_IF);
    flags_lazy(cpu, LF_SUB, 8, 5, 5, 0);
    cpu->seg[SEG_FS].base = 0xabc000;
    cpu->intr_shadow = 1;
    cpu->intr_shadow_rip = cpu->rip;
    cpu->state = CPU_HALTED;
    cpu->cr3 = 0x200000;
    cpu->star = 0x1234;

    struct vmx_exit_info ei = { .reason = EXIT_REASON_CPUID, .insn_len = 2 };
    vmx_exit_at_boundary(cpu, &ei);

    /* 27.2 exit information */
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_REASON), EXIT_REASON_CPUID);
    CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 0);
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 2);
    CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO_FIELD), 0);
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_INTR_INFO), 0);
    /* 27.3 guest state, exactly */
    CHECK_EQ(rd(&t, VMCS_GUEST_RIP), GUEST_RIP0 + 0x10);
    CHECK_EQ(rd(&t, VMCS_GUEST_RSP), GUEST_RSP0 - 0x40);
    CHECK_EQ(rd(&t, VMCS_GUEST_RFLAGS), 2 | FL_IF | FL_ZF | FL_PF);
    CHECK_EQ(rd(&t, VMCS_GUEST_CR0), CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
    CHECK_EQ(rd(&t, VMCS_GUEST_CR3), 0x200000);
    CHECK_EQ(rd(&t, VMCS_GUEST_FS_BASE), 0xabc000);
    CHECK_EQ(rd(&t, VMCS_GUEST_CS_AR_BYTES), AR_CODE64);
    CHECK_EQ(rd(&t, VMCS_GUEST_LDTR_AR_BYTES), AR_UNUSABLE);
    CHECK_EQ(rd(&t, VMCS_GUEST_TR_BASE), 0x7000);
    CHECK_EQ(rd(&t, VMCS_GUEST_INTERRUPTIBILITY_INFO), 1); /* blocking by STI */
    CHECK_EQ(rd(&t, VMCS_GUEST_ACTIVITY_STATE), 1);        /* HLT */
    CHECK_EQ(rd(&t, VMCS_GUEST_IA32_EFER), EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    CHECK_EQ(rd(&t, VMCS_GUEST_DR7), 0x400);
    CHECK(rd(&t, VMCS_VM_ENTRY_CONTROLS) & VMX_ENTRYCTL_IA32E_GUEST);
    /* 27.5 host state */
    CHECK_EQ(cpu->nonroot, 0);
    CHECK_EQ(cpu->rip, HOST_RIP0);
    CHECK_EQ(cpu->next_rip, HOST_RIP0);
    CHECK_EQ(cpu->r[R_SP], HOST_RSP0);
    CHECK_EQ(cpu_get_rflags(cpu), 2);
    CHECK_EQ(cpu->cr3, TH_PT);
    CHECK_EQ(cpu->seg[SEG_CS].sel, 0x08);
    CHECK_EQ(cpu->seg[SEG_CS].ar, 0xa09b);
    CHECK_EQ(cpu->seg[SEG_CS].limit, 0xffffffff);
    CHECK_EQ(cpu->seg[SEG_SS].ar, 0xc093);
    CHECK_EQ(cpu->seg[SEG_FS].sel, 0);
    CHECK(cpu->seg[SEG_FS].ar & AR_UNUSABLE);
    CHECK_EQ(cpu->seg[SEG_FS].base, 0x1000);
    CHECK_EQ(cpu->seg[SEG_GS].base, 0xffff800000002000ull);
    CHECK_EQ(cpu->tr.sel, 0x28);
    CHECK_EQ(cpu->tr.base, 0x3000);
    CHECK_EQ(cpu->tr.limit, 0x67);
    CHECK_EQ(cpu->tr.ar, 0x8b);
    CHECK_EQ(cpu->ldtr.sel, 0);
    CHECK(cpu->ldtr.ar & AR_UNUSABLE);
    CHECK_EQ(cpu->gdtr.base, 0x800);
    CHECK_EQ(cpu->gdtr.limit, 0xffff);
    CHECK_EQ(cpu->idtr.base, 0x4000);
    CHECK_EQ(cpu->idtr.limit, 0xffff);
    CHECK_EQ(cpu->dr[7], 0x400);
    CHECK_EQ(cpu->sysenter_esp, 0x7e000);
    CHECK_EQ(cpu->intr_shadow, 0);
    CHECK_EQ(cpu->state, CPU_RUNNING);
    CHECK_EQ(cpu->code64, 1);
    CHECK_EQ(cpu->vmx->stats.exits_by_reason[EXIT_REASON_CPUID], 1);
    vt_done(&t);
}

TEST(vmx_vmexit_unwinds_and_resume_reenters)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    CHECK_EQ(enter(&t), 0);
    struct vmx_exit_info ei = { .reason = EXIT_REASON_HLT, .insn_len = 1 };
    if (setjmp(cpu->fault_jmp) == 0) {
        vmx_vmexit(cpu, &ei);
        CHECK(false); /* not reached */
    }
    CHECK_EQ(cpu->fault_vector, VEC_VMEXIT);
    CHECK_EQ(cpu->nonroot, 0);
    CHECK_EQ(cpu->rip, HOST_RIP0);
    /* The saved guest state is valid for VMRESUME. */
    CHECK_EQ(enter_as(&t, false), 0);
    CHECK_EQ(cpu->nonroot, 1);
    CHECK_EQ(cpu->rip, GUEST_RIP0);
    CHECK_EQ(cpu->vmx->stats.entries, 2);
    vt_done(&t);
}

TEST(vmx_insn_info_encoding)
{
    struct th t;
    vt_init(&t);
    /* VMREAD rbx, rax (register form): reg1 = rm, bit 10, reg2 = reg */
    struct insn reg = { .mod = 3, .rm = 3, .reg = 0, .osz = 8, .asz = 8 };
    CHECK_EQ(vmx_insn_info(&t.cpu, &reg), 3u << 3 | 1u << 10 | 2u << 11 | 0u << 28);
    /* VMPTRLD [rcx + rdx*4] with FS override, 32-bit addressing */
    struct insn mem = { .mod = 0, .base = R_CX, .index = R_DX, .scale = 2, .seg = SEG_FS,
                        .reg = 6, .osz = 4, .asz = 4 };
    CHECK_EQ(vmx_insn_info(&t.cpu, &mem),
             2u | 1u << 7 | 1u << 11 | (uint32_t)SEG_FS << 15 | (uint32_t)R_DX << 18 |
                 (uint32_t)R_CX << 23 | 6u << 28);
    /* RIP-relative: base and index invalid */
    struct insn rip = { .mod = 0, .base = EA_RIP, .index = EA_NONE, .seg = SEG_DS, .osz = 8,
                        .asz = 8 };
    CHECK_EQ(vmx_insn_info(&t.cpu, &rip),
             2u << 7 | 2u << 11 | (uint32_t)SEG_DS << 15 | 1u << 22 | 1u << 27);
    vt_done(&t);
}

/* ---------------- event injection (26.6) ---------------- */

static void set_gate(struct th *t, unsigned vector, uint64_t target)
{
    uint64_t lo = (target & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
                  ((target >> 16) & 0xffff) << 48;
    put64(t, GUEST_IDT + 16 * vector, lo);
    put64(t, GUEST_IDT + 16 * vector + 8, target >> 32);
}

TEST(vmx_entry_injects_external_interrupt)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    set_gate(&t, 0x30, GUEST_HANDLER);
    wr(&t, VMCS_GUEST_RFLAGS, 2 | FL_IF);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_EXT << 8 | 0x30);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(cpu->nonroot, 1);
    CHECK_EQ(cpu->rip, GUEST_HANDLER);
    CHECK_EQ(cpu->r[R_SP], GUEST_RSP0 - 40);
    CHECK_EQ(get64(&t, GUEST_RSP0 - 40), GUEST_RIP0); /* return RIP */
    CHECK_EQ(get64(&t, GUEST_RSP0 - 32), 0x08);
    CHECK_EQ(get64(&t, GUEST_RSP0 - 24), 2 | FL_IF);
    CHECK_EQ(get64(&t, GUEST_RSP0 - 16), GUEST_RSP0);
    CHECK_EQ(cpu_get_rflags(cpu) & FL_IF, 0);
    /* the next VM exit clears the valid bit (27.2) */
    struct vmx_exit_info ei = { .reason = EXIT_REASON_EXTERNAL_INTERRUPT };
    vmx_exit_at_boundary(cpu, &ei);
    CHECK_EQ(rd(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD) & VMX_INTR_VALID, 0);
    vt_done(&t);
}

TEST(vmx_entry_injects_software_interrupt_and_exception)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    set_gate(&t, 0x80, GUEST_HANDLER);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_SOFT_INT << 8 | 0x80);
    wr(&t, VMCS_VM_ENTRY_INSTRUCTION_LEN, 2);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(cpu->rip, GUEST_HANDLER);
    CHECK_EQ(get64(&t, GUEST_RSP0 - 40), GUEST_RIP0 + 2); /* RIP + instruction length */
    vt_done(&t);

    vt_init(&t);
    set_gate(&t, EXC_GP, GUEST_HANDLER + 0x100);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD,
       VMX_INTR_VALID | VMX_INTR_ERR_VALID | VMX_INTR_TYPE_HW_EXC << 8 | EXC_GP);
    wr(&t, VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0x18);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.rip, GUEST_HANDLER + 0x100);
    CHECK_EQ(t.cpu.r[R_SP], GUEST_RSP0 - 48);
    CHECK_EQ(get64(&t, GUEST_RSP0 - 48), 0x18); /* error code */
    CHECK_EQ(get64(&t, GUEST_RSP0 - 40), GUEST_RIP0);
    vt_done(&t);
}

/* A fault while delivering the injected event leaves the VM entry done;
 * a VM exit for it reports the injected event as IDT-vectoring info. */
TEST(vmx_injection_fault_reports_idt_vectoring)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    wr(&t, VMCS_GUEST_IDTR_LIMIT, 0xf); /* vector 0x30 is outside the IDT: #GP */
    wr(&t, VMCS_GUEST_RFLAGS, 2 | FL_IF);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_EXT << 8 | 0x30);
    CHECK_EQ(enter(&t), EXC_GP);
    CHECK_EQ(cpu->nonroot, 1);
    CHECK_EQ(cpu->fault_error, 0x30 * 8 + 2 + 1);
    struct vmx_exit_info ei = {
        .reason = EXIT_REASON_EXCEPTION_NMI,
        .intr_info = VMX_INTR_VALID | VMX_INTR_ERR_VALID | VMX_INTR_TYPE_HW_EXC << 8 | EXC_GP,
        .intr_error = cpu->fault_error,
    };
    vmx_exit_at_boundary(cpu, &ei);
    CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO_FIELD), VMX_INTR_VALID | 0x30);
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_INTR_INFO), ei.intr_info);
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_INTR_ERROR_CODE), 0x183);
    CHECK_EQ(rd(&t, VMCS_GUEST_RIP), GUEST_RIP0);
    CHECK(rd(&t, VMCS_GUEST_RFLAGS) & FL_RF); /* #GP is a fault (27.3.3) */
    CHECK_EQ(cpu->in_event, 0);
    vt_done(&t);
}

TEST(vmx_preemption_timer_armed_and_saved)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    set_bits(&t, VMCS_PIN_BASED_VM_EXEC_CONTROL, VMX_PIN_PREEMPT_TIMER, 0);
    set_bits(&t, VMCS_VM_EXIT_CONTROLS, VMX_EXITCTL_SAVE_PREEMPT, 0);
    wr(&t, VMCS_VMX_PREEMPTION_TIMER_VALUE, 0xffffffff);
    CHECK_EQ(enter(&t), 0);
    /* armed, far away: nothing to look at on every block boundary; the
     * loop's timer poll raises EV_VMX once the deadline has passed */
    CHECK_EQ(atomic_load(&cpu->events) & EV_VMX, 0);
    CHECK(cpu->vmx->preempt_deadline_tsc > cpu_read_tsc(cpu));
    vmx_poll_timer(cpu);
    CHECK_EQ(atomic_load(&cpu->events) & EV_VMX, 0);
    uint64_t deadline = cpu->vmx->preempt_deadline_tsc;
    cpu->vmx->preempt_deadline_tsc = 1; /* long past */
    vmx_poll_timer(cpu);
    CHECK(atomic_load(&cpu->events) & EV_VMX);
    cpu->vmx->preempt_deadline_tsc = deadline;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_RDTSC, .insn_len = 2 };
    vmx_exit_at_boundary(cpu, &ei);
    uint64_t left = rd(&t, VMCS_VMX_PREEMPTION_TIMER_VALUE);
    CHECK(left <= 0xffffffff && left > 0x7fffffff); /* ~2^37 TSC ticks at entry */
    CHECK_EQ(atomic_load(&cpu->events) & EV_VMX, 0);
    CHECK_EQ(cpu->vmx->preempt_deadline_tsc, 0);
    vt_done(&t);
}

/* ---------------- 26.2.1 control checks → VMfailValid(7) ---------------- */

TEST(vmx_check_controls_reserved_pin_bit)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_PIN_BASED_VM_EXEC_CONTROL, 1u << 8, 0); /* reserved: not allowed-1 */
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "!vmx_ctl_ok(k->pin, must1, may1)", "26.2.1.1"));
    CHECK_EQ(t.cpu.vmx->stats.entry_failures, 1);
    vt_done(&t);
}

TEST(vmx_check_controls_virtual_nmis_need_nmi_exiting)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_PIN_BASED_VM_EXEC_CONTROL, 0, VMX_PIN_NMI);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "virtual_nmis && !nmi_exiting", "26.2.1.1"));
    vt_done(&t);
}

TEST(vmx_check_controls_cr3_target_count)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_CR3_TARGET_COUNT, 4);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.nonroot, 1); /* 4 targets are supported */
    vt_done(&t);
    vt_init(&t);
    wr(&t, VMCS_CR3_TARGET_COUNT, 5);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "cr3_target_count > cr3_targets_supported", "26.2.1.1"));
    vt_done(&t);
}

TEST(vmx_check_controls_eptp_and_unrestricted_guest)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_EPT_POINTER, EPT_PML4 | 6 | (2u << 3)); /* 3-level walk */
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "enable_ept && !four_levels", "26.2.1.1"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_EPT_POINTER, EPT_PML4 | 0 | (3u << 3)); /* UC: not advertised */
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "enable_ept && !type_supported", "26.2.1.1"));
    vt_done(&t);

    vt_init(&t);
    set_bits(&t, VMCS_SECONDARY_VM_EXEC_CONTROL, 0, VMX_PROC2_EPT);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "unrestricted_guest && !enable_ept", "26.2.1.1"));
    vt_done(&t);
}

/* With "activate secondary controls" = 0 the secondary controls are ignored. */
TEST(vmx_check_controls_secondary_ignored_when_inactive)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL, 0, VMX_PROC_SECONDARY);
    wr(&t, VMCS_SECONDARY_VM_EXEC_CONTROL, 0xffffffff);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.nonroot, 1);
    vt_done(&t);
}

TEST(vmx_check_controls_exit_and_entry_fields)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_VM_EXIT_MSR_STORE_COUNT, 1);
    wr(&t, VMCS_VM_EXIT_MSR_STORE_ADDR, EXIT_STORE_MSRS + 8); /* not 16-byte aligned */
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "msr_area_bad(store_addr, store_count)", "26.2.1.2"));
    vt_done(&t);

    vt_init(&t);
    set_bits(&t, VMCS_VM_EXIT_CONTROLS, VMX_EXITCTL_SAVE_PREEMPT, 0);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "save_timer_value && !activate_timer", "26.2.1.2"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_SOFT_INT << 8 | 0x80);
    wr(&t, VMCS_VM_ENTRY_INSTRUCTION_LEN, 0);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "software_event && (length < min_length || length > 15)", "26.2.1.3"));
    vt_done(&t);

    vt_init(&t);
    /* #GP without the deliver-error-code bit in a protected-mode guest */
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_HW_EXC << 8 | EXC_GP);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "deliver_error_code != error_code_expected", "26.2.1.3"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_NMI << 8 | 3);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_CONTROL));
    CHECK(recorded(&t, "info && bad_vector", "26.2.1.3"));
    vt_done(&t);
}

/* ---------------- 26.2.2-26.2.4 host-state checks → VMfailValid(8) ---------------- */

TEST(vmx_check_host_cr4_fixed_bits)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_HOST_CR4, 0, CR4_VMXE);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_HOST_STATE));
    CHECK(recorded(&t, "(host_cr4 & fixed0) != fixed0", "26.2.2"));
    vt_done(&t);
}

TEST(vmx_check_host_selectors)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_HOST_TR_SELECTOR, 0);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_HOST_STATE));
    CHECK(recorded(&t, "host_tr == 0", "26.2.3"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_HOST_SS_SELECTOR, 0x13); /* RPL 3 */
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_HOST_STATE));
    CHECK(recorded(&t, "rpl_ti_bits != 0", "26.2.3"));
    vt_done(&t);
}

TEST(vmx_check_host_address_space_size)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_VM_EXIT_CONTROLS, 0, VMX_EXITCTL_HOST_64); /* but EFER.LMA = 1 now */
    set_bits(&t, VMCS_VM_EXIT_CONTROLS, 0, VMX_EXITCTL_LOAD_EFER);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_HOST_STATE));
    CHECK(recorded(&t, "lma != host_address_space_size", "26.2.4"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_HOST_RIP, 0x0000800000000000ull);
    CHECK_EQ(enter(&t), 0);
    CHECK(vmfail_valid(&t, VMXERR_ENTRY_INVALID_HOST_STATE));
    CHECK(recorded(&t, "host_address_space_size && (!pae || !seg_canonical(host_rip))", "26.2.4"));
    vt_done(&t);
}

/* ---------------- 26.3.1 guest-state checks → exit reason 33 ---------------- */

/* A real-mode guest (CR0.PE = PG = 0) as KVM runs firmware under
 * unrestricted guest. */
static void make_real_mode_guest(struct th *t)
{
    set_bits(t, VMCS_VM_ENTRY_CONTROLS, 0, VMX_ENTRYCTL_IA32E_GUEST);
    wr(t, VMCS_GUEST_IA32_EFER, 0);
    wr(t, VMCS_GUEST_CR0, CR0_ET | CR0_NE);
    wr(t, VMCS_GUEST_CR4, CR4_VMXE);
    wr(t, VMCS_GUEST_CR3, 0);
    for (int s = SEG_ES; s <= SEG_GS; s++)
        set_guest_seg(t, s, 0, 0, 0xffff, 0x93);
    set_guest_seg(t, SEG_CS, 0xf000, 0xf0000, 0xffff, 0x9b);
    wr(t, VMCS_GUEST_RIP, 0xfff0);
    wr(t, VMCS_GUEST_RSP, 0x7000);
    wr(t, VMCS_GUEST_GDTR_LIMIT, 0xffff);
    wr(t, VMCS_GUEST_IDTR_BASE, 0);
    wr(t, VMCS_GUEST_IDTR_LIMIT, 0x3ff);
}

TEST(vmx_check_guest_real_mode_unrestricted)
{
    struct th t;
    vt_init(&t);
    make_real_mode_guest(&t);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.cr0 & CR0_PE, 0);
    CHECK_EQ(t.cpu.efer & EFER_LMA, 0);
    CHECK_EQ(t.cpu.code_bits, 16);
    CHECK_EQ(t.cpu.seg[SEG_CS].base, 0xf0000);
    CHECK_EQ(t.cpu.rip, 0xfff0);
    vt_done(&t);

    /* the same guest without "unrestricted guest": CR0.PE/PG are fixed 1 */
    vt_init(&t);
    make_real_mode_guest(&t);
    set_bits(&t, VMCS_SECONDARY_VM_EXEC_CONTROL, 0, VMX_PROC2_UNRESTRICTED);
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "(guest_cr0 & fixed0) != fixed0", "26.3.1.1"));
    CHECK_EQ(t.cpu.vmx->stats.entry_failures, 1);
    CHECK(!t.cpu.vmx->current_launched);
    vt_done(&t);
}

TEST(vmx_check_guest_control_registers)
{
    struct th t;
    vt_init(&t);
    make_real_mode_guest(&t);
    wr(&t, VMCS_GUEST_CR0, CR0_ET | CR0_NE | CR0_PG); /* PG without PE */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "pg && !pe", "26.3.1.1"));
    vt_done(&t);

    vt_init(&t);
    set_bits(&t, VMCS_GUEST_CR4, 0, CR4_PAE);
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "ia32e_mode_guest && (!pg || !pae)", "26.3.1.1"));
    vt_done(&t);
}

TEST(vmx_check_guest_segments)
{
    struct th t;
    vt_init(&t);
    set_bits(&t, VMCS_GUEST_TR_AR_BYTES, AR_UNUSABLE, 0);
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "tr_s_or_not_present || tr_unusable", "26.3.1.2"));
    vt_done(&t);

    vt_init(&t);
    set_bits(&t, VMCS_GUEST_CS_AR_BYTES, AR_DB, 0); /* L and D together */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "ia32e && cs_l && cs_d", "26.3.1.2"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_GUEST_SS_LIMIT, 0xffff0); /* G = 1 but limit 11:0 != FFFH */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "granularity_mismatch", "26.3.1.2"));
    vt_done(&t);
}

TEST(vmx_check_guest_rflags_and_interruptibility)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_GUEST_RFLAGS, 0); /* bit 1 clear */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "(rflags & reserved) || !(rflags & 2)", "26.3.1.4"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_GUEST_RFLAGS, 2 | FL_IF);
    wr(&t, VMCS_GUEST_INTERRUPTIBILITY_INFO, 3); /* STI and MOV SS */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "sti_and_mov_ss", "26.3.1.5"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_GUEST_ACTIVITY_STATE, 2); /* shutdown: not in IA32_VMX_MISC */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 0));
    CHECK(recorded(&t, "!supported", "26.3.1.5"));
    vt_done(&t);

    vt_init(&t);
    wr(&t, VMCS_GUEST_ACTIVITY_STATE, 1); /* HLT is supported */
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.state, CPU_HALTED);
    vt_done(&t);
}

TEST(vmx_check_guest_link_pointer_and_pdptes)
{
    struct th t;
    vt_init(&t);
    wr(&t, VMCS_VMCS_LINK_POINTER, 0x33000); /* no VMCS revision there */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 4));
    CHECK(recorded(&t, "link_revision_mismatch", "26.3.1.5"));
    vt_done(&t);

    /* 32-bit PAE guest with EPT: the PDPTE fields are checked */
    vt_init(&t);
    set_bits(&t, VMCS_VM_ENTRY_CONTROLS, 0, VMX_ENTRYCTL_IA32E_GUEST);
    wr(&t, VMCS_GUEST_IA32_EFER, 0);
    wr(&t, VMCS_GUEST_CS_AR_BYTES, AR_CODE32);
    wr(&t, VMCS_GUEST_PDPTE0, 0x1000 | 1 | (1u << 5)); /* reserved bit 5 */
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_INVALID_STATE, 2));
    CHECK(recorded(&t, "pdpte_reserved_bits", "26.3.1.6"));
    vt_done(&t);

    vt_init(&t);
    set_bits(&t, VMCS_VM_ENTRY_CONTROLS, 0, VMX_ENTRYCTL_IA32E_GUEST);
    wr(&t, VMCS_GUEST_IA32_EFER, 0);
    wr(&t, VMCS_GUEST_CS_AR_BYTES, AR_CODE32);
    wr(&t, VMCS_GUEST_PDPTE0, 0x1000 | 1);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.pdpte[0], 0x1001);
    CHECK_EQ(t.cpu.code_bits, 32);
    vt_done(&t);
}

/* ---------------- MSR lists (26.4, 27.4, 27.6) ---------------- */

static void msr_entry(struct th *t, uint64_t area, unsigned i, uint64_t index, uint64_t value)
{
    put64(t, area + 16 * i, index);
    put64(t, area + 16 * i + 8, value);
}

TEST(vmx_entry_msr_load_failure_reports_index)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    cpu->nmi_blocked = 1;
    msr_entry(&t, ENTRY_MSRS, 0, MSR_IA32_STAR, 0x0023001000000000ull);
    msr_entry(&t, ENTRY_MSRS, 1, MSR_IA32_LSTAR, 0xffffffff81000000ull);
    msr_entry(&t, ENTRY_MSRS, 2, MSR_IA32_FS_BASE, 0x1234); /* never in an MSR-load area */
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_ADDR, ENTRY_MSRS);
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_COUNT, 3);
    wr(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_VALID | VMX_INTR_TYPE_EXT << 8 | 0x30);
    wr(&t, VMCS_GUEST_RFLAGS, 2 | FL_IF);
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_MSR_LOAD_FAIL, 3));
    CHECK_EQ(cpu->star, 0x0023001000000000ull); /* earlier entries stay loaded */
    CHECK_EQ(cpu->seg[SEG_FS].base, 0x1000);     /* host FS base */
    CHECK_EQ(cpu->nmi_blocked, 1);               /* as before the VM entry (26.8) */
    CHECK(rd(&t, VMCS_VM_ENTRY_INTR_INFO_FIELD) & VMX_INTR_VALID); /* not cleared */
    CHECK(!cpu->vmx->current_launched);
    CHECK_EQ(cpu->vmx->stats.exits_by_reason[EXIT_REASON_MSR_LOAD_FAIL], 1);
    vt_done(&t);

    vt_init(&t);
    msr_entry(&t, ENTRY_MSRS, 0, 0x100000000ull | MSR_IA32_STAR, 0); /* reserved 63:32 */
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_ADDR, ENTRY_MSRS);
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_COUNT, 1);
    CHECK_EQ(enter(&t), 0);
    CHECK(entry_failed(&t, EXIT_REASON_MSR_LOAD_FAIL, 1));
    vt_done(&t);
}

TEST(vmx_msr_areas_on_entry_and_exit)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    msr_entry(&t, ENTRY_MSRS, 0, MSR_IA32_LSTAR, 0xffffffff81001000ull);
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_ADDR, ENTRY_MSRS);
    wr(&t, VMCS_VM_ENTRY_MSR_LOAD_COUNT, 1);
    msr_entry(&t, EXIT_STORE_MSRS, 0, MSR_IA32_LSTAR, 0);
    msr_entry(&t, EXIT_STORE_MSRS, 1, MSR_IA32_KERNEL_GS_BASE, 0);
    wr(&t, VMCS_VM_EXIT_MSR_STORE_ADDR, EXIT_STORE_MSRS);
    wr(&t, VMCS_VM_EXIT_MSR_STORE_COUNT, 2);
    msr_entry(&t, EXIT_LOAD_MSRS, 0, MSR_IA32_LSTAR, 0xffffffff82002000ull);
    wr(&t, VMCS_VM_EXIT_MSR_LOAD_ADDR, EXIT_LOAD_MSRS);
    wr(&t, VMCS_VM_EXIT_MSR_LOAD_COUNT, 1);
    CHECK_EQ(enter(&t), 0);
    CHECK_EQ(cpu->lstar, 0xffffffff81001000ull);
    cpu->kernel_gs_base = 0x4444;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_VMCALL, .insn_len = 3 };
    vmx_exit_at_boundary(cpu, &ei);
    CHECK_EQ(get64(&t, EXIT_STORE_MSRS + 8), 0xffffffff81001000ull);
    CHECK_EQ(get64(&t, EXIT_STORE_MSRS + 24), 0x4444);
    CHECK_EQ(cpu->lstar, 0xffffffff82002000ull);
    CHECK_EQ(cpu->nonroot, 0);
    CHECK_EQ(cpu->state, CPU_RUNNING);
    vt_done(&t);
}

TEST(vmx_exit_msr_load_failure_is_vmx_abort)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    msr_entry(&t, EXIT_LOAD_MSRS, 0, MSR_X2APIC_FIRST + 8, 0); /* x2APIC TPR */
    wr(&t, VMCS_VM_EXIT_MSR_LOAD_ADDR, EXIT_LOAD_MSRS);
    wr(&t, VMCS_VM_EXIT_MSR_LOAD_COUNT, 1);
    CHECK_EQ(enter(&t), 0);
    struct vmx_exit_info ei = { .reason = EXIT_REASON_HLT, .insn_len = 1 };
    vmx_exit_at_boundary(cpu, &ei);
    uint32_t indicator;
    memcpy(&indicator, th_mem(&t, VMCS_PA + 4), 4);
    CHECK_EQ(indicator, 4);
    CHECK_EQ(cpu->state, CPU_SHUTDOWN);
    CHECK_EQ(cpu->nonroot, 0);
    vt_done(&t);
}

TEST(vmx_exit_idt_vectoring_from_noted_delivery)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    CHECK_EQ(enter(&t), 0);
    /* INT3 let through to L2 whose delivery hits an EPT violation */
    cpu->next_rip = cpu->rip + 1;
    vmx_note_delivery(cpu, EXC_BP, EV_KIND_SOFT_EXC, NO_ERR);
    cpu->in_event = 1 + EV_KIND_SOFT_EXC;
    cpu->pending_vector = EXC_BP;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_EPT_VIOLATION, .qual = 0x182,
                                .guest_phys = 0x5fff8, .guest_linear = 0x5fff8 };
    vmx_exit_at_boundary(cpu, &ei);
    CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO_FIELD),
             VMX_INTR_VALID | VMX_INTR_TYPE_SOFT_EXC << 8 | EXC_BP);
    CHECK_EQ(rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 1);
    CHECK_EQ(rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), 0x5fff8);
    CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 0x182);
    CHECK_EQ(cpu->in_event, 0);
    vt_done(&t);
}

/* End to end: L1 executes VMLAUNCH, L2 runs its own code.  With HLT
 * exiting L2's HLT either stops in L2 (no intercepts yet) or exits to L1's
 * host RIP, where L1 halts; both show that L2 code ran. */
TEST(vmx_vmlaunch_runs_l2_code)
{
    struct th t;
    vt_init(&t);
    struct cpu *cpu = &t.cpu;
    static const uint8_t l2[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xf4 }; /* mov eax, 42; hlt */
    memcpy(th_mem(&t, GUEST_RIP0), l2, sizeof l2);
    *(uint8_t *)th_mem(&t, HOST_RIP0) = 0xf4;
    bus_note_dma(&t.bus, GUEST_RIP0, sizeof l2);
    bus_note_dma(&t.bus, HOST_RIP0, 1);
    static const uint8_t l1[] = { 0x0f, 0x01, 0xc2, 0xf4 }; /* vmlaunch; hlt */
    cpu->r[R_AX] = 0;
    CHECK_EQ(th_run(&t, l1, sizeof l1), TH_HALT);
    CHECK_EQ(cpu->r[R_AX], 42);
    CHECK_EQ(rd(&t, VMCS_VM_INSTRUCTION_ERROR), 0);
    CHECK(cpu->vmx->current_launched);
    bool halted_in_l2 = cpu->nonroot && cpu->rip == GUEST_RIP0 + sizeof l2;
    bool exited_to_l1 = !cpu->nonroot && rd(&t, VMCS_VM_EXIT_REASON) == EXIT_REASON_HLT &&
                        rd(&t, VMCS_GUEST_RIP) == GUEST_RIP0 + 5;
    CHECK(halted_in_l2 || exited_to_l1);
    vt_done(&t);
}
