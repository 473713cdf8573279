/*
 * spin.S — a Multiboot test guest that never stops: it prints one line,
 * then spins with interrupts off (cmdline "halt": halts with interrupts
 * off instead).  The engine must still honour --timeout (exit status 125):
 * on KVM the timer thread's machine_stop has to kick the vCPU out of
 * KVM_RUN, which never returns on its own here.
 */
    .include "mb_start.inc"
    MB_START_PRINT
    mov 16(%ebx), %esi           /* Multiboot info: cmdline */
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
