/*
 * vmx_check_controls.c — VM-entry checks on the VMX controls (SDM Vol.3
 * 26.2.1): VM-execution controls (26.2.1.1), VM-exit controls (26.2.1.2)
 * and VM-entry controls incl. event injection (26.2.1.3).  A failure makes
 * VMLAUNCH/VMRESUME fail with VMfailValid(VM entry with invalid control
 * fields) (vmx_entry.c).
 *
 * Allowed control settings come from vmx_caps.c (vmx_allowed_*, the TRUE
 * capability MSRs because IA32_VMX_BASIC bit 55 is 1), so what is
 * advertised and what is accepted cannot disagree.  Each check below is one
 * SDM condition; the table at the end runs them in SDM order.
 */
#include "vmx/vmx_check.h"

typedef bool ctl_check(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k);

#define S_EXEC "SDM 26.2.1.1"
#define S_EXIT "SDM 26.2.1.2"
#define S_ENTRY "SDM 26.2.1.3"

/* ---------------- 26.2.1.1 VM-execution control fields ---------------- */

static bool pin_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                       const struct vmx_ctls *k)
{
    uint32_t must1, may1;
    vmx_allowed_pin(true, &must1, &may1);
    return !VMX_CC(cpu, !vmx_ctl_ok(k->pin, must1, may1), S_EXEC);
}

static bool proc_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                        const struct vmx_ctls *k)
{
    uint32_t must1, may1;
    vmx_allowed_proc(true, &must1, &may1);
    return !VMX_CC(cpu, !vmx_ctl_ok(k->proc, must1, may1), S_EXEC);
}

/* Checked only when "activate secondary controls" is 1 (k->proc2 is 0 else). */
static bool proc2_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    uint32_t must1, may1;
    vmx_allowed_proc2(&must1, &may1);
    bool secondary = k->proc & VMX_PROC_SECONDARY;
    return !VMX_CC(cpu, secondary && !vmx_ctl_ok(k->proc2, must1, may1), S_EXEC);
}

/* The CR3-target count is at most what IA32_VMX_MISC bits 24:16 report. */
static bool cr3_target_count_supported(struct cpu *cpu, const struct vmcs *c,
                                       const struct vmx_ctls *k)
{
    uint64_t cr3_targets_supported = (vmx_misc_caps() >> 16) & 0x1ff;
    uint64_t cr3_target_count = vmcs_get(c, VMCS_CR3_TARGET_COUNT);
    return !VMX_CC(cpu, cr3_target_count > cr3_targets_supported, S_EXEC);
}

/* "use I/O bitmaps": both addresses 4-KByte aligned, within MAXPHYADDR. */
static bool io_bitmap_addresses(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool use_io_bitmaps = k->proc & VMX_PROC_IO_BITMAPS;
    uint64_t io_bitmap_a = vmcs_get(c, VMCS_IO_BITMAP_A);
    uint64_t io_bitmap_b = vmcs_get(c, VMCS_IO_BITMAP_B);
    return !VMX_CC(cpu, use_io_bitmaps && (!vmx_page_ok(io_bitmap_a) || !vmx_page_ok(io_bitmap_b)),
                   S_EXEC);
}

static bool msr_bitmap_address(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool use_msr_bitmaps = k->proc & VMX_PROC_MSR_BITMAPS;
    uint64_t msr_bitmap = vmcs_get(c, VMCS_MSR_BITMAP);
    return !VMX_CC(cpu, use_msr_bitmaps && !vmx_page_ok(msr_bitmap), S_EXEC);
}

static bool tpr_shadow_virtual_apic_address(struct cpu *cpu, const struct vmcs *c,
                                            const struct vmx_ctls *k)
{
    bool use_tpr_shadow = k->proc & VMX_PROC_TPR_SHADOW;
    uint64_t virtual_apic_address = vmcs_get(c, VMCS_VIRTUAL_APIC_PAGE_ADDR);
    return !VMX_CC(cpu, use_tpr_shadow && !vmx_page_ok(virtual_apic_address), S_EXEC);
}

