/*
 * test_vmx_regress.c — VT-x regressions found with kvm-unit-tests' vmx.flat
 * that need control the acceptance guest does not have:
 *
 *   - the VMX-preemption timer is exact for TSC reads: an RDTSC/RDTSCP of
 *     L2 at or after the expiry VM-exits before it executes, even when the
 *     block-boundary poll has not looked yet (SDM 25.5.1);
 *   - INIT is blocked, not dropped, in VMX root operation: it stays pending
 *     until VMXOFF or the next VM entry, where it causes an INIT VM exit
 *     before the first L2 instruction (SDM 23.8, 25.2).
 */
#include <string.h>

#include "cpu/msr.h"
#include "test.h"
#include "vmx/vmx_hooks.h"
#include "vmx_l2_harness.h"

/* ---- preemption timer at RDTSC ---- */

/* A service hook that keeps the boundary poll of the timer from looking,
 * so only the RDTSC path can notice the expiry. */
static void no_timer_poll(struct cpu *cpu)
{
    if (cpu->vmx)
        cpu->vmx->ix.timer_skip = 1000;
}
static const struct cpu_hooks hooks_no_poll = { .service = no_timer_poll };

static const uint8_t rdtsc_hlt[] = { 0x0f, 0x31, 0xf4 };          /* rdtsc; hlt */
static const uint8_t rdtscp_hlt[] = { 0x0f, 0x01, 0xf9, 0xf4 };   /* rdtscp; hlt */

static void timer_expired_at(struct th *t, const uint8_t *code, size_t n, uint32_t proc2)
{
    vl2_init(t, VMX_PIN_PREEMPT_TIMER, 0, proc2);
    t->cpu.hooks = &hooks_no_poll;
    t->cpu.r[R_AX] = 0x5a5a;
    /* vl2_run arms nothing: set an expiry in the past by hand */
    t->cpu.vmx->preempt_deadline_tsc = 1;
    CHECK_EQ(vl2_run(t, code, n), TH_HALT);
    CHECK(vl2_exited(t, EXIT_REASON_PREEMPTION_TIMER));
    CHECK_EQ(vl2_rd(t, VMCS_GUEST_RIP), TH_CODE); /* before the TSC read */
    CHECK_EQ(vl2_rd(t, VMCS_EXIT_QUALIFICATION), 0);
    vl2_destroy(t);
}

TEST(vmx_regress_timer_exact_at_rdtsc)
{
    struct th t;
    timer_expired_at(&t, rdtsc_hlt, sizeof rdtsc_hlt, 0);
    timer_expired_at(&t, rdtscp_hlt, sizeof rdtscp_hlt, VMX_PROC2_RDTSCP);
}

TEST(vmx_regress_timer_not_expired_rdtsc_reads)
{
    struct th t;
    vl2_init(&t, VMX_PIN_PREEMPT_TIMER, VMX_PROC_TSC_OFFSET, 0);
    t.cpu.hooks = &hooks_no_poll;
    vl2_wr(&t, VMCS_TSC_OFFSET, 1ull << 40);
    t.cpu.vmx->preempt_deadline_tsc = ~0ull >> 1;
    uint64_t before = cpu_read_tsc(&t.cpu) + (1ull << 40);
    CHECK_EQ(vl2_run(&t, rdtsc_hlt, sizeof rdtsc_hlt), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1); /* L2 halted, no exit */
    uint64_t got = (uint32_t)t.cpu.r[R_AX] | t.cpu.r[R_DX] << 32;
    CHECK(got >= before && got <= cpu_read_tsc(&t.cpu)); /* offset applied */
    vl2_destroy(&t);
}

/* ---- INIT held in VMX root operation ---- */

static void init_service(struct cpu *cpu)
{
    /* what the machine does (machine.c hook_service) */
    if (vmx_take_latched_init(cpu) && cpu->nonroot)
        vmx_init_signal_exit(cpu);
}
static const struct cpu_hooks hooks_init = { .service = init_service };

TEST(vmx_regress_init_latched_until_vmxoff)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    struct cpu *cpu = &t.cpu;
    CHECK(vmx_in_root(cpu));
    vmx_latch_init(cpu);
    CHECK(!vmx_take_latched_init(cpu)); /* still blocked in root operation */
    static const uint8_t vmxoff_hlt[] = { 0x0f, 0x01, 0xc4, 0xf4 };
    CHECK_EQ(th_run(&t, vmxoff_hlt, sizeof vmxoff_hlt), TH_HALT);
    CHECK(!cpu->vmx->vmxon);
    CHECK(atomic_load(&cpu->events) & EV_INIT); /* the machine is asked to look */
    CHECK(vmx_take_latched_init(cpu));
    CHECK(!vmx_take_latched_init(cpu)); /* once */
    vl2_destroy(&t);
}

TEST(vmx_regress_init_latched_exits_at_entry)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    t.cpu.hooks = &hooks_init;
    vmx_latch_init(&t.cpu);
    static const uint8_t nop_hlt[] = { 0x90, 0xf4 };
    CHECK_EQ(vl2_run(&t, nop_hlt, sizeof nop_hlt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_INIT_SIGNAL));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE); /* before the first instruction */
    CHECK(!vmx_take_latched_init(&t.cpu));          /* consumed by the exit */
    vl2_destroy(&t);
}
