#ifndef NESTVM_OPS_sse_H
#define NESTVM_OPS_sse_H
#include "cpu/cpu.h"
#include "cpu/insn.h"
#endif
