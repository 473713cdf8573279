#ifndef NESTVM_OPS_sys_H
#define NESTVM_OPS_sys_H
#include "cpu/cpu.h"
#include "cpu/insn.h"
#endif
