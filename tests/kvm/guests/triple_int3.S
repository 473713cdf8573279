/*
 * triple_int3.S — triple.S with a software interrupt: an empty IDT
 * (limit 0), then INT3.  The #BP cannot be delivered (#GP), nor
 * can the #GP (#DF), nor the #DF: shutdown (Intel SDM Vol. 3A 6.15,
 * interrupt 8 "Double Fault": a fault during #DF delivery shuts the
 * processor down).  Both engines must end with exit status 124 —
 * except kvm_pvm, whose instruction emulator fails on the INT3 instead
 * (KVM_EXIT_INTERNAL_ERROR, emulation failure); tests/kvm/guests.sh
 * reports that as a SKIP with the reason.
 */
    .include "mb_start.inc"
    MB_START_PRINT
    lidt idtr
    int3
    mov $7, %al                 /* not reached: status 15 */
    out %al, $0xf4
    hlt
    .data
idtr: .word 0
    .long 0
msg: .asciz "triple_int3: about to fault\n"