/* Without virtual-interrupt delivery, TPR threshold bits 31:4 are 0. */
static bool tpr_threshold_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                        const struct vmx_ctls *k)
{
    bool use_tpr_shadow = k->proc & VMX_PROC_TPR_SHADOW;
    bool virtual_interrupt_delivery = k->proc2 & VMX_PROC2_VINTR_DELIVERY;
    uint64_t tpr_threshold = vmcs_get(c, VMCS_TPR_THRESHOLD);
    return !VMX_CC(cpu, use_tpr_shadow && !virtual_interrupt_delivery && (tpr_threshold >> 4),
                   S_EXEC);
}

/* With "use TPR shadow" and neither virtual-interrupt delivery nor
 * "virtualize APIC accesses": TPR threshold 3:0 <= VTPR 7:4 (byte 80H of
 * the virtual-APIC page).  A page that is not RAM cannot be read here; the
 * check is then left to the APIC virtualization. */
static bool tpr_threshold_not_above_vtpr(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    bool use_tpr_shadow = k->proc & VMX_PROC_TPR_SHADOW;
    bool virtual_interrupt_delivery = k->proc2 & VMX_PROC2_VINTR_DELIVERY;
    bool virtualize_apic_accesses = k->proc2 & VMX_PROC2_VIRT_APIC_ACCESS;
    uint8_t vtpr = 0xff;
    if (!use_tpr_shadow || virtual_interrupt_delivery || virtualize_apic_accesses ||
        !vmx_read_l1(cpu, vmcs_get(c, VMCS_VIRTUAL_APIC_PAGE_ADDR) + 0x80, &vtpr, 1))
        return true;
    unsigned tpr_threshold = vmcs_get(c, VMCS_TPR_THRESHOLD) & 0xf;
    return !VMX_CC(cpu, tpr_threshold > (unsigned)(vtpr >> 4), S_EXEC);
}

/* Without "use TPR shadow": no x2APIC virtualization, APIC-register
 * virtualization or virtual-interrupt delivery. */
static bool apic_virtualization_needs_tpr_shadow(struct cpu *cpu, const struct vmcs *c,
                                                 const struct vmx_ctls *k)
{
    bool use_tpr_shadow = k->proc & VMX_PROC_TPR_SHADOW;
    uint32_t apic_virtualization =
        k->proc2 & (VMX_PROC2_VIRT_X2APIC | VMX_PROC2_APIC_REG_VIRT | VMX_PROC2_VINTR_DELIVERY);
    return !VMX_CC(cpu, !use_tpr_shadow && apic_virtualization, S_EXEC);
}

static bool virtual_nmis_need_nmi_exiting(struct cpu *cpu, const struct vmcs *c,
                                          const struct vmx_ctls *k)
{
    bool nmi_exiting = k->pin & VMX_PIN_NMI, virtual_nmis = k->pin & VMX_PIN_VIRTUAL_NMI;
    return !VMX_CC(cpu, virtual_nmis && !nmi_exiting, S_EXEC);
}

static bool nmi_window_needs_virtual_nmis(struct cpu *cpu, const struct vmcs *c,
                                          const struct vmx_ctls *k)
{
    bool virtual_nmis = k->pin & VMX_PIN_VIRTUAL_NMI;
    bool nmi_window_exiting = k->proc & VMX_PROC_NMI_WINDOW;
    return !VMX_CC(cpu, nmi_window_exiting && !virtual_nmis, S_EXEC);
}

static bool apic_access_address(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool virtualize_apic_accesses = k->proc2 & VMX_PROC2_VIRT_APIC_ACCESS;
    uint64_t apic_access_addr = vmcs_get(c, VMCS_APIC_ACCESS_ADDR);
    return !VMX_CC(cpu, virtualize_apic_accesses && !vmx_page_ok(apic_access_addr), S_EXEC);
}

