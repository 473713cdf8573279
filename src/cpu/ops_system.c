/*
 * ops_system.c — system instructions other than MOV CR/DR (SDM Vol.2 pages
 * of each mnemonic; Vol.3 2.5 for CR4.UMIP/TSD/FSGSBASE/OSXSAVE).
 *
 *   HLT, CLI/STI (IOPL; no VME/PVI: not enumerated), SGDT/SIDT/LGDT/LIDT,
 *   SLDT/STR/LLDT/LTR, INVLPG, INVPCID, INVD/WBINVD, CLFLUSH(OPT), the
 *   fences, SWAPGS, RDTSC/RDTSCP/RDPID, RDPMC, RDMSR/WRMSR, CPUID,
 *   XGETBV/XSETBV, RD/WR FS/GS BASE, RDRAND/RDSEED, CLAC/STAC, GETSEC.
 *   The VMX instructions (rows in optable_sys.def) are in src/vmx/vmx_insn.c.
 *
 * CPL checks that are plain "#GP(0) if CPL > 0" are F_PRIV in the table;
 * the handlers check the conditional ones (UMIP, TSD, IOPL).  The TLB holds
 * no PCID or global tags, so every invalidation may flush all of it.
 */
#include <sys/random.h>

#include "cpu/cpuid.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "cpu/ops_sys.h"
#include "cpu/seg.h"

/* ---------- HLT, CLI, STI ---------- */

void op_hlt(struct cpu *cpu, const struct insn *in)
{
    cpu->state = CPU_HALTED; /* resumes at next_rip after an event */
    cpu_end_block(cpu);
}

/* CLI/STI are allowed when CPL <= IOPL (V86: IOPL = 3); without VME/PVI
 * otherwise #GP(0) (SDM Vol.2 CLI, STI). */
static void if_check(struct cpu *cpu)
{
    if (!cpu_real_mode(cpu) && cpu->cpl > cpu_iopl(cpu))
        cpu_gp0(cpu);
}

void op_cli(struct cpu *cpu, const struct insn *in)
{
    if_check(cpu);
    cpu->rflags &= ~(uint64_t)FL_IF;
}

/* STI: interrupts stay blocked until the next instruction retires. */
void op_sti(struct cpu *cpu, const struct insn *in)
{
    if_check(cpu);
    if (cpu->rflags & FL_IF)
        return;
    cpu->rflags |= FL_IF;
    cpu->intr_shadow = 1;
    cpu->intr_shadow_rip = cpu->next_rip;
    cpu_end_block(cpu);
}

/* ---------- descriptor-table registers ---------- */

/* SGDT, SIDT, SLDT, STR, SMSW: #GP(0) at CPL > 0 when CR4.UMIP = 1. */
static void umip_check(struct cpu *cpu)
{
    if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
        cpu_gp0(cpu);
}

/* LGDT/LIDT m16&32 / m16&64: a 16-bit operand size loads a 24-bit base; in
 * 64-bit mode the base is 64 bits and must be canonical. */
static void dtr_load(struct cpu *cpu, const struct insn *in, struct dtr *dt)
{
    uint64_t ea = insn_ea(cpu, in);
    uint64_t ea2 = (ea + 2) & size_mask(in->asz);
    uint16_t limit = mem_read16(cpu, in->seg, ea);
    uint64_t base;
    if (cpu->code64) {
        base = mem_read64(cpu, in->seg, ea2);
        if (!seg_canonical(base))
            cpu_gp0(cpu);
    } else {
        base = mem_read32(cpu, in->seg, ea2);
        if (in->osz == 2)
            base &= 0xffffff;
    }
    dt->base = base;
    dt->limit = limit;
}

/* SGDT/SIDT: limit then base (8 bytes in 64-bit mode, else the full 32
 * bits whatever the operand size). */
static void dtr_store(struct cpu *cpu, const struct insn *in, const struct dtr *dt)
{
    umip_check(cpu);
    uint8_t buf[10];
    uint16_t limit = (uint16_t)dt->limit;
    memcpy(buf, &limit, 2);
    memcpy(buf + 2, &dt->base, 8);
    mem_write_buf(cpu, in->seg, insn_ea(cpu, in), buf, cpu->code64 ? 10 : 6);
}

