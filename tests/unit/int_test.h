/*
 * int_test.h — small helpers shared by the integer-instruction tests
 * (test_alu.c, test_shift.c, test_muldiv.c, test_bit.c, test_data.c).
 *
 * Code arrays end in HLT; RUN_OK checks the run stopped there, RUN_FAULT
 * that it stopped with the given exception (RIP at the faulting insn).
 */
#ifndef NESTVM_TEST_INT_TEST_H
#define NESTVM_TEST_INT_TEST_H

#include "cpu_harness.h"
#include "test.h"

#define RUN_OK(t, code) CHECK_EQ(th_run((t), (code), sizeof(code)), TH_HALT)

#define RUN_FAULT(t, code, vec)                                              \
    do {                                                                     \
        CHECK_EQ(th_run((t), (code), sizeof(code)), TH_EXCEPTION);           \
        CHECK_EQ((t)->vector, (vec));                                        \
    } while (0)

/* Arithmetic flags (CF PF AF ZF SF OF) after a run. */
static inline uint64_t th_arith(struct th *t)
{
    return cpu_get_rflags(&t->cpu) & FL_ARITH;
}

/* Set every arithmetic flag to the given bits (others keep their value). */
static inline void th_set_arith(struct th *t, uint64_t fl)
{
    cpu_set_rflags(&t->cpu, (cpu_get_rflags(&t->cpu) & ~(uint64_t)FL_ARITH) | fl);
}

#endif
