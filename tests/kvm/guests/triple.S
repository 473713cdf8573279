/*
 * triple.S — a Multiboot test guest that triple-faults on purpose: an
 * empty IDT (limit 0), then UD2 (triple_int3.S: INT3).  The #UD cannot
 * be delivered (#GP), nor can the #GP (#DF), nor the #DF: shutdown
 * (Intel SDM Vol. 3A 6.15, interrupt 8 "Double Fault": a fault during #DF
 * delivery shuts the processor down).  Both engines must end with exit status 124.
 */
    .include "mb_start.inc"
    MB_START_PRINT
    lidt idtr
    ud2
    mov $7, %al                 /* not reached: status 15 */
    out %al, $0xf4
    hlt
    .data
idtr: .word 0
    .long 0
msg: .asciz "triple: about to fault\n"