void op_sgdt_Ms(struct cpu *cpu, const struct insn *in)
{
    dtr_store(cpu, in, &cpu->gdtr);
}

void op_sidt_Ms(struct cpu *cpu, const struct insn *in)
{
    dtr_store(cpu, in, &cpu->idtr);
}

void op_lgdt_Ms(struct cpu *cpu, const struct insn *in)
{
    dtr_load(cpu, in, &cpu->gdtr);
}

void op_lidt_Ms(struct cpu *cpu, const struct insn *in)
{
    dtr_load(cpu, in, &cpu->idtr);
}

/* Group 6 is not recognised in real-address or virtual-8086 mode. */
static void group6_check(struct cpu *cpu)
{
    if (cpu_real_mode(cpu) || cpu_vm86(cpu))
        cpu_ud(cpu);
}

/* SLDT/STR: 16 bits to memory; to a register at the operand size, the
 * selector zero-extended. */
static void sel_store(struct cpu *cpu, const struct insn *in, uint16_t sel)
{
    group6_check(cpu);
    umip_check(cpu);
    op_write_rm(cpu, in, in->mod == 3 ? in->osz : 2, sel);
}

void op_sldt_Ew(struct cpu *cpu, const struct insn *in)
{
    sel_store(cpu, in, cpu->ldtr.sel);
}

void op_str_Ew(struct cpu *cpu, const struct insn *in)
{
    sel_store(cpu, in, cpu->tr.sel);
}

void op_lldt_Ew(struct cpu *cpu, const struct insn *in)
{
    group6_check(cpu);
    seg_load_ldtr(cpu, (uint16_t)op_read_rm(cpu, in, 2));
}

void op_ltr_Ew(struct cpu *cpu, const struct insn *in)
{
    group6_check(cpu);
    seg_load_tr(cpu, (uint16_t)op_read_rm(cpu, in, 2));
}

/* ---------- TLB and caches ---------- */

/* INVLPG: no segment checks; a non-canonical address in 64-bit mode makes
 * it a no-op (SDM Vol.2 INVLPG). */
void op_invlpg_Mb(struct cpu *cpu, const struct insn *in)
{
    uint64_t ea = insn_ea(cpu, in), lin;
    if (cpu->code64) {
        lin = ea + (in->seg >= SEG_FS ? cpu->seg[in->seg].base : 0);
        if (!seg_canonical(lin))
            return;
    } else {
        lin = (uint32_t)(cpu->seg[in->seg].base + ea);
    }
    tlb_flush_page(cpu, lin);
    cpu_end_block(cpu);
}

/* INVPCID r32/r64, m128 (SDM Vol.2 INVPCID): type 0 individual address,
 * 1 single context, 2 all incl. globals, 3 all but globals. */
void op_invpcid_GyMdq(struct cpu *cpu, const struct insn *in)
{
    uint64_t type = reg_get(cpu, in->reg, cpu->code64 ? 8 : 4);
    if (type > 3)
        cpu_gp0(cpu);
    uint64_t desc[2];
    mem_read_buf(cpu, in->seg, insn_ea(cpu, in), desc, 16);
    uint64_t pcid = desc[0] & 0xfff;
    if (desc[0] >> 12)
        cpu_gp0(cpu);
    if (type <= 1 && pcid && !(cpu->cr4 & CR4_PCIDE))
        cpu_gp0(cpu);
    if (type == 0 && !seg_canonical(desc[1]))
        cpu_gp0(cpu);
    if (type == 0)
        tlb_flush_page(cpu, desc[1]);
    else
        tlb_flush_all(cpu);
    cpu_end_block(cpu);
}

/* INVD / WBINVD: the engine has no caches to write back or drop. */
void op_invd(struct cpu *cpu, const struct insn *in)
{
}

void op_wbinvd(struct cpu *cpu, const struct insn *in)
{
}

/* CLFLUSH / CLFLUSHOPT m8: checked like a byte read (segmentation and
 * paging faults), without touching the memory (an MMIO read could have side
 * effects). */
