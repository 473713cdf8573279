/*
 * exec_mmio.S — a Multiboot test guest that jumps into MMIO space where
 * no RAM is (0xd0000000, the virtio-mmio window, with no disk attached).
 * KVM cannot fetch instructions from MMIO: KVM_RUN returns
 * KVM_EXIT_INTERNAL_ERROR (emulation failure) and the engine must print
 * one line with the guest's CS:RIP and exit with status 126 — never hang.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .text
    .code32
    .globl _start
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:
    mov $0x9f000, %esp
    mov $msg, %esi
    mov $0x3f8, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  mov $0xd0000000, %eax
    jmp *%eax
    .data
msg: .asciz "exec_mmio: jumping to 0xd0000000\n"
