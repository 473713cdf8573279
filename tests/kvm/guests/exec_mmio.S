/*
 * exec_mmio.S — a Multiboot test guest that jumps into MMIO space where
 * no RAM is (0xd0000000, the virtio-mmio window, with no disk attached).
 * KVM cannot fetch instructions from MMIO: KVM_RUN returns
 * KVM_EXIT_INTERNAL_ERROR (emulation failure) and the engine must print
 * one line with the guest's CS:RIP and exit with status 126 — never hang.
 */
    .include "mb_start.inc"
    MB_START_PRINT
    mov $0xd0000000, %eax
    jmp *%eax
    .data
msg: .asciz "exec_mmio: jumping to 0xd0000000\n"
