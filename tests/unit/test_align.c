/*
 * test_align.c — alignment checking (SDM Vol.3 6.15 "Interrupt 17—Alignment
 * Check Exception (#AC)"): with CR0.AM = 1, RFLAGS.AC = 1 and CPL 3, a
 * misaligned 2/4/8-byte data access raises #AC(0); aligned accesses,
 * CPL 0, AM = 0 or AC = 0 do not.  (Found with kvm-unit-tests' vmx.flat
 * vmx_exception_test, whose L2 user code relies on it.)
 */
#include "cpu_harness.h"
#include "test.h"

/* mov %ebx,1(%rax); ud2 */
static const uint8_t st_mis[] = { 0x89, 0x58, 0x01, 0x0f, 0x0b };
/* mov %ebx,(%rax); ud2 */
static const uint8_t st_ok[] = { 0x89, 0x18, 0x0f, 0x0b };
/* mov 2(%rax),%rbx; ud2 */
static const uint8_t ld_mis[] = { 0x48, 0x8b, 0x58, 0x02, 0x0f, 0x0b };
/* add %ebx,1(%rax) (read-modify-write); ud2 */
static const uint8_t rmw_mis[] = { 0x01, 0x58, 0x01, 0x0f, 0x0b };
/* push %rax (RSP misaligned by the test); ud2 */
static const uint8_t push[] = { 0x50, 0x0f, 0x0b };
/* movb %bl,1(%rax): bytes are never misaligned; ud2 */
static const uint8_t st8[] = { 0x88, 0x58, 0x01, 0x0f, 0x0b };

static void setup(struct th *t, bool user, bool am, bool ac)
{
    th_init(t, TH_LONG64);
    struct cpu *cpu = &t->cpu;
    if (user) {
        cpu_set_seg(cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
        cpu_set_seg(cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
    }
    if (am)
        cpu->cr0 |= CR0_AM;
    cpu_set_rflags(cpu, (cpu_get_rflags(cpu) & ~(uint64_t)FL_AC) | (ac ? FL_AC : 0));
    cpu_update_mode(cpu);
    cpu->r[R_AX] = TH_DATA;
    cpu->r[R_BX] = 0x11223344;
}

/* Runs code; returns the exception vector (6 = reached the UD2). */
static int run(struct th *t, const uint8_t *code, size_t n)
{
    if (th_run(t, code, n) != TH_EXCEPTION)
        return -1;
    return t->vector;
}

TEST(align_check_user_misaligned_store_ac)
{
    struct th t;
    setup(&t, true, true, true);
    CHECK_EQ(run(&t, st_mis, sizeof st_mis), EXC_AC);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.rip, TH_CODE); /* a fault: nothing written */
    uint32_t v;
    memcpy(&v, th_mem(&t, TH_DATA + 1), 4);
    CHECK(v != 0x11223344);
    th_destroy(&t);
}

TEST(align_check_user_loads_rmw_push)
{
    struct th t;
    setup(&t, true, true, true);
    CHECK_EQ(run(&t, ld_mis, sizeof ld_mis), EXC_AC);
    th_destroy(&t);
    setup(&t, true, true, true);
    CHECK_EQ(run(&t, rmw_mis, sizeof rmw_mis), EXC_AC);
    th_destroy(&t);
    setup(&t, true, true, true);
    t.cpu.r[R_SP] = TH_STACK - 4;
    CHECK_EQ(run(&t, push, sizeof push), EXC_AC);
    th_destroy(&t);
}

TEST(align_check_only_when_enabled)
{
    struct th t;
    setup(&t, true, true, true);
    CHECK_EQ(run(&t, st_ok, sizeof st_ok), EXC_UD); /* aligned */
    th_destroy(&t);
    setup(&t, true, true, true);
    CHECK_EQ(run(&t, st8, sizeof st8), EXC_UD); /* byte access */
    th_destroy(&t);
    setup(&t, true, false, true);
    CHECK_EQ(run(&t, st_mis, sizeof st_mis), EXC_UD); /* CR0.AM = 0 */
    uint32_t v;
    memcpy(&v, th_mem(&t, TH_DATA + 1), 4);
    CHECK_EQ(v, 0x11223344);
    th_destroy(&t);
    setup(&t, true, true, false);
    CHECK_EQ(run(&t, st_mis, sizeof st_mis), EXC_UD); /* RFLAGS.AC = 0 */
    th_destroy(&t);
    setup(&t, false, true, true);
    CHECK_EQ(run(&t, st_mis, sizeof st_mis), EXC_UD); /* CPL 0 */
    th_destroy(&t);
}
