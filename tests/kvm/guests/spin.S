/*
 * spin.S — a Multiboot test guest that never stops: it prints one line,
 * then spins with interrupts off (cmdline "halt": halts with interrupts
 * off instead).  The engine must still honour --timeout (exit status 125):
 * on KVM the timer thread's machine_stop has to kick the vCPU out of
 * KVM_RUN, which never returns on its own here.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .text
    .code32
    .globl _start
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:
    cli
    mov $0x9f000, %esp
    mov $msg, %esi
    mov $0x3f8, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  mov 16(%ebx), %esi           /* Multiboot info: cmdline */
    testl $4, (%ebx)
    jz spin
3:  lodsb                        /* look for an 'h' in the command line */
    test %al, %al
    jz spin
    cmp $'h', %al
    jne 3b
halt:
    hlt
    jmp halt
spin:
    jmp spin
    .data
msg: .asciz "spin: running forever\n"
