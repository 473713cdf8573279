/*
 * fastpath.c — picks a row's specialised handler for a decoded instruction
 * (see fastpath.h).  The families' struct op_special tables are matched to
 * opcode-table rows by their generic handler once, so the choice at decode
 * time is an array lookup and a few tests of the instruction's form.
 */
#include "cpu/fastpath.h"

#include <pthread.h>

static const struct op_special *const special_tables[] = {
    ops_alu_special,    ops_data_special,   ops_shift_special,
    ops_muldiv_special, ops_branch_special, ops_stack_special,
};

/* row index -> its entry, or NULL; filled once (rows are const). */
static const struct op_special *row_special[4096];
static pthread_once_t special_once = PTHREAD_ONCE_INIT;

static void special_index(void)
{
    for (unsigned i = 0; i < op_nrows && i < 4096; i++)
        for (unsigned t = 0; t < sizeof special_tables / sizeof special_tables[0]; t++)
            for (const struct op_special *s = special_tables[t]; s->generic; s++)
                if (s->generic == op_rows[i].fn && !row_special[i])
                    row_special[i] = s;
}

/* AH, CH, DH, BH are byte registers 4-7 without a REX prefix; the variants
 * only handle the low-byte registers. */
static bool low_byte_reg(const struct insn *in, unsigned r)
{
    return in->rex || r < 4;
}

op_fn *insn_specialise(const struct cpu *cpu, const struct insn *in)
{
    pthread_once(&special_once, special_index);
    if (in->row >= 4096 || in->lock)
        return NULL;
    const struct op_special *s = row_special[in->row];
    if (!s)
        return NULL;
    if (s->pick)
        return s->pick(s, cpu, in);
    if (!(insn_row(in)->flags & F_MODRM))
        return NULL; /* the slots describe ModRM operand forms */
    unsigned slot;
    if (s->flags & SP_ANYSZ)
        slot = 0;
    else if (in->osz == 8)
        slot = 0;
    else if (in->osz == 4)
        slot = 1;
    else
        return NULL;
    if (in->mod == 3) {
        if ((s->flags & SP_RM8) && !low_byte_reg(in, in->rm))
            return NULL;
        if ((s->flags & SP_REG8) && !low_byte_reg(in, in->reg))
            return NULL;
        return s->reg[slot];
    }
    if (!cpu->code64 || in->asz != 8)
        return NULL;
    if ((s->flags & SP_REG8) && !low_byte_reg(in, in->reg))
        return NULL;
    return s->mem[slot];
}

op_fn *sp_pick_osz(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    return in->osz == 8 ? s->reg[0] : in->osz == 4 ? s->reg[1] : NULL;
}

op_fn *sp_pick_code64(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    return cpu->code64 ? s->reg[0] : NULL;
}