static bool x2apic_mode_excludes_apic_accesses(struct cpu *cpu, const struct vmcs *c,
                                               const struct vmx_ctls *k)
{
    bool virtualize_x2apic = k->proc2 & VMX_PROC2_VIRT_X2APIC;
    bool virtualize_apic_accesses = k->proc2 & VMX_PROC2_VIRT_APIC_ACCESS;
    return !VMX_CC(cpu, virtualize_x2apic && virtualize_apic_accesses, S_EXEC);
}

static bool virtual_interrupt_delivery_needs_ext_intr_exiting(struct cpu *cpu,
                                                              const struct vmcs *c,
                                                              const struct vmx_ctls *k)
{
    bool virtual_interrupt_delivery = k->proc2 & VMX_PROC2_VINTR_DELIVERY;
    bool external_interrupt_exiting = k->pin & VMX_PIN_EXT_INTR;
    return !VMX_CC(cpu, virtual_interrupt_delivery && !external_interrupt_exiting, S_EXEC);
}

/* Posted interrupts need virtual-interrupt delivery and "acknowledge
 * interrupt on exit". */
static bool posted_interrupt_controls(struct cpu *cpu, const struct vmcs *c,
                                      const struct vmx_ctls *k)
{
    bool posted_interrupts = k->pin & VMX_PIN_POSTED_INTR;
    bool virtual_interrupt_delivery = k->proc2 & VMX_PROC2_VINTR_DELIVERY;
    bool ack_interrupt_on_exit = k->exit & VMX_EXITCTL_ACK_INTR;
    return !VMX_CC(cpu,
                   posted_interrupts && (!virtual_interrupt_delivery || !ack_interrupt_on_exit),
                   S_EXEC);
}

/* Notification vector 0-255; descriptor 64-byte aligned, within MAXPHYADDR. */
static bool posted_interrupt_fields(struct cpu *cpu, const struct vmcs *c,
                                    const struct vmx_ctls *k)
{
    bool posted_interrupts = k->pin & VMX_PIN_POSTED_INTR;
    uint64_t notification_vector = vmcs_get(c, VMCS_POSTED_INTR_NV);
    uint64_t descriptor = vmcs_get(c, VMCS_POSTED_INTR_DESC_ADDR);
    return !VMX_CC(cpu,
                   posted_interrupts && ((notification_vector >> 8) || (descriptor & 0x3f) ||
                                         !vmx_pa_ok(descriptor)),
                   S_EXEC);
}

static bool vpid_nonzero(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool enable_vpid = k->proc2 & VMX_PROC2_VPID;
    uint64_t vpid = vmcs_get(c, VMCS_VPID);
    return !VMX_CC(cpu, enable_vpid && vpid == 0, S_EXEC);
}

/* EPTP bits 2:0: a memory type IA32_VMX_EPT_VPID_CAP reports (UC or WB). */
static bool eptp_memory_type(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t caps = vmx_ept_vpid_caps(), eptp = vmcs_get(c, VMCS_EPT_POINTER);
    unsigned type = eptp & 7;
    bool type_supported =
        (type == 0 && (caps & VMX_EPT_MT_UC)) || (type == 6 && (caps & VMX_EPT_MT_WB));
    return !VMX_CC(cpu, enable_ept && !type_supported, S_EXEC);
}

/* EPTP bits 5:3: page-walk length - 1 = 3 (4 levels). */
static bool eptp_page_walk_length(struct cpu *cpu, const struct vmcs *c,
                                  const struct vmx_ctls *k)
{
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t eptp = vmcs_get(c, VMCS_EPT_POINTER);
    bool four_levels = ((eptp >> 3) & 7) == 3 && (vmx_ept_vpid_caps() & VMX_EPT_PWL4);
    return !VMX_CC(cpu, enable_ept && !four_levels, S_EXEC);
}

/* EPTP bit 6 (A/D enable) only if IA32_VMX_EPT_VPID_CAP bit 21. */
static bool eptp_accessed_dirty(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    bool ad_enable = vmcs_get(c, VMCS_EPT_POINTER) & (1u << 6);
    bool ad_supported = vmx_ept_vpid_caps() & VMX_EPT_AD;
    return !VMX_CC(cpu, enable_ept && ad_enable && !ad_supported, S_EXEC);
}

