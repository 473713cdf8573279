/*
 * insn.h — decoded instructions and the opcode table format.
 *
 * The opcode table is the single source of truth for the instruction set:
 * every row of src/cpu/optable_*.def names one instruction form with
 *
 *     OP(map, opcode, selector, "mnemonic", handler, flags)
 *
 *   map       M1 (one-byte), M0F, M0F38, M0F3A
 *   selector  which encodings of (map, opcode) the row covers, an OR of
 *             ANY, R(n) (ModRM.reg == n), RM(n) (mod == 3 and ModRM.rm == n),
 *             MEM (mod != 3), REG (mod == 3), P_NONE/P_66/P_F3/P_F2 (the
 *             mandatory prefix, SDM Vol.2 2.1.2: last of F2/F3 if any, else
 *             66 if present, else none), W0/W1 (REX.W) and the modes O64
 *             (64-bit mode only) / I64 (invalid in 64-bit mode).
 *             The decoder picks the FIRST matching row; no row → #UD.
 *   handler   void op_xxx(struct cpu *, const struct insn *)
 *   flags     decode and policy facts: F_MODRM, one immediate kind
 *             (F_IB, F_IW, F_IZ, F_IV, F_IWB, F_AP, F_MOFFS), operand-size
 *             rules (F_D64 default 64-bit in long mode, F_F64 forced 64-bit),
 *             F_BYTE (8-bit operand form), F_BRANCH (ends a decoded block),
 *             F_LOCK (LOCK prefix allowed, else #UD), F_PRIV (CPL 0 only,
 *             else #GP(0)), F_SSE (needs CR4.OSFXSR, #UD/#NM rules),
 *             F_X87 (#NM when CR0.EM/TS), F_REP (honours REP prefixes),
 *             F_REGONLY (ModRM.mod ignored, SDM MOV CR/DR: "mod bits are ignored"),
 *             and EXIT(x): the VM-exit class of an instruction that exits
 *             unconditionally or under a processor-based control when run in
 *             VMX non-root operation (applied in one place, exec.c).
 */
#ifndef NESTVM_CPU_INSN_H
#define NESTVM_CPU_INSN_H

#include <stdint.h>
#include <unistd.h> /* defines F_LOCK for lockf(); ours replaces it below */

struct cpu;
struct insn;
typedef void op_fn(struct cpu *cpu, const struct insn *in);

/* Effective-address components (insn.base / insn.index). */
#define EA_NONE 0xff
#define EA_RIP 0xfe

struct insn {
    op_fn *fn;
    uint64_t imm;   /* immediate, sign-extended to 64 bits (F_IB/F_IZ/F_IW sign-extend;
                       handlers that need unsigned values mask with size_mask) */
    int32_t disp;   /* displacement, sign-extended */
    uint16_t imm2;  /* ENTER level (F_IWB), far pointer selector (F_AP) */
    uint16_t row;   /* index of the table row (mnemonic, flags, exit class) */
    uint8_t len;    /* instruction length in bytes */
    uint8_t osz;    /* operand size in bytes: 2, 4 or 8 (F_BYTE rows: still the
                       prefix-derived size; the handler knows it works on bytes) */
    uint8_t asz;    /* address size in bytes: 2, 4 or 8 */
    uint8_t seg;    /* segment of the memory operand (override or default) */
    uint8_t mod;    /* ModRM.mod (3 = register operand) */
    uint8_t reg;    /* ModRM.reg | REX.R << 3 */
    uint8_t rm;     /* ModRM.rm | REX.B << 3 (register form); opcode low 3 bits | REX.B
                       for +r opcodes (e.g. PUSH r64, MOV r, imm, BSWAP, XCHG) */
    uint8_t base;   /* base register, EA_NONE or EA_RIP */
    uint8_t index;  /* index register or EA_NONE */
    uint8_t scale;  /* index shift 0..3 */
    uint8_t rex;    /* REX byte, 0 if absent */
    uint8_t rep;    /* 0, 0xf3 (REP/REPE) or 0xf2 (REPNE) */
    uint8_t lock;   /* LOCK prefix present */
    uint8_t opc;    /* the opcode byte */
    uint8_t pfx66;  /* operand-size prefix present */
    uint8_t segovr; /* segment-override prefix present (SEG_NONE if not) */
};

/* ---- table encoding ---- */
enum { M1, M0F, M0F38, M0F3A };

