/* Temporary weak stand-in until intr.c lands (removed then). */
#include "cpu/exec.h"

__attribute__((weak)) void cpu_deliver(struct cpu *cpu, int vector, enum event_kind kind,
                                       uint32_t error)
{
    cpu->state = CPU_SHUTDOWN;
}