/* EPTP bits 11:7 and 63:MAXPHYADDR are reserved. */
static bool eptp_reserved_bits(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t eptp = vmcs_get(c, VMCS_EPT_POINTER);
    return !VMX_CC(cpu, enable_ept && ((eptp & 0xf80) || !vmx_pa_ok(eptp)), S_EXEC);
}

static bool pml_needs_ept(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool enable_pml = k->proc2 & VMX_PROC2_PML, enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t pml_address = vmcs_get(c, VMCS_PML_ADDRESS);
    return !VMX_CC(cpu, enable_pml && (!enable_ept || !vmx_page_ok(pml_address)), S_EXEC);
}

static bool unrestricted_guest_needs_ept(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    bool unrestricted_guest = k->proc2 & VMX_PROC2_UNRESTRICTED;
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    return !VMX_CC(cpu, unrestricted_guest && !enable_ept, S_EXEC);
}

/* VM-function controls: only the functions IA32_VMX_VMFUNC allows. */
static bool vm_function_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                               const struct vmx_ctls *k)
{
    bool enable_vm_functions = k->proc2 & VMX_PROC2_VMFUNC;
    uint64_t vm_function_controls = vmcs_get(c, VMCS_VM_FUNCTION_CONTROL);
    return !VMX_CC(cpu, enable_vm_functions && (vm_function_controls & ~vmx_vmfunc_caps()),
                   S_EXEC);
}

/* EPTP switching (VM function 0) needs EPT and a valid EPTP-list address. */
static bool eptp_switching_list(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool eptp_switching = (k->proc2 & VMX_PROC2_VMFUNC) &&
                          (vmcs_get(c, VMCS_VM_FUNCTION_CONTROL) & 1);
    bool enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t eptp_list = vmcs_get(c, VMCS_EPTP_LIST_ADDRESS);
    return !VMX_CC(cpu, eptp_switching && (!enable_ept || !vmx_page_ok(eptp_list)), S_EXEC);
}

static bool vmcs_shadowing_bitmaps(struct cpu *cpu, const struct vmcs *c,
                                   const struct vmx_ctls *k)
{
    bool vmcs_shadowing = k->proc2 & VMX_PROC2_SHADOW_VMCS;
    uint64_t vmread_bitmap = vmcs_get(c, VMCS_VMREAD_BITMAP);
    uint64_t vmwrite_bitmap = vmcs_get(c, VMCS_VMWRITE_BITMAP);
    return !VMX_CC(cpu,
                   vmcs_shadowing && (!vmx_page_ok(vmread_bitmap) || !vmx_page_ok(vmwrite_bitmap)),
                   S_EXEC);
}

static bool ept_violation_ve_info(struct cpu *cpu, const struct vmcs *c,
                                  const struct vmx_ctls *k)
{
    bool ept_violation_ve = k->proc2 & VMX_PROC2_EPT_VE, enable_ept = k->proc2 & VMX_PROC2_EPT;
    uint64_t ve_info = vmcs_get(c, VMCS_VE_INFO_ADDRESS);
    return !VMX_CC(cpu, ept_violation_ve && (!enable_ept || !vmx_page_ok(ve_info)), S_EXEC);
}

/* ---------------- 26.2.1.2 VM-exit control fields ---------------- */

static bool exit_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                        const struct vmx_ctls *k)
{
    uint32_t must1, may1;
    vmx_allowed_exit(true, &must1, &may1);
    return !VMX_CC(cpu, !vmx_ctl_ok(k->exit, must1, may1), S_EXIT);
}

static bool save_timer_needs_active_timer(struct cpu *cpu, const struct vmcs *c,
                                          const struct vmx_ctls *k)
{
    bool activate_timer = k->pin & VMX_PIN_PREEMPT_TIMER;
    bool save_timer_value = k->exit & VMX_EXITCTL_SAVE_PREEMPT;
    return !VMX_CC(cpu, save_timer_value && !activate_timer, S_EXIT);
}