void op_clflush_Mb(struct cpu *cpu, const struct insn *in)
{
    uint64_t lin = seg_linear(cpu, in->seg, insn_ea(cpu, in), 1, ACC_READ), gpa;
    if (cpu->code64 && !seg_canonical(lin))
        cpu_fault(cpu, in->seg == SEG_SS ? EXC_SS : EXC_GP, 0);
    mmu_translate(cpu, lin, ACC_READ, &gpa);
}

/* The fences order the host's accesses the way the guest asked for. */
void op_lfence(struct cpu *cpu, const struct insn *in)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("lfence" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

void op_mfence(struct cpu *cpu, const struct insn *in)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void op_sfence(struct cpu *cpu, const struct insn *in)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("sfence" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_RELEASE);
#endif
}

/* ---------- segment bases ---------- */

/* SWAPGS (64-bit mode, CPL 0): exchange GS.base and IA32_KERNEL_GS_BASE. */
void op_swapgs(struct cpu *cpu, const struct insn *in)
{
    uint64_t t = cpu->seg[SEG_GS].base;
    cpu->seg[SEG_GS].base = cpu->kernel_gs_base;
    cpu->kernel_gs_base = t;
}

/* RD/WR FS/GS BASE: 64-bit mode (O64 row), CR4.FSGSBASE else #UD; REX.W
 * selects 64 bits, else 32 (zero-extended); WR of a non-canonical value is
 * #GP(0) (SDM Vol.2 RDFSBASE/WRFSBASE). */
static unsigned fsgs_size(struct cpu *cpu, const struct insn *in)
{
    if (!(cpu->cr4 & CR4_FSGSBASE))
        cpu_ud(cpu);
    return (in->rex & 8) ? 8 : 4;
}

static void fsgs_read(struct cpu *cpu, const struct insn *in, int seg)
{
    unsigned size = fsgs_size(cpu, in);
    reg_set(cpu, in->rm, size, cpu->seg[seg].base & size_mask(size));
}

static void fsgs_write(struct cpu *cpu, const struct insn *in, int seg)
{
    uint64_t v = reg_get(cpu, in->rm, fsgs_size(cpu, in));
    if (!seg_canonical(v))
        cpu_gp0(cpu);
    cpu->seg[seg].base = v;
}

void op_rdfsbase_Ry(struct cpu *cpu, const struct insn *in)
{
    fsgs_read(cpu, in, SEG_FS);
}

void op_rdgsbase_Ry(struct cpu *cpu, const struct insn *in)
{
    fsgs_read(cpu, in, SEG_GS);
}

void op_wrfsbase_Ry(struct cpu *cpu, const struct insn *in)
{
    fsgs_write(cpu, in, SEG_FS);
}

void op_wrgsbase_Ry(struct cpu *cpu, const struct insn *in)
{
    fsgs_write(cpu, in, SEG_GS);
}

/* CLAC/STAC: CPL 0 only, else #UD (SDM Vol.2 CLAC); AC is part of the TLB
 * context under SMAP. */
static void ac_set(struct cpu *cpu, bool on)
{
    if (cpu->cpl > 0)
        cpu_ud(cpu);
    if (on)
        cpu->rflags |= FL_AC;
    else
        cpu->rflags &= ~(uint64_t)FL_AC;
    cpu_update_tlb_ctx(cpu);
}

void op_clac(struct cpu *cpu, const struct insn *in)
{
    ac_set(cpu, false);
}

void op_stac(struct cpu *cpu, const struct insn *in)
{
    ac_set(cpu, true);
}

/* ---------- time stamps, counters, MSRs, CPUID ---------- */

static void set_edx_eax(struct cpu *cpu, uint64_t v)
{
    reg_set(cpu, R_AX, 4, (uint32_t)v);
    reg_set(cpu, R_DX, 4, v >> 32);
}

static uint64_t get_edx_eax(const struct cpu *cpu)
{
    return (uint32_t)cpu->r[R_AX] | (uint64_t)(uint32_t)cpu->r[R_DX] << 32;
}

/* CR4.TSD restricts RDTSC/RDTSCP to CPL 0 (SDM Vol.3 2.5). */
static uint64_t tsc_read_checked(struct cpu *cpu)
{
    if ((cpu->cr4 & CR4_TSD) && cpu->cpl > 0)
        cpu_gp0(cpu);
    return cpu_read_tsc(cpu);
}

