#ifndef NESTVM_OPS_seg_H
#define NESTVM_OPS_seg_H
#include "cpu/cpu.h"
#include "cpu/insn.h"
#endif
