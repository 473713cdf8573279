/*
 * t_entry.c — VM-entry failures (SDM Vol.3 chapter 26).  Each row starts
 * from the valid default VMCS, breaks exactly one thing and executes
 * VMLAUNCH:
 *   E_CTL   26.2.1 checks on VMX controls     → VMfailValid(7)
 *   E_HOST  26.2.2-26.2.4 host-state checks   → VMfailValid(8)
 *   E_GUEST 26.3.1 guest-state checks         → VM exit 33 | 1<<31, qual as given
 *   E_MSR   26.4 VM-entry MSR loading         → VM exit 34 | 1<<31, qual = entry (1-based)
 * plus VMLAUNCH/VMRESUME launch-state rules around a failed entry.
 */
#include "desc.h"
#include "vmx_lib.h"

enum { E_CTL = 1, E_HOST, E_GUEST, E_MSR };
enum { OP_NONE, OP_SET, OP_OR, OP_ANDN };

struct entry_row {
    int kind;
    uint64_t qual;
    uint64_t field;
    int op;
    uint64_t val;
    bool (*prep)(void); /* extra setup; returns false if the row must be skipped */
};

static unsigned phys_bits(void)
{
    uint32_t a, b, c, d;
    cpuid2(0x80000008, 0, &a, &b, &c, &d);
    return a & 0xff;
}

static uint32_t lowest_bit(uint32_t v) { return v & -v; }

static bool reserved_bit(uint64_t field, uint32_t a1, const char *what)
{
    uint32_t bad = ~a1;
    if (!bad) {
        skip("every %s control may be 1", what);
        return false;
    }
    vmwrite(field, vmread(field) | lowest_bit(bad));
    return true;
}