/* An MSR area with entries: 16-byte aligned, its last byte within MAXPHYADDR. */
static bool msr_area_bad(uint64_t addr, uint64_t count)
{
    return count && ((addr & 0xf) || !vmx_pa_ok(addr + count * 16 - 1) ||
                     addr + count * 16 - 1 < addr);
}

static bool exit_msr_store_area(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    uint64_t store_addr = vmcs_get(c, VMCS_VM_EXIT_MSR_STORE_ADDR);
    uint64_t store_count = vmcs_get(c, VMCS_VM_EXIT_MSR_STORE_COUNT);
    return !VMX_CC(cpu, msr_area_bad(store_addr, store_count), S_EXIT);
}

static bool exit_msr_load_area(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    uint64_t load_addr = vmcs_get(c, VMCS_VM_EXIT_MSR_LOAD_ADDR);
    uint64_t load_count = vmcs_get(c, VMCS_VM_EXIT_MSR_LOAD_COUNT);
    return !VMX_CC(cpu, msr_area_bad(load_addr, load_count), S_EXIT);
}

/* ---------------- 26.2.1.3 VM-entry control fields ---------------- */

static bool entry_controls_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    uint32_t must1, may1;
    vmx_allowed_entry(true, &must1, &may1);
    return !VMX_CC(cpu, !vmx_ctl_ok(k->entry, must1, may1), S_ENTRY);
}

static uint32_t inject_info(const struct vmcs *c)
{
    uint32_t info = (uint32_t)vmcs_get(c, VMCS_VM_ENTRY_INTR_INFO_FIELD);
    return (info & VMX_INTR_VALID) ? info : 0;
}

/* Type 1 is reserved; type 7 (other event) needs the monitor trap flag. */
static bool injection_type_not_reserved(struct cpu *cpu, const struct vmcs *c,
                                        const struct vmx_ctls *k)
{
    uint32_t info = inject_info(c), must1, may1;
    vmx_allowed_proc(true, &must1, &may1);
    bool mtf_supported = may1 & VMX_PROC_MTF;
    unsigned type = VMX_INTR_TYPE(info);
    return !VMX_CC(cpu, info && (type == 1 || (type == VMX_INTR_TYPE_OTHER && !mtf_supported)),
                   S_ENTRY);
}

/* NMI: vector 2; hardware exception: vector <= 31; other event: vector 0. */
static bool injection_vector_matches_type(struct cpu *cpu, const struct vmcs *c,
                                          const struct vmx_ctls *k)
{
    uint32_t info = inject_info(c);
    unsigned type = VMX_INTR_TYPE(info), vector = VMX_INTR_VECTOR(info);
    bool bad_vector = (type == VMX_INTR_TYPE_NMI && vector != EXC_NMI) ||
                      (type == VMX_INTR_TYPE_HW_EXC && vector > 31) ||
                      (type == VMX_INTR_TYPE_OTHER && vector != 0);
    return !VMX_CC(cpu, info && bad_vector, S_ENTRY);
}

/* Deliver-error-code is 1 iff (no unrestricted guest or CR0.PE) and the
 * event is a hardware exception that pushes an error code. */
static bool injection_error_code_bit(struct cpu *cpu, const struct vmcs *c,
                                     const struct vmx_ctls *k)
{
    uint32_t info = inject_info(c);
    bool protected_mode = !(k->proc2 & VMX_PROC2_UNRESTRICTED) ||
                          (vmcs_get(c, VMCS_GUEST_CR0) & CR0_PE);
    bool error_code_expected = protected_mode && VMX_INTR_TYPE(info) == VMX_INTR_TYPE_HW_EXC &&
                               vmx_exc_has_error(VMX_INTR_VECTOR(info));
    bool deliver_error_code = info & VMX_INTR_ERR_VALID;
    return !VMX_CC(cpu, info && deliver_error_code != error_code_expected, S_ENTRY);
}

