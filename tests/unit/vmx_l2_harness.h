/*
 * vmx_l2_harness.h — run code as a VMX non-root guest (L2) on the CPU test
 * harness without going through VMLAUNCH: the harness CPU (64-bit, CPL 0,
 * identity paging) is put into non-root operation by hand with the given
 * controls; its own state doubles as L1's host state, so a VM exit lands on
 * a HLT at VL2_HOST_RIP and th_run() returns TH_HALT with cpu.nonroot = 0.
 *
 *   struct th t; vl2_init(&t, pin, proc, proc2);
 *   vl2_wr(&t, VMCS_EXCEPTION_BITMAP, 1u << EXC_UD);
 *   vl2_run(&t, code, sizeof code);
 *   CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
 *
 * vl2_ept() adds an EPT: PML4 → PDPT → PD with 2 MiB identity pages for
 * the first GiB, except guest-physical 2-4 MiB, which a 4 KiB table maps
 * (identity, RWX, write-back) so tests can change single pages
 * (vl2_ept_pte(&t, n) is the entry for VL2_PT_BASE + n * 4096).
 */
#ifndef NESTVM_VMX_L2_HARNESS_H
#define NESTVM_VMX_L2_HARNESS_H

#include "cpu_harness.h"
#include "vmx/vmx.h"

#define VL2_VMCS 0x31000ull
#define VL2_HOST_RIP (TH_CODE + 0x800)
#define VL2_EPT_PML4 0x300000ull
#define VL2_EPT_PDPT 0x301000ull
#define VL2_EPT_PD 0x302000ull
#define VL2_EPT_PT 0x303000ull
#define VL2_PT_BASE 0x200000ull /* guest-physical range mapped by VL2_EPT_PT */
#define VL2_EPT_WB (6ull << 3)
#define VL2_EPTP_AD (1ull << 6)

void vl2_init(struct th *t, uint32_t pin, uint32_t proc, uint32_t proc2);
/* The harness CPU's own CR0/CR3/CR4 and flat selectors (GDT: 0x08 code,
 * 0x10 data, 0x28 TSS) as the VMCS host state: the L1 a VM exit returns to. */
void vl2_host_state(struct th *t);
void vl2_destroy(struct th *t);
/* Enable EPT with the tables above; 'ad' sets EPTP bit 6. */
void vl2_ept(struct th *t, bool ad);
uint64_t *vl2_ept_pte(struct th *t, unsigned n);
/* Load code at TH_CODE, enter non-root operation, run (at most max
 * instructions; 0: the harness default). */
enum th_result vl2_run(struct th *t, const void *code, size_t n);
uint64_t vl2_rd(struct th *t, enum vmcs_field f);
void vl2_wr(struct th *t, enum vmcs_field f, uint64_t v);
/* A VM exit with this basic reason happened and L1 reached its HLT. */
bool vl2_exited(struct th *t, uint32_t reason);
void vl2_put64(struct th *t, uint64_t pa, uint64_t v);
uint64_t vl2_get64(struct th *t, uint64_t pa);

#endif
