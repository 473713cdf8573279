/*
 * ops_io.c — port I/O: IN/OUT with an immediate port (E4-E7) or DX (EC-EF)
 * in byte, word and dword sizes, and the I/O permission check shared with
 * INS/OUTS (ops_string.c).
 *
 * Protection (SDM Vol.1 19.5 "Protected-mode I/O"): in protected mode with
 * CPL > IOPL, and always in virtual-8086 mode, every port touched must have
 * a clear bit in the TSS I/O permission bitmap, else #GP(0).  The bitmap
 * starts at the 16-bit offset stored at TSS+0x66; the processor reads two
 * bytes of it for each access, and a byte beyond the TSS limit counts as
 * "not permitted".  Only 32/64-bit TSS types (9, 11) have a bitmap.
 *
 * Port accesses go to the bus (bus_pio_read/bus_pio_write).  The VM-exit
 * class IX_IO on the rows lets exec.c divert these in VMX non-root mode.
 */
#include "cpu/ops_flow.h"

#include "cpu/cpu.h"
#include "cpu/debug.h"
#include "cpu/mem.h"

static bool io_bitmap_allows(struct cpu *cpu, uint16_t port, unsigned size)
{
    const struct seg *tr = &cpu->tr;
    unsigned type = AR_TYPE(tr->ar);
    if ((tr->ar & AR_UNUSABLE) || (type != 9 && type != 11) || tr->limit < 0x67)
        return false;
    bool wide = (cpu->efer & EFER_LMA) != 0;
    uint64_t base = wide ? tr->base : (uint32_t)tr->base;
    uint64_t map = (uint16_t)mem_read_sys(cpu, wide ? base + 0x66 : (uint32_t)(base + 0x66), 2);
    uint64_t off = map + (port >> 3);
    if (off + 1 > tr->limit)
        return false;
    uint64_t lin = wide ? base + off : (uint32_t)(base + off);
    unsigned bits = (unsigned)mem_read_sys(cpu, lin, 2);
    unsigned want = ((1u << size) - 1) << (port & 7);
    return (bits & want) == 0;
}

bool io_allowed(struct cpu *cpu, uint16_t port, unsigned size)
{
    if (unlikely(dbg_armed(cpu)))
        dbg_io_access(cpu, port, size); /* I/O breakpoints (debug.c) */
    if (!(cpu->cr0 & CR0_PE))
        return true;
    if (!(cpu->rflags & FL_VM) && cpu->cpl <= ((cpu->rflags >> 12) & 3))
        return true;
    return io_bitmap_allows(cpu, port, size);
}

static inline void io_in(struct cpu *cpu, uint16_t port, unsigned size)
{
    if (!io_allowed(cpu, port, size))
        cpu_gp0(cpu);
    uint64_t v = bus_pio_read(cpu->bus, port, size) & size_mask(size);
    if (size == 1)
        reg8_set(cpu, R_AX, false, (uint8_t)v);
    else
        reg_set(cpu, R_AX, size, v); /* IN EAX zero-extends into RAX */
}

static inline void io_out(struct cpu *cpu, uint16_t port, unsigned size)
{
    if (!io_allowed(cpu, port, size))
        cpu_gp0(cpu);
    bus_pio_write(cpu->bus, port, cpu->r[R_AX] & size_mask(size), size);
    cpu_end_block(cpu); /* the device may have raised an interrupt */
}

/* eAX forms: 16 bits with a 16-bit operand size, else 32 (never 64). */
static inline unsigned io_vsize(const struct insn *in)
{
    return in->osz == 2 ? 2 : 4;
}

static inline uint16_t io_imm_port(const struct insn *in)
{
    return (uint16_t)(in->imm & 0xff);
}

void op_in_ALIb(struct cpu *cpu, const struct insn *in)
{
    io_in(cpu, io_imm_port(in), 1);
}

void op_in_eAXIb(struct cpu *cpu, const struct insn *in)
{
    io_in(cpu, io_imm_port(in), io_vsize(in));
}

void op_out_IbAL(struct cpu *cpu, const struct insn *in)
{
    io_out(cpu, io_imm_port(in), 1);
}

void op_out_IbeAX(struct cpu *cpu, const struct insn *in)
{
    io_out(cpu, io_imm_port(in), io_vsize(in));
}

void op_in_ALDX(struct cpu *cpu, const struct insn *in)
{
    io_in(cpu, (uint16_t)cpu->r[R_DX], 1);
}

void op_in_eAXDX(struct cpu *cpu, const struct insn *in)
{
    io_in(cpu, (uint16_t)cpu->r[R_DX], io_vsize(in));
}

void op_out_DXAL(struct cpu *cpu, const struct insn *in)
{
    io_out(cpu, (uint16_t)cpu->r[R_DX], 1);
}

void op_out_DXeAX(struct cpu *cpu, const struct insn *in)
{
    io_out(cpu, (uint16_t)cpu->r[R_DX], io_vsize(in));
}