/* ---- preparations ---- */
static bool p_pin_rsvd(void) { return reserved_bit(PIN_CTLS, caps.pin_a1, "pin-based"); }
static bool p_proc_rsvd(void) { return reserved_bit(PROC_CTLS, caps.proc_a1, "processor-based"); }
static bool p_proc2_rsvd(void)
{
    return want_proc2(0) && reserved_bit(PROC2_CTLS, caps.proc2_a1, "secondary");
}
static bool p_exit_rsvd(void) { return reserved_bit(EXIT_CTLS, caps.exit_a1, "VM-exit"); }
static bool p_entry_rsvd(void) { return reserved_bit(ENTRY_CTLS, caps.entry_a1, "VM-entry"); }
static bool p_cr3_count(void)
{
    vmwrite(CR3_TARGET_COUNT, ((caps.misc >> 16) & 0x1ff) + 1);
    return true;
}
static bool p_io_bitmaps(void) { return want_proc(PROC_IO_BITMAPS); }
static bool p_msr_bitmaps(void) { return want_proc(PROC_MSR_BITMAPS); }
static bool p_nmi_window_no_vnmi(void) { return want_pin(PIN_NMI) && want_proc(PROC_NMI_WINDOW); }
static bool p_vnmi_no_nmi_exit(void)
{
    if (!(caps.pin_a1 & PIN_VIRT_NMI)) {
        skip("not advertised: virtual NMIs");
        return false;
    }
    vmwrite(PIN_CTLS, vmread(PIN_CTLS) | PIN_VIRT_NMI);
    return true;
}
static bool p_tpr_above_vtpr(void)
{
    if (!want_proc(PROC_TPR_SHADOW))
        return false;
    vapic_page[0x80] = 0x20;
    vmwrite(TPR_THRESHOLD, 3);
    return true;
}
static bool p_tpr_shadow(void) { return want_proc(PROC_TPR_SHADOW); }
static bool p_ept(void) { return want_proc2(PROC2_EPT); }
static bool p_unrestricted_no_ept(void)
{
    if (!want_proc2(PROC2_UNRESTRICTED))
        return false;
    clear_ctl(PROC2_CTLS, PROC2_EPT);
    return true;
}
static bool p_vpid(void) { return want_proc2(PROC2_VPID); }
static bool p_apic_access(void) { return want_proc2(PROC2_APIC_ACCESS); }
static bool p_x2apic_no_tpr(void) { return want_proc2(PROC2_X2APIC); }
static bool p_x2apic_and_apic_access(void)
{
    return want_proc(PROC_TPR_SHADOW) && want_proc2(PROC2_X2APIC | PROC2_APIC_ACCESS);
}
static bool p_save_preempt_only(void) { return want_exit(EXIT_SAVE_PREEMPT); }
static bool p_soft_len0(void)
{
    if (caps.misc & (1ull << 30)) {
        skip("IA32_VMX_MISC[30]: zero instruction length allowed");
        return false;
    }
    vmwrite(ENTRY_INSN_LEN, 0);
    return true;
}
static bool p_soft_int(void)
{
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_SOFT_INT | 0x80);
    return true;
}
static bool p_msr_count(void)
{
    vmwrite(ENTRY_MSR_LOAD_COUNT, 1);
    msr_list_entry[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0 };
    return true;
}
static bool p_host_cr3_maxphy(void)
{
    vmwrite(HOST_CR3, read_cr3() | 1ull << phys_bits());
    return true;
}
static bool p_load_efer_host(void) { return want_exit(EXIT_LOAD_EFER); }
static bool p_load_pat_host(void) { return want_exit(EXIT_LOAD_PAT); }
static bool p_load_efer_guest(void) { return want_entry(ENTRY_LOAD_EFER); }
static bool p_load_pat_guest(void) { return want_entry(ENTRY_LOAD_PAT); }
static bool p_load_debug(void) { return want_entry(ENTRY_LOAD_DEBUG); }
static bool p_activity(void)
{
    /* shutdown (2) if not advertised, else the out-of-range value 4 */
    vmwrite(GUEST_ACTIVITY, (caps.misc & (1u << 7)) ? 4 : 2);
    return true;
}
static bool p_link_bad_rev(void)
{
    vmclear((uint64_t)vmcs_spare);
    *(uint32_t *)vmcs_spare = caps.rev ^ 4;
    vmwrite(VMCS_LINK_PTR, (uint64_t)vmcs_spare);
    return true;
}
static bool p_sti_if0(void)
{
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_INTERRUPTIBILITY, 1);
    return true;
}
static bool p_ext_inject_if0(void)
{
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_EXT | 0x40);
    return true;
}
static bool p_msr_list(struct msr_entry e1)
{
    if (!want_proc(PROC_MSR_BITMAPS))
        return false;
    msr_list_entry[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x1000 };
    msr_list_entry[1] = e1;
    vmwrite(ENTRY_MSR_LOAD_COUNT, 2);
    return true;
}
static bool p_msr_fs_base(void) { return p_msr_list((struct msr_entry){ MSR_FS_BASE, 0, 0 }); }
static bool p_msr_x2apic(void) { return p_msr_list((struct msr_entry){ 0x808, 0, 0 }); }
static bool p_msr_rsvd(void) { return p_msr_list((struct msr_entry){ MSR_STAR, 1, 0 }); }
static bool p_msr_gp(void) { return p_msr_list((struct msr_entry){ MSR_EFER, 0, 1ull << 40 }); }
static bool p_msr_unknown(void)
{
    if (!p_msr_list((struct msr_entry){ MSR_STAR, 0, 0 }))
        return false;
    msr_list_entry[2] = (struct msr_entry){ 0x4e560000u, 0, 0 };
    vmwrite(ENTRY_MSR_LOAD_COUNT, 3);
    return true;
}

static void entry_row_run(void)
{
    const struct entry_row *r = cur_test->arg;
    if (r->prep && !r->prep())
        return;
    if (cur.skipped || cur.fails)
        return;
    switch (r->op) {
    case OP_SET: vmwrite(r->field, r->val); break;
    case OP_OR: vmwrite(r->field, vmread(r->field) | r->val); break;
    case OP_ANDN: vmwrite(r->field, vmread(r->field) & ~r->val); break;
    }
    int res = vmx_enter(1);
    if (r->kind == E_CTL || r->kind == E_HOST) {
        uint32_t want = r->kind == E_CTL ? 7 : 8;
        if (res == 0)
            fail_at(__LINE__, "VM entry succeeded (exit %#x %s), want VMfailValid(%u)",
                    (uint32_t)vmread(EXIT_REASON), reason_name((uint32_t)vmread(EXIT_REASON)), want);
        else
            CHECK(res == VM_FAIL_VALID && insn_error() == want, "%s, want VMfailValid(%u)",
                  vm_result_str(res), want);
        return;
    }
    uint32_t want = (r->kind == E_GUEST ? R_INVALID_GUEST : R_MSR_LOAD) | R_ENTRY_FAIL;
    if (res) {
        fail_at(__LINE__, "%s, want VM-entry failure exit %#x", vm_result_str(res), want);
        return;
    }
    uint32_t reason = (uint32_t)vmread(EXIT_REASON);
    CHECK(reason == want, "exit reason %#x (%s), want %#x", reason, reason_name(reason), want);
    CHECK_EQ(vmread(EXIT_QUAL), r->qual, "exit qualification");
    CHECK_EQ(host_rflags_at_exit, 0x2, "RFLAGS after the failed entry (loaded as 2)");
}