#define ANY 0u
#define R(n) ((uint32_t)((n) + 1))             /* bits 0-3 */
#define RM(n) ((uint32_t)((n) + 1) << 4 | REG) /* bits 4-7, implies mod == 3 */
#define MEM (1u << 8)
#define REG (2u << 8)
#define P_NONE (1u << 10)
#define P_66 (2u << 10)
#define P_F3 (3u << 10)
#define P_F2 (4u << 10)
#define W0 (1u << 13)
#define W1 (2u << 13)
#define O64 (1u << 15)
#define I64 (1u << 16)

#define SEL_REG(s) ((s) & 0xf)
#define SEL_RM(s) (((s) >> 4) & 0xf)
#define SEL_MOD(s) (((s) >> 8) & 3)
#define SEL_PFX(s) (((s) >> 10) & 7)
#define SEL_W(s) (((s) >> 13) & 3)

/* flags */
#define F_MODRM (1u << 0)
#define F_IB (1u << 1)    /* imm8 */
#define F_IW (1u << 2)    /* imm16 */
#define F_IZ (1u << 3)    /* imm16 or imm32 by operand size (imm32 sign-extended for 64) */
#define F_IV (1u << 4)    /* imm16/32/64 by operand size (MOV r, imm) */
#define F_IWB (1u << 5)   /* imm16 then imm8 (ENTER) */
#define F_AP (1u << 6)    /* ptr16:16 / ptr16:32 (far JMP/CALL) */
#define F_MOFFS (1u << 7) /* moffs: address-size offset (MOV AL, [moffs]) */
#define F_D64 (1u << 8)   /* default operand size 64 in 64-bit mode (66 → 16) */
#define F_F64 (1u << 9)   /* operand size forced to 64 in 64-bit mode */
#define F_BYTE (1u << 10)
#define F_BRANCH (1u << 11)
#undef F_LOCK
#define F_LOCK (1u << 12)
#define F_PRIV (1u << 13)
#define F_SSE (1u << 14)
#define F_X87 (1u << 15)
#define F_REP (1u << 16)
#define F_REGONLY (1u << 17) /* ModRM.mod is ignored: always a register operand (MOV CR/DR) */
#define F_IMM_MASK (F_IB | F_IW | F_IZ | F_IV | F_IWB | F_AP | F_MOFFS)
#define EXIT(x) ((uint32_t)(x) << 24)
#define F_EXIT(f) ((f) >> 24)

/* VM-exit classes of instructions (handled by src/vmx when non-root). */
enum insn_exit {
    IX_NONE,
    IX_CPUID, IX_GETSEC, IX_HLT, IX_INVD, IX_INVLPG, IX_RDPMC, IX_RDTSC, IX_RSM,
    IX_VMCALL, IX_VMCLEAR, IX_VMLAUNCH, IX_VMPTRLD, IX_VMPTRST, IX_VMREAD,
    IX_VMRESUME, IX_VMWRITE, IX_VMXOFF, IX_VMXON, IX_MOV_CR, IX_MOV_DR, IX_IO,
    IX_RDMSR, IX_WRMSR, IX_MWAIT, IX_MONITOR, IX_PAUSE, IX_INVEPT, IX_RDTSCP,
    IX_INVVPID, IX_WBINVD, IX_XSETBV, IX_GDTR_IDTR, IX_LDTR_TR, IX_INVPCID,
    IX_RDRAND, IX_RDSEED, IX_VMFUNC, IX_XSAVES, IX_XRSTORS, IX_CLTS, IX_LMSW,
    IX_SMSW, IX_RDPID,
};

struct op_row {
    uint8_t map, opc;
    uint32_t sel;
    const char *name;
    op_fn *fn;
    uint32_t flags;
};

extern const struct op_row op_rows[];
extern const unsigned op_nrows;

/* ---- decoder (decode.c) ---- */

/* Decode one instruction from bytes[0..avail) for a CPU whose CS is 16-, 32-
 * or 64-bit (code_bits).  Returns the length (1..15) and fills *out;
 * DEC_UD for an undefined encoding (out->len still set when known),
 * DEC_MORE when more bytes are needed than 'avail', DEC_TOOLONG for > 15
 * bytes (#GP(0)).  Pure: touches no CPU state. */
#define DEC_UD (-1)
#define DEC_MORE (-2)
#define DEC_TOOLONG (-3)
int decode_insn(const uint8_t *bytes, int avail, int code_bits, struct insn *out);
void decode_init(void);
const struct op_row *insn_row(const struct insn *in);

/* Effective address (offset, before segmentation) of the memory operand. */
uint64_t insn_ea(const struct cpu *cpu, const struct insn *in);

#endif