void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
    set_edx_eax(cpu, tsc_read_checked(cpu));
}

void op_rdtscp(struct cpu *cpu, const struct insn *in)
{
    set_edx_eax(cpu, tsc_read_checked(cpu));
    reg_set(cpu, R_CX, 4, (uint32_t)cpu->tsc_aux);
}

/* RDPID r32/r64: IA32_TSC_AUX; 64-bit register in 64-bit mode. */
void op_rdpid_Ry(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->rm, cpu->code64 ? 8 : 4, (uint32_t)cpu->tsc_aux);
}

/* RDPMC: no performance counters are enumerated (CPUID leaf 0AH is zero),
 * so every ECX is invalid: #GP(0). */
void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
    cpu_gp0(cpu);
}

void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
    uint64_t v;
    if (msr_read(cpu, (uint32_t)cpu->r[R_CX], &v) < 0)
        cpu_gp0(cpu);
    set_edx_eax(cpu, v);
}

void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
    if (msr_write(cpu, (uint32_t)cpu->r[R_CX], get_edx_eax(cpu)) < 0)
        cpu_gp0(cpu);
    cpu_end_block(cpu); /* EFER, bases, APIC state: serializing (SDM 8.3) */
}

void op_cpuid(struct cpu *cpu, const struct insn *in)
{
    uint32_t r[4];
    cpuid_query(cpu, (uint32_t)cpu->r[R_AX], (uint32_t)cpu->r[R_CX], r);
    reg_set(cpu, R_AX, 4, r[0]);
    reg_set(cpu, R_BX, 4, r[1]);
    reg_set(cpu, R_CX, 4, r[2]);
    reg_set(cpu, R_DX, 4, r[3]);
}

/* ---------- XCR0 ---------- */

#define XCR0_X87 1ull

/* XGETBV/XSETBV need CR4.OSXSAVE (#UD); only XCR0 exists (XGETBV with
 * ECX=1 is not enumerated); XCR0 must keep x87 and hold only supported
 * bits (SDM Vol.1 13.3, Vol.2 XSETBV). */
static void xcr_check(struct cpu *cpu)
{
    if (!(cpu->cr4 & CR4_OSXSAVE))
        cpu_ud(cpu);
    if ((uint32_t)cpu->r[R_CX] != 0)
        cpu_gp0(cpu);
}

void op_xgetbv(struct cpu *cpu, const struct insn *in)
{
    xcr_check(cpu);
    set_edx_eax(cpu, cpu->xcr0);
}

void op_xsetbv(struct cpu *cpu, const struct insn *in)
{
    xcr_check(cpu);
    uint64_t v = get_edx_eax(cpu);
    if (!(v & XCR0_X87) || (v & ~(uint64_t)CPUID_XCR0_SUPPORTED))
        cpu_gp0(cpu);
    cpu->xcr0 = v;
    cpu_end_block(cpu);
}

/* ---------- random numbers ---------- */

/* RDRAND/RDSEED r16/32/64: CF=1 with a random value, or CF=0 and 0 when
 * none is available (the guest retries); OF SF ZF AF PF cleared. */
static void rand_op(struct cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t v = 0;
    bool ok = getrandom(&v, size, GRND_NONBLOCK) == (ssize_t)size;
    if (!ok)
        v = 0;
    reg_set(cpu, in->rm, size, v);
    flags_set(cpu, FL_ARITH, ok ? FL_CF : 0);
}

void op_rdrand_Rv(struct cpu *cpu, const struct insn *in)
{
    rand_op(cpu, in);
}

void op_rdseed_Rv(struct cpu *cpu, const struct insn *in)
{
    rand_op(cpu, in);
}

/* ---------- not enumerated ---------- */

/* GETSEC needs CR4.SMXE, which cannot be set (no SMX): #UD.  The VMX
 * instructions are in src/vmx/vmx_insn.c. */
#define UD_HANDLER(name)                                                               \
    void name(struct cpu *cpu, const struct insn *in)                                       \
    {                                                                                       \
        cpu_ud(cpu);                                                                        \
    }
UD_HANDLER(op_getsec)
