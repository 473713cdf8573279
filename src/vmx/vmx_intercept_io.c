/*
 * vmx_intercept_io.c — I/O instructions and RDMSR/WRMSR of a VMX non-root
 * guest (SDM Vol.3 25.1.3).
 *
 * I/O: with "use I/O bitmaps" the ports an access touches are looked up in
 * bitmap A (0000H-7FFFH) and B (8000H-FFFFH), one bit per port; an access
 * that wraps past FFFFH always exits, and "unconditional I/O exiting" is
 * then ignored.  Without bitmaps "unconditional I/O exiting" decides.  The
 * #GP(0) of the I/O permission check (CPL > IOPL, virtual-8086 mode) comes
 * first (25.1.1).  Exit qualification (Table 27-5): 2:0 size - 1, 3 IN,
 * 4 string, 5 REP, 6 immediate port, 31:16 port.  INS/OUTS also report the
 * linear address of their memory operand and, as IA32_VMX_BASIC bit 54
 * promises, the instruction information of Table 27-8 (address size in
 * 9:7, OUTS's segment in 17:15).
 *
 * RDMSR/WRMSR: with "use MSR bitmaps" the 4-KByte bitmap has read-low
 * (MSRs 0-1FFFH) at 0, read-high (C0000000H-C0001FFFH) at 400H, write-low
 * at 800H, write-high at C00H (24.6.9); any other MSR, or no bitmaps,
 * exits.  Bitmaps are L1-physical; a byte outside RAM reads as 1 (exit).
 */
#include "cpu/mem.h"
#include "cpu/ops_flow.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

/* ---------- pure decisions ---------- */

/* Bit 'bit' of a bitmap starting at L1-physical 'base'. */
static bool bitmap_bit(const struct bus *bus, uint64_t base, uint64_t bit)
{
    const uint8_t *p = bus_ram_ptr(bus, base + (bit >> 3), 1);
    return !p || ((*p >> (bit & 7)) & 1);
}

bool vmx_io_bitmap_exits(const struct bus *bus, uint64_t bitmap_a, uint64_t bitmap_b,
                         uint16_t port, unsigned size)
{
    if ((unsigned)port + size > 0x10000)
        return true; /* wraps around the 16-bit port space */
    for (unsigned p = port; p < (unsigned)port + size; p++)
        if (bitmap_bit(bus, (p < 0x8000 ? bitmap_a : bitmap_b) & IX_PA_MASK, p & 0x7fff))
            return true;
    return false;
}

bool vmx_msr_bitmap_exits(const struct bus *bus, uint64_t bitmap, uint32_t msr, bool write)
{
    uint64_t off;
    if (msr <= 0x1fff)
        off = 0;
    else if (msr - 0xc0000000u <= 0x1fff)
        off = 0x400;
    else
        return true;
    if (write)
        off += 0x800;
    return bitmap_bit(bus, (bitmap & IX_PA_MASK) + off, msr & 0x1fff);
}

uint64_t vmx_io_qual(uint16_t port, unsigned size, bool in, bool string, bool rep, bool imm)
{
    return (uint64_t)(size - 1) | (uint64_t)in << 3 | (uint64_t)string << 4 |
           (uint64_t)rep << 5 | (uint64_t)imm << 6 | (uint64_t)port << 16;
}

/* ---------- I/O instructions ---------- */

/* INS/OUTS: the exit carries the memory operand's linear address (27.2.1)
 * and the instruction information (27.2.5, Table 27-8). */
static _Noreturn void string_io_exit(struct cpu *cpu, const struct insn *in, bool is_in,
                                     uint64_t qual)
{
    int seg = is_in ? SEG_ES : (in->segovr != SEG_NONE ? in->segovr : SEG_DS);
    uint64_t off = reg_get(cpu, is_in ? R_DI : R_SI, in->asz);
    uint64_t lin = cpu->code64 ? off + (seg >= SEG_FS ? cpu->seg[seg].base : 0)
                               : (uint32_t)(cpu->seg[seg].base + off);
    unsigned asz_code = in->asz == 2 ? 0 : in->asz == 4 ? 1 : 2;
    struct vmx_exit_info ei = {
        .reason = EXIT_REASON_IO_INSTRUCTION,
        .qual = qual,
        .guest_linear = lin,
        .insn_len = in->len,
        .insn_info = asz_code << 7 | (uint32_t)(is_in ? 0 : seg) << 15,
    };
    vmx_vmexit(cpu, &ei);
}

void ix_io(struct cpu *cpu, const struct insn *in)
{
    uint8_t op = in->opc; /* 6C-6F INS/OUTS, E4-E7 imm8 port, EC-EF DX port */
    bool string = op >= 0x6c && op <= 0x6f;
    bool imm = op >= 0xe4 && op <= 0xe7;
    bool is_in = !(op & 2);
    unsigned size = (op_rows[in->row].flags & F_BYTE) ? 1 : (in->osz == 2 ? 2 : 4);
    uint16_t port = imm ? (uint16_t)(in->imm & 0xff) : (uint16_t)cpu->r[R_DX];
    if (!io_allowed(cpu, port, size))
        cpu_gp0(cpu);
    uint32_t proc = ix_proc(cpu);
    bool exits;
    if (proc & VMX_PROC_IO_BITMAPS)
        exits = vmx_io_bitmap_exits(cpu->bus, ix_field(cpu, VMCS_IO_BITMAP_A),
                                    ix_field(cpu, VMCS_IO_BITMAP_B), port, size);
    else
        exits = (proc & VMX_PROC_UNCOND_IO) != 0;
    if (!exits)
        return;
    uint64_t qual = vmx_io_qual(port, size, is_in, string, string && in->rep, imm);
    if (string)
        string_io_exit(cpu, in, is_in, qual);
    vmx_exit_insn(cpu, in, EXIT_REASON_IO_INSTRUCTION, qual);
}

/* ---------- RDMSR / WRMSR ---------- */

bool ix_msr(struct cpu *cpu, const struct insn *in, bool write)
{
    uint32_t msr = (uint32_t)cpu->r[R_CX];
    if (!(ix_proc(cpu) & VMX_PROC_MSR_BITMAPS) ||
        vmx_msr_bitmap_exits(cpu->bus, ix_field(cpu, VMCS_MSR_BITMAP), msr, write))
        vmx_exit_insn(cpu, in, write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ, 0);
    return ix_x2apic_msr(cpu, msr, write);
}
