/*
 * dt_native.S — run a generated sequence natively.
 *
 * dt_native_enter saves the callee-saved registers and the host RSP in the
 * control page, loads RFLAGS and all 16 GPRs from DT_IN (RSP last) and
 * jumps to DT_CODE.  The generated code ends with "jmp [DT_RET_PTR]", which
 * lands on dt_native_exit; a fault in the generated code lands there too
 * (the SIGSEGV/SIGILL/SIGFPE handler in difftest.c redirects RIP).  The
 * exit path stores all GPRs and RFLAGS to DT_OUT, restores the host stack
 * and returns.  Only absolute addresses are used, so no register is needed
 * to reach the control page.  dt_native_enter32 does the same for code
 * that runs in 32-bit compatibility mode.
 */
#include "dt.h"

    .text
/* Save the host context and load every GPR and RFLAGS from DT_IN. */
.macro DT_LOAD
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, DT_HOST_RSP
    pushq DT_IN_FLAGS
    popfq
    mov DT_IN + 0 * 8, %rax
    mov DT_IN + 1 * 8, %rcx
    mov DT_IN + 2 * 8, %rdx
    mov DT_IN + 3 * 8, %rbx
    mov DT_IN + 5 * 8, %rbp
    mov DT_IN + 6 * 8, %rsi
    mov DT_IN + 7 * 8, %rdi
    mov DT_IN + 8 * 8, %r8
    mov DT_IN + 9 * 8, %r9
    mov DT_IN + 10 * 8, %r10
    mov DT_IN + 11 * 8, %r11
    mov DT_IN + 12 * 8, %r12
    mov DT_IN + 13 * 8, %r13
    mov DT_IN + 14 * 8, %r14
    mov DT_IN + 15 * 8, %r15
    mov DT_IN + 4 * 8, %rsp
.endm

    .globl dt_native_enter
    .type dt_native_enter, @function
dt_native_enter:
    DT_LOAD
    jmp *DT_CODE_PTR
    .size dt_native_enter, . - dt_native_enter

/* The same, entering the code in 32-bit compatibility mode through the far
 * pointer at DT_FARPTR (user CS 0x23); the generated code returns with a
 * far jump to CS 0x33 and a 64-bit trampoline that jumps to the exit. */
    .globl dt_native_enter32
    .type dt_native_enter32, @function
dt_native_enter32:
    mov $DT_USER_DS, %eax /* 64-bit processes run with null DS/ES */
    mov %eax, %ds
    mov %eax, %es
    DT_LOAD
    ljmp *DT_FARPTR
    .size dt_native_enter32, . - dt_native_enter32

    .globl dt_native_exit
    .type dt_native_exit, @function
dt_native_exit:
    mov %rax, DT_OUT + 0 * 8
    mov %rcx, DT_OUT + 1 * 8
    mov %rdx, DT_OUT + 2 * 8
    mov %rbx, DT_OUT + 3 * 8
    mov %rsp, DT_OUT + 4 * 8
    mov %rbp, DT_OUT + 5 * 8
    mov %rsi, DT_OUT + 6 * 8
    mov %rdi, DT_OUT + 7 * 8
    mov %r8, DT_OUT + 8 * 8
    mov %r9, DT_OUT + 9 * 8
    mov %r10, DT_OUT + 10 * 8
    mov %r11, DT_OUT + 11 * 8
    mov %r12, DT_OUT + 12 * 8
    mov %r13, DT_OUT + 13 * 8
    mov %r14, DT_OUT + 14 * 8
    mov %r15, DT_OUT + 15 * 8
    mov DT_HOST_RSP, %rsp
    pushfq
    popq DT_OUT_FLAGS
    cld
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .size dt_native_exit, . - dt_native_exit

    .section .note.GNU-stack, "", @progbits