#define ER(nm, s, ...)                                                                     \
    { .name = nm, .sdm = s, .init = entry_row_run, .arg = &(const struct entry_row){ __VA_ARGS__ } }

/* ---- launch state around a failed VM entry ---- */
static void fail_keeps_clear(void)
{
    vmwrite(GUEST_RFLAGS, 0); /* bit 1 clear: invalid guest state */
    int r = vmx_enter(1);
    CHECK(r == 0 && vmread(EXIT_REASON) == (R_INVALID_GUEST | R_ENTRY_FAIL),
          "first VMLAUNCH: %s, exit %#lx", vm_result_str(r), vmread(EXIT_REASON));
    r = vmx_enter(0);
    CHECK(r == VM_FAIL_VALID && insn_error() == 5,
          "VMRESUME after a failed VMLAUNCH: %s, want VMfailValid(5)", r ? vm_result_str(r) : "VM entry");
    vmwrite(GUEST_RFLAGS, 0x2);
    r = vmx_enter(1);
    CHECK(r == 0 && vmread(EXIT_REASON) == R_VMCALL,
          "VMLAUNCH with the state fixed: %s, exit %#lx", vm_result_str(r), vmread(EXIT_REASON));
}

const struct vmx_test entry_tests[] = {
    /* ---- 26.2.1 VM-execution, exit and entry controls → VMfailValid(7) ---- */
    ER("entry_ctl_pin_reserved", "26.2.1.1: reserved bits in the pin-based controls must be set "
       "as reported by IA32_VMX_(TRUE_)PINBASED_CTLS", E_CTL, .prep = p_pin_rsvd),
    ER("entry_ctl_proc_reserved", "26.2.1.1: reserved bits in the primary processor-based "
       "controls must be set as the capability MSR reports", E_CTL, .prep = p_proc_rsvd),
    ER("entry_ctl_proc2_reserved", "26.2.1.1: reserved bits in the secondary processor-based "
       "controls must be cleared", E_CTL, .prep = p_proc2_rsvd),
    ER("entry_ctl_exit_reserved", "26.2.1.2: reserved bits in the VM-exit controls must be set "
       "as reported by IA32_VMX_(TRUE_)EXIT_CTLS", E_CTL, .prep = p_exit_rsvd),
    ER("entry_ctl_entry_reserved", "26.2.1.3: reserved bits in the VM-entry controls must be set "
       "as reported by IA32_VMX_(TRUE_)ENTRY_CTLS", E_CTL, .prep = p_entry_rsvd),
    ER("entry_ctl_cr3_target_count", "26.2.1.1: the CR3-target count must not be greater than "
       "the number IA32_VMX_MISC[24:16] supports", E_CTL, .prep = p_cr3_count),
    ER("entry_ctl_io_bitmap_align", "26.2.1.1: if 'use I/O bitmaps' is 1, bits 11:0 of each I/O-"
       "bitmap address must be 0", E_CTL, .field = IO_BITMAP_A, .op = OP_OR, .val = 0x800,
       .prep = p_io_bitmaps),
    ER("entry_ctl_msr_bitmap_align", "26.2.1.1: if 'use MSR bitmaps' is 1, bits 11:0 of the "
       "MSR-bitmap address must be 0", E_CTL, .field = MSR_BITMAP, .op = OP_OR, .val = 0x10,
       .prep = p_msr_bitmaps),
    ER("entry_ctl_io_bitmap_maxphy", "26.2.1.1: the I/O-bitmap address must not set any bits "
       "beyond the processor's physical-address width", E_CTL, .field = IO_BITMAP_B, .op = OP_OR,
       .val = 1ull << 52, .prep = p_io_bitmaps),
    ER("entry_ctl_nmi_window_without_vnmi", "26.2.1.1: if 'virtual NMIs' is 0, 'NMI-window "
       "exiting' must be 0", E_CTL, .prep = p_nmi_window_no_vnmi),
    ER("entry_ctl_vnmi_without_nmi_exiting", "26.2.1.1: if 'NMI exiting' is 0, 'virtual NMIs' "
       "must be 0", E_CTL, .prep = p_vnmi_no_nmi_exit),
    ER("entry_ctl_tpr_threshold_above_vtpr", "26.2.1.1: with 'use TPR shadow' (no virtual-"
       "interrupt delivery), TPR threshold[3:0] must not be greater than VTPR[7:4]", E_CTL,
       .prep = p_tpr_above_vtpr),
    ER("entry_ctl_tpr_threshold_reserved", "26.2.1.1: with 'use TPR shadow', bits 31:4 of the "
       "TPR threshold must be 0", E_CTL, .field = TPR_THRESHOLD, .op = OP_SET, .val = 0x10,
       .prep = p_tpr_shadow),
    ER("entry_ctl_vapic_page_align", "26.2.1.1: with 'use TPR shadow', bits 11:0 of the virtual-"
       "APIC address must be 0", E_CTL, .field = VIRT_APIC_PAGE, .op = OP_OR, .val = 0x80,
       .prep = p_tpr_shadow),
    ER("entry_ctl_x2apic_without_tpr_shadow", "26.2.1.1: if 'use TPR shadow' is 0, 'virtualize "
       "x2APIC mode' must be 0", E_CTL, .prep = p_x2apic_no_tpr),
    ER("entry_ctl_x2apic_and_apic_access", "26.2.1.1: if 'virtualize x2APIC mode' is 1, "
       "'virtualize APIC accesses' must be 0", E_CTL, .field = APIC_ACCESS_ADDR, .op = OP_SET,
       .val = (uint64_t)apic_access_page, .prep = p_x2apic_and_apic_access),
    ER("entry_ctl_apic_access_align", "26.2.1.1: with 'virtualize APIC accesses', bits 11:0 of "
       "the APIC-access address must be 0", E_CTL, .field = APIC_ACCESS_ADDR, .op = OP_SET,
       .val = (uint64_t)apic_access_page + 0x40, .prep = p_apic_access),
    ER("entry_ctl_vpid_zero", "26.2.1.1: if 'enable VPID' is 1, the VPID must not be 0000H",
       E_CTL, .field = VPID, .op = OP_SET, .val = 0, .prep = p_vpid),
    ER("entry_ctl_eptp_memtype", "26.2.1.1: the EPT memory type (EPTP bits 2:0) must be a value "
       "supported by IA32_VMX_EPT_VPID_CAP (2 is never valid)", E_CTL, .field = EPT_POINTER,
       .op = OP_SET, .val = 0, .prep = p_ept),
    ER("entry_ctl_eptp_walk_length", "26.2.1.1: EPTP bits 5:3 (page-walk length - 1) must be 3",
       E_CTL, .field = EPT_POINTER, .op = OP_ANDN, .val = 0x38, .prep = p_ept),
    ER("entry_ctl_eptp_reserved", "26.2.1.1: EPTP bits 11:7 and bits beyond the physical-address "
       "width must be 0", E_CTL, .field = EPT_POINTER, .op = OP_OR, .val = 1ull << 52, .prep = p_ept),
    ER("entry_ctl_unrestricted_without_ept", "26.2.1.1: if 'unrestricted guest' is 1, 'enable "
       "EPT' must be 1", E_CTL, .prep = p_unrestricted_no_ept),
    ER("entry_ctl_save_preempt_without_timer", "26.2.1.2: if 'activate VMX-preemption timer' is "
       "0, 'save VMX-preemption-timer value' must be 0", E_CTL, .prep = p_save_preempt_only),
    ER("entry_ctl_msr_load_align", "26.2.1.3: with a nonzero VM-entry MSR-load count, bits 3:0 of "
       "the VM-entry MSR-load address must be 0", E_CTL, .field = ENTRY_MSR_LOAD_ADDR, .op = OP_OR,
       .val = 8, .prep = p_msr_count),
    ER("entry_ctl_intr_type_reserved", "26.2.1.3: the interruption type of the VM-entry "
       "interruption-information field must not be 1 (reserved)", E_CTL, .field = ENTRY_INTR_INFO,
       .op = OP_SET, .val = INTR_VALID | 1u << 8 | 0x20),
    ER("entry_ctl_intr_nmi_vector", "26.2.1.3: if the interruption type is NMI, the vector must "
       "be 2", E_CTL, .field = ENTRY_INTR_INFO, .op = OP_SET, .val = INTR_VALID | INTR_TYPE_NMI | 3),
    ER("entry_ctl_intr_hw_vector", "26.2.1.3: if the interruption type is hardware exception, the "
       "vector must be at most 31", E_CTL, .field = ENTRY_INTR_INFO, .op = OP_SET,
       .val = INTR_VALID | INTR_TYPE_HW_EXC | 32),
    ER("entry_ctl_intr_errcode_ud", "26.2.1.3: 'deliver error code' must be 1 only for hardware "
       "exceptions 8, 10-14, 17 (here #UD with an error code)", E_CTL, .field = ENTRY_INTR_INFO,
       .op = OP_SET, .val = INTR_VALID | INTR_ERR_VALID | INTR_TYPE_HW_EXC | 6),
    ER("entry_ctl_intr_errcode_gp_missing", "26.2.1.3: 'deliver error code' must be 1 for #GP "
       "injected into protected mode", E_CTL, .field = ENTRY_INTR_INFO, .op = OP_SET,
       .val = INTR_VALID | INTR_TYPE_HW_EXC | 13),
    ER("entry_ctl_intr_reserved_bits", "26.2.1.3: bits 30:12 of the VM-entry interruption-"
       "information field must be 0", E_CTL, .field = ENTRY_INTR_INFO, .op = OP_SET,
       .val = INTR_VALID | INTR_TYPE_EXT | 1u << 20 | 0x40),
    ER("entry_ctl_soft_int_length0", "26.2.1.3: for a software interrupt the VM-entry instruction "
       "length must be in 1-15 (0 only if IA32_VMX_MISC[30])", E_CTL, .field = ENTRY_INTR_INFO,
       .op = OP_SET, .val = INTR_VALID | INTR_TYPE_SOFT_INT | 0x80, .prep = p_soft_len0),
    ER("entry_ctl_soft_int_length16", "26.2.1.3: the VM-entry instruction length must not exceed "
       "15", E_CTL, .field = ENTRY_INSN_LEN, .op = OP_SET, .val = 16, .prep = p_soft_int),

    /* ---- 26.2.2-26.2.4 host state → VMfailValid(8) ---- */
    ER("entry_host_cr0_fixed", "26.2.2: host CR0 must have the bits fixed to 1 in VMX operation "
       "(CR0.NE cleared here)", E_HOST, .field = HOST_CR0, .op = OP_ANDN, .val = CR0_NE),
    ER("entry_host_cr4_vmxe", "26.2.2: host CR4 must have the bits fixed to 1 in VMX operation "
       "(CR4.VMXE cleared here)", E_HOST, .field = HOST_CR4, .op = OP_ANDN, .val = CR4_VMXE),
    ER("entry_host_cr3_maxphy", "26.2.2: bits of host CR3 beyond the physical-address width must "
       "be 0", E_HOST, .prep = p_host_cr3_maxphy),
    ER("entry_host_cr4_pae", "26.2.4: if 'host address-space size' is 1, CR4.PAE must be 1",
       E_HOST, .field = HOST_CR4, .op = OP_ANDN, .val = CR4_PAE),
    ER("entry_host_addr_size_0", "26.2.4: if the logical processor is in IA-32e mode, 'host "
       "address-space size' must be 1", E_HOST, .field = EXIT_CTLS, .op = OP_ANDN,
       .val = EXIT_HOST_64),
    ER("entry_host_cs_null", "26.2.3: the selector field for CS must not be 0000H", E_HOST,
       .field = HOST_CS_SEL, .op = OP_SET, .val = 0),
    ER("entry_host_tr_null", "26.2.3: the selector field for TR must not be 0000H", E_HOST,
       .field = HOST_TR_SEL, .op = OP_SET, .val = 0),
    ER("entry_host_ds_rpl", "26.2.3: the RPL (bits 1:0) of each host selector must be 0", E_HOST,
       .field = HOST_DS_SEL, .op = OP_SET, .val = SEL_DATA | 3),
    ER("entry_host_ss_ti", "26.2.3: the TI flag (bit 2) of each host selector must be 0", E_HOST,
       .field = HOST_SS_SEL, .op = OP_SET, .val = SEL_DATA | 4),
    ER("entry_host_gdtr_noncanonical", "26.2.3: the host GDTR, IDTR, TR, FS, GS base fields must "
       "contain canonical addresses", E_HOST, .field = HOST_GDTR_BASE, .op = OP_SET,
       .val = 0x8000000000000000ull),
    ER("entry_host_fs_noncanonical", "26.2.3: the host FS base must be canonical", E_HOST,
       .field = HOST_FS_BASE, .op = OP_SET, .val = 0x0000800000000000ull),
    ER("entry_host_rip_noncanonical", "26.2.4: if 'host address-space size' is 1, the host RIP "
       "must be canonical", E_HOST, .field = HOST_RIP, .op = OP_SET, .val = 0x0000900000000000ull),
    ER("entry_host_sysenter_noncanonical", "26.2.2: the host IA32_SYSENTER_ESP and "
       "IA32_SYSENTER_EIP fields must be canonical", E_HOST, .field = HOST_SYSENTER_EIP,
       .op = OP_SET, .val = 0x8000000000000000ull),
    ER("entry_host_efer_reserved", "26.2.2: with 'load IA32_EFER', reserved bits of the host "
       "IA32_EFER field must be 0", E_HOST, .field = HOST_EFER, .op = OP_OR, .val = 1ull << 20,
       .prep = p_load_efer_host),
    ER("entry_host_efer_lma", "26.2.2: with 'load IA32_EFER', host EFER.LMA and LME must equal "
       "'host address-space size'", E_HOST, .field = HOST_EFER, .op = OP_ANDN,
       .val = EFER_LMA | EFER_LME, .prep = p_load_efer_host),
    ER("entry_host_pat_invalid", "26.2.2: with 'load IA32_PAT', each host PAT entry must be a "
       "valid memory type (0, 1, 4-7)", E_HOST, .field = HOST_PAT, .op = OP_SET,
       .val = 0x0007040600070402ull, .prep = p_load_pat_host),

    /* ---- 26.3.1 guest state → exit 33 | 1<<31 ---- */
    ER("entry_guest_cr0_pe_no_unrestricted", "26.3.1.1: CR0 must have the FIXED0 bits set "
       "(PE and PG only relaxed by 'unrestricted guest')", E_GUEST, .field = GUEST_CR0,
       .op = OP_ANDN, .val = CR0_PE | CR0_PG),
    ER("entry_guest_cr0_ne", "26.3.1.1: guest CR0 must have the bits fixed to 1 (NE)", E_GUEST,
       .field = GUEST_CR0, .op = OP_ANDN, .val = CR0_NE),
    ER("entry_guest_cr4_vmxe", "26.3.1.1: guest CR4 must have the bits fixed to 1 (VMXE)",
       E_GUEST, .field = GUEST_CR4, .op = OP_ANDN, .val = CR4_VMXE),
    ER("entry_guest_ia32e_no_pae", "26.3.1.1: if 'IA-32e mode guest' is 1, CR0.PG and CR4.PAE "
       "must be 1", E_GUEST, .field = GUEST_CR4, .op = OP_ANDN, .val = CR4_PAE),
    ER("entry_guest_efer_lma", "26.3.1.1: with 'load IA32_EFER', EFER.LMA must equal 'IA-32e "
       "mode guest'", E_GUEST, .field = GUEST_EFER, .op = OP_ANDN, .val = EFER_LMA,
       .prep = p_load_efer_guest),
    ER("entry_guest_efer_reserved", "26.3.1.1: with 'load IA32_EFER', reserved bits of the guest "
       "IA32_EFER field must be 0", E_GUEST, .field = GUEST_EFER, .op = OP_OR, .val = 1ull << 30,
       .prep = p_load_efer_guest),
    ER("entry_guest_pat_invalid", "26.3.1.1: with 'load IA32_PAT', each guest PAT entry must be a "
       "valid memory type", E_GUEST, .field = GUEST_PAT, .op = OP_SET, .val = 0x0303030303030303ull,
       .prep = p_load_pat_guest),
    ER("entry_guest_dr7_high", "26.3.1.1: with 'load debug controls', bits 63:32 of DR7 must be 0",
       E_GUEST, .field = GUEST_DR7, .op = OP_OR, .val = 1ull << 40, .prep = p_load_debug),
    ER("entry_guest_sysenter_noncanonical", "26.3.1.1: the guest IA32_SYSENTER_ESP/EIP fields "
       "must be canonical", E_GUEST, .field = GUEST_SYSENTER_ESP, .op = OP_SET,
       .val = 0x0000800000000000ull),
    ER("entry_guest_cs_type", "26.3.1.2: CS access rights type must be 9, 11, 13 or 15 (3 only "
       "with 'unrestricted guest')", E_GUEST, .field = GUEST_CS_AR, .op = OP_SET, .val = 0xa093),
    ER("entry_guest_cs_l_and_d", "26.3.1.2: with 'IA-32e mode guest' and CS.L = 1, CS.D/B must "
       "be 0", E_GUEST, .field = GUEST_CS_AR, .op = OP_OR, .val = 1u << 14),
    ER("entry_guest_cs_not_present", "26.3.1.2: CS access rights bit 7 (P) must be 1", E_GUEST,
       .field = GUEST_CS_AR, .op = OP_ANDN, .val = 0x80),
    ER("entry_guest_ss_dpl", "26.3.1.2: SS.DPL must equal the RPL of the SS selector (without "
       "'unrestricted guest')", E_GUEST, .field = GUEST_SS_AR, .op = OP_OR, .val = 3u << 5),
    ER("entry_guest_ds_granularity", "26.3.1.2: if any of limit bits 31:20 is 1, G must be 1",
       E_GUEST, .field = GUEST_DS_AR, .op = OP_ANDN, .val = 1u << 15),
    ER("entry_guest_ds_base_high", "26.3.1.2: bits 63:32 of the ES, SS and DS bases must be 0 "
       "if the register is usable", E_GUEST, .field = GUEST_DS_BASE, .op = OP_SET, .val = 1ull << 32),
    ER("entry_guest_tr_type", "26.3.1.2: with 'IA-32e mode guest', the TR type must be 11 (busy "
       "64-bit TSS)", E_GUEST, .field = GUEST_TR_AR, .op = OP_SET, .val = 0x89),
    ER("entry_guest_tr_unusable", "26.3.1.2: TR must be usable", E_GUEST, .field = GUEST_TR_AR,
       .op = OP_OR, .val = AR_UNUSABLE),
    ER("entry_guest_tr_ti", "26.3.1.2: the TI flag of the TR selector must be 0", E_GUEST,
       .field = GUEST_TR_SEL, .op = OP_SET, .val = SEL_TSS | 4),
    ER("entry_guest_ldtr_type", "26.3.1.2: if LDTR is usable, its type must be 2 and S must be 0",
       E_GUEST, .field = GUEST_LDTR_AR, .op = OP_SET, .val = 0x93),
    ER("entry_guest_gdtr_noncanonical", "26.3.1.3: the GDTR and IDTR bases must be canonical",
       E_GUEST, .field = GUEST_GDTR_BASE, .op = OP_SET, .val = 0x8000000000000000ull),
    ER("entry_guest_idtr_limit", "26.3.1.3: bits 31:16 of the GDTR and IDTR limits must be 0",
       E_GUEST, .field = GUEST_IDTR_LIMIT, .op = OP_SET, .val = 0x10fff),
    ER("entry_guest_rip_noncanonical", "26.3.1.4: with IA-32e mode and CS.L = 1, RIP bits 63:N "
       "must be identical (canonical)", E_GUEST, .field = GUEST_RIP, .op = OP_SET,
       .val = 0x0000900000000000ull),
    ER("entry_guest_rflags_bit1", "26.3.1.4: RFLAGS bit 1 must be 1", E_GUEST,
       .field = GUEST_RFLAGS, .op = OP_SET, .val = 0),
    ER("entry_guest_rflags_reserved", "26.3.1.4: RFLAGS reserved bits 63:22, 15, 5, 3 must be 0",
       E_GUEST, .field = GUEST_RFLAGS, .op = OP_SET, .val = 0x2 | 1u << 15),
    ER("entry_guest_rflags_vm_ia32e", "26.3.1.4: if 'IA-32e mode guest' is 1, RFLAGS.VM must be 0",
       E_GUEST, .field = GUEST_RFLAGS, .op = OP_SET, .val = 0x2 | 1u << 17),
    ER("entry_guest_ext_inject_if0", "26.3.1.4: if injecting an external interrupt, RFLAGS.IF "
       "must be 1", E_GUEST, .prep = p_ext_inject_if0),
    ER("entry_guest_activity_unsupported", "26.3.1.5: the activity-state field must be 0-3 and "
       "a state IA32_VMX_MISC advertises", E_GUEST, .prep = p_activity),
    ER("entry_guest_intr_sti_movss", "26.3.1.5: bits 0 (STI) and 1 (MOV SS) of the "
       "interruptibility state must not both be 1", E_GUEST, .field = GUEST_INTERRUPTIBILITY,
       .op = OP_SET, .val = 3),
    ER("entry_guest_intr_sti_if0", "26.3.1.5: blocking by STI must be 0 if RFLAGS.IF is 0",
       E_GUEST, .prep = p_sti_if0),
    ER("entry_guest_intr_reserved", "26.3.1.5: reserved bits 31:5 of the interruptibility state "
       "must be 0", E_GUEST, .field = GUEST_INTERRUPTIBILITY, .op = OP_SET, .val = 1u << 31),
    ER("entry_guest_pending_dbg_reserved", "26.3.1.5: reserved bits of the pending debug "
       "exceptions field (bits 11:4, 13, 15, 63:17) must be 0", E_GUEST,
       .field = GUEST_PENDING_DBG, .op = OP_SET, .val = 1u << 20),
    ER("entry_guest_link_ptr_align", "26.3.1.5: a VMCS link pointer other than FFFFFFFF_FFFFFFFFH "
       "must have bits 11:0 clear; failures of the link-pointer checks report qualification 4",
       E_GUEST, .qual = 4, .field = VMCS_LINK_PTR, .op = OP_SET, .val = (uint64_t)vmcs_spare + 8),
    ER("entry_guest_link_ptr_revision", "26.3.1.5: the VMCS the link pointer references must "
       "carry the VMCS revision identifier (qualification 4)", E_GUEST, .qual = 4,
       .prep = p_link_bad_rev),

    /* ---- 26.4 MSR loading → exit 34 | 1<<31, qualification = failing entry (from 1) ---- */
    ER("entry_msr_load_fs_base", "26.4: an entry with index C0000100H (IA32_FS_BASE) fails VM "
       "entry; the exit qualification is the entry's index, the first being 1", E_MSR, .qual = 2,
       .prep = p_msr_fs_base),
    ER("entry_msr_load_x2apic", "26.4: an entry whose index bits 31:8 are 000008H (x2APIC) fails",
       E_MSR, .qual = 2, .prep = p_msr_x2apic),
    ER("entry_msr_load_reserved", "26.4: bits 63:32 of an entry (reserved) must be 0", E_MSR,
       .qual = 2, .prep = p_msr_rsvd),
    ER("entry_msr_load_wrmsr_gp", "26.4: an entry fails if WRMSR of its value would #GP (EFER "
       "reserved bit)", E_MSR, .qual = 2, .prep = p_msr_gp),
    ER("entry_msr_load_unknown_msr", "26.4: an entry for an MSR that does not exist fails (third "
       "entry: qualification 3)", E_MSR, .qual = 3, .prep = p_msr_unknown),
    { .name = "entry_failure_keeps_vmcs_clear",
      .sdm = "30.3 VMLAUNCH: the launch state becomes 'launched' only after a successful entry; "
             "after a failed VMLAUNCH, VMRESUME fails with VMfailValid(5)",
      .init = fail_keeps_clear },
};
const size_t n_entry_tests = ARRAY_SIZE(entry_tests);