/* Interruption-information bits 30:12 are reserved. */
static bool injection_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                    const struct vmx_ctls *k)
{
    uint32_t info = inject_info(c);
    return !VMX_CC(cpu, info & 0x7ffff000u, S_ENTRY);
}

/* With an error code delivered, its bits 31:16 are 0 (bit 15 is the SGX
 * bit of #PF error codes in current SDMs). */
static bool injection_error_code_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                               const struct vmx_ctls *k)
{
    bool deliver_error_code = inject_info(c) & VMX_INTR_ERR_VALID;
    uint64_t error_code = vmcs_get(c, VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE);
    return !VMX_CC(cpu, deliver_error_code && (error_code >> 16), S_ENTRY);
}

/* Software interrupts/exceptions: instruction length 1-15 (0 only with
 * IA32_VMX_MISC bit 30). */
static bool injection_instruction_length(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    uint32_t info = inject_info(c);
    unsigned type = VMX_INTR_TYPE(info);
    bool software_event = info && (type == VMX_INTR_TYPE_SOFT_INT ||
                                   type == VMX_INTR_TYPE_PRIV_SOFT ||
                                   type == VMX_INTR_TYPE_SOFT_EXC);
    uint64_t length = vmcs_get(c, VMCS_VM_ENTRY_INSTRUCTION_LEN);
    uint64_t min_length = (vmx_misc_caps() & VMX_MISC_INJECT_LEN0) ? 0 : 1;
    return !VMX_CC(cpu, software_event && (length < min_length || length > 15), S_ENTRY);
}

static bool entry_msr_load_area(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    uint64_t load_addr = vmcs_get(c, VMCS_VM_ENTRY_MSR_LOAD_ADDR);
    uint64_t load_count = vmcs_get(c, VMCS_VM_ENTRY_MSR_LOAD_COUNT);
    return !VMX_CC(cpu, msr_area_bad(load_addr, load_count), S_ENTRY);
}

/* ---------------- in SDM order ---------------- */

static ctl_check *const control_checks[] = {
    pin_controls_reserved_bits,
    proc_controls_reserved_bits,
    proc2_controls_reserved_bits,
    cr3_target_count_supported,
    io_bitmap_addresses,
    msr_bitmap_address,
    tpr_shadow_virtual_apic_address,
    tpr_threshold_reserved_bits,
    tpr_threshold_not_above_vtpr,
    apic_virtualization_needs_tpr_shadow,
    virtual_nmis_need_nmi_exiting,
    nmi_window_needs_virtual_nmis,
    apic_access_address,
    x2apic_mode_excludes_apic_accesses,
    virtual_interrupt_delivery_needs_ext_intr_exiting,
    posted_interrupt_controls,
    posted_interrupt_fields,
    vpid_nonzero,
    eptp_memory_type,
    eptp_page_walk_length,
    eptp_accessed_dirty,
    eptp_reserved_bits,
    pml_needs_ept,
    unrestricted_guest_needs_ept,
    vm_function_controls_reserved_bits,
    eptp_switching_list,
    vmcs_shadowing_bitmaps,
    ept_violation_ve_info,
    exit_controls_reserved_bits,
    save_timer_needs_active_timer,
    exit_msr_store_area,
    exit_msr_load_area,
    entry_controls_reserved_bits,
    injection_type_not_reserved,
    injection_vector_matches_type,
    injection_error_code_bit,
    injection_reserved_bits,
    injection_error_code_reserved_bits,
    injection_instruction_length,
    entry_msr_load_area,
};

bool vmx_check_controls(struct cpu *cpu)
{
    const struct vmcs *c = &cpu->vmx->vmcs;
    struct vmx_ctls k;
    vmx_ctls_get(c, &k);
    for (size_t i = 0; i < sizeof(control_checks) / sizeof(control_checks[0]); i++)
        if (!control_checks[i](cpu, c, &k))
            return false;
    return true;
}
