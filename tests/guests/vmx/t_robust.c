/*
 * t_robust.c — hostile-L1 robustness: VMX structures placed at guest-
 * physical addresses with no RAM behind them, and an EPT hierarchy that
 * points back at itself.  What such memory reads as is platform-specific,
 * so each row accepts the architectural outcomes the SDM allows for the
 * possible contents (VMfail*, VM-entry failure, EPT violation or
 * misconfiguration, triple fault) and checks that L1 gets control back.
 * L2 runs under a VMX-preemption-timer watchdog when one is advertised.
 */
#include "desc.h"
#include "vmx_lib.h"

#define NO_RAM 0xf0000000ull /* below 4 GiB, above the 256-512 MiB of RAM, not MMIO */

static void watchdog(void)
{
    if (caps.pin_a1 & PIN_PREEMPT) {
        vmwrite(PIN_CTLS, vmread(PIN_CTLS) | PIN_PREEMPT);
        vmwrite(PREEMPT_TIMER_VALUE, 0x10000000);
    }
}

static void r_vmxon(void)
{
    vmxoff();
    int r = vmxon(NO_RAM);
    if (r == VM_OK)
        vmxoff();
    CHECK(r == VM_FAIL_INVALID || r == VM_OK, "VMXON of a region without RAM: %s", vm_result_str(r));
}

static void r_vmptrld(void)
{
    int r = vmptrld(NO_RAM);
    uint32_t e = r == VM_FAIL_VALID ? insn_error() : 0;
    CHECK(r == VM_OK || (r == VM_FAIL_VALID && (e == 9 || e == 11)),
          "VMPTRLD of a region without RAM: %s", vm_result_str(r));
    vmptrld((uint64_t)vmcs_main);
}

static int any_exit(void) { return T_DONE; }

static void r_eptp(void)
{
    if (!want_proc2(PROC2_EPT))
        return;
    vmwrite(EPT_POINTER, NO_RAM | 6 | 3 << 3);
    watchdog();
}

static void r_eptp_check(void)
{
    CHECK(ex.reason == R_EPT_MISCONFIG || ex.reason == R_EPT_VIOLATION || ex.reason == R_PREEMPT ||
              ex.reason == R_TRIPLE_FAULT,
          "EPT tables without RAM: exit %#x (%s)", ex.reason, reason_name(ex.reason));
}

static uint64_t loop_pml4[512] ALIGNED(4096);
static void r_ept_loop(void)
{
    if (!want_proc2(PROC2_EPT))
        return;
    for (int i = 0; i < 512; i++)
        loop_pml4[i] = (uint64_t)loop_pml4 | EPT_RWX; /* every level is this page */
    vmwrite(EPT_POINTER, (uint64_t)loop_pml4 | 6 | 3 << 3);
    watchdog();
}

static void r_ept_loop_check(void)
{
    CHECK(ex.reason != R_VMCALL, "L2 completed through a self-referencing EPT (exit %#x)", ex.reason);
}

static void r_msr_bitmap(void)
{
    if (!want_proc(PROC_MSR_BITMAPS))
        return;
    vmwrite(MSR_BITMAP, NO_RAM);
    watchdog();
}

static void r_msr_guest(void) { (void)rdmsr(MSR_SYSENTER_CS); }

static int r_msr_exit(void)
{
    if (ex.reason == R_RDMSR) {
        skip_insn();
        return T_RESUME;
    }
    return unexpected_exit();
}

static void r_io_bitmap(void)
{
    if (!want_proc(PROC_IO_BITMAPS))
        return;
    vmwrite(IO_BITMAP_A, NO_RAM);
    vmwrite(IO_BITMAP_B, NO_RAM + 0x1000);
    watchdog();
}

static void r_io_guest(void) { asm volatile("outb %%al, $0x80" : : "a"(0)); }

static int r_io_exit(void)
{
    if (ex.reason == R_IO) {
        skip_insn();
        return T_RESUME;
    }
    return unexpected_exit();
}

