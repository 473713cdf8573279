#ifndef NESTVM_OPS_x87_H
#define NESTVM_OPS_x87_H
#include "cpu/cpu.h"
#include "cpu/insn.h"
#endif