static void r_msr_load(void)
{
    vmwrite(ENTRY_MSR_LOAD_ADDR, NO_RAM);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 4);
    int r = vmx_enter(1);
    uint32_t reason = r ? 0 : (uint32_t)vmread(EXIT_REASON);
    CHECK(r == 0 && (reason == (R_MSR_LOAD | R_ENTRY_FAIL) || reason == R_VMCALL),
          "MSR-load list without RAM: %s, exit %#x", vm_result_str(r), reason);
}

static void r_link_ptr(void)
{
    vmwrite(VMCS_LINK_PTR, NO_RAM);
    int r = vmx_enter(1);
    uint32_t reason = r ? 0 : (uint32_t)vmread(EXIT_REASON);
    CHECK(r == 0 && reason == (R_INVALID_GUEST | R_ENTRY_FAIL) && vmread(EXIT_QUAL) == 4,
          "VMCS link pointer without RAM: %s, exit %#x, qual %#lx (want 33|1<<31, qual 4: the "
          "revision identifier cannot match)", vm_result_str(r), reason, vmread(EXIT_QUAL));
}

static void r_vapic(void)
{
    if (!want_proc(PROC_TPR_SHADOW))
        return;
    vmwrite(VIRT_APIC_PAGE, NO_RAM);
    watchdog();
}

static void r_vapic_guest(void)
{
    uint64_t v;
    asm volatile("mov %%cr8, %0" : "=r"(v));
    asm volatile("mov %0, %%cr8" : : "r"(0ul));
}

static int r_vapic_exit(void)
{
    if (ex.reason == R_TPR_BELOW)
        return T_RESUME;
    return unexpected_exit();
}

const struct vmx_test robust_tests[] = {
    { .name = "robust_vmxon_no_ram",
      .sdm = "30.3 VMXON: the revision identifier read from the region must match, else "
             "VMfailInvalid",
      .init = r_vmxon },
    { .name = "robust_vmptrld_no_ram",
      .sdm = "30.3 VMPTRLD: a revision mismatch gives VMfailValid(11)", .init = r_vmptrld },
    { .name = "robust_eptp_no_ram",
      .sdm = "28.2.3: an EPT walk that reads unusable entries ends in an EPT violation or "
             "misconfiguration — never in a hang",
      .init = r_eptp, .exit_handler = any_exit, .check = r_eptp_check },
    { .name = "robust_ept_self_loop",
      .sdm = "28.2.2: the EPT walk has a fixed number of levels; a self-referencing hierarchy "
             "must not hang the translation",
      .init = r_ept_loop, .exit_handler = any_exit, .check = r_ept_loop_check },
    { .name = "robust_msr_bitmap_no_ram",
      .sdm = "24.6.9: the MSR bitmap is read from guest-physical memory; RDMSR exits or not "
             "according to what it reads",
      .init = r_msr_bitmap, .guest = r_msr_guest, .exit_handler = r_msr_exit },
    { .name = "robust_io_bitmap_no_ram",
      .sdm = "24.6.4: the I/O bitmaps are read from memory; OUT exits or not according to them",
      .init = r_io_bitmap, .guest = r_io_guest, .exit_handler = r_io_exit },
    { .name = "robust_msr_load_no_ram",
      .sdm = "26.4: VM entry reads the MSR-load list from memory; unusable entries fail the entry "
             "with exit 34",
      .init = r_msr_load },
    { .name = "robust_link_ptr_no_ram",
      .sdm = "26.3.1.5: the VMCS referenced by the link pointer must carry the revision "
             "identifier, else VM entry fails with qualification 4",
      .init = r_link_ptr },
    { .name = "robust_virtual_apic_no_ram",
      .sdm = "29.3: CR8 accesses with 'use TPR shadow' use the virtual-APIC page wherever L1 "
             "placed it",
      .init = r_vapic, .guest = r_vapic_guest, .exit_handler = r_vapic_exit },
};
const size_t n_robust_tests = ARRAY_SIZE(robust_tests);
