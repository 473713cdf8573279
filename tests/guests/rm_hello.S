/*
 * rm_hello.S — a Multiboot test guest that leaves protected mode and runs
 * in 16-bit real mode, as a boot sector under a BIOS would: through a
 * 16-bit protected-mode code segment, CR0.PE cleared, far jump to a
 * real-mode segment (Intel SDM Vol. 3A 9.9.2 "Switching Back to
 * Real-Address Mode").  In real mode it prints on COM1 with plain OUT and
 * with REP OUTSB, reads the LSR with REP INSB, takes a software interrupt
 * through the real-mode IVT, and takes three 8254 PIT interrupts through
 * the 8259A PIC while halted (8259A datasheet: ICW1-ICW4 initialisation;
 * 8254 datasheet: control word 0x34 = counter 0, LSB then MSB, mode 2).
 * Exit through isa-debug-exit: status 1 = pass, 3 = INT 30h did not run,
 * 5 = REP INSB read something else than IN.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .set RM_SEG, 0x1000         /* the real-mode code runs at 0x10000 */
    .set COM1, 0x3f8

    .section .text
    .code32
    .globl _start
    .align 4
mb_header:
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:
    cli
    mov $0x9f000, %esp
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    /* copy the 16-bit part below 1 MiB */
    mov $rm_start, %esi
    mov $(RM_SEG << 4), %edi
    mov $(rm_end - rm_start), %ecx
    cld
    rep movsb
    ljmp $0x18, $0              /* 16-bit code segment based at 0x10000 */

    .align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff    /* 0x10: 32-bit data, flat */
    .quad 0x00009a010000ffff    /* 0x18: 16-bit code, base 0x10000, limit 64 KiB */
    .quad 0x000092000000ffff    /* 0x20: 16-bit data, base 0, limit 64 KiB */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt

/* ---- everything below runs at RM_SEG:(label - rm_start) ---- */
    .code16
rm_start:
    mov $0x20, %ax              /* real-mode-compatible limits in the hidden parts */
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov %cr0, %eax
    and $0xfffffffe, %eax       /* clear PE */
    mov %eax, %cr0
    ljmp $RM_SEG, $(rm_real - rm_start)
rm_real:
    xor %ax, %ax
    mov %ax, %ss
    mov $0x7000, %sp
    mov $RM_SEG, %ax
    mov %ax, %ds
    lidt rm_idtr - rm_start
    /* IVT (segment 0): INT 30h and IRQ 0 at vector 8 */
    xor %ax, %ax
    mov %ax, %es
    movw $(int30 - rm_start), %es:0x30 * 4
    movw $RM_SEG, %es:0x30 * 4 + 2
    movw $(irq0 - rm_start), %es:0x08 * 4
    movw $RM_SEG, %es:0x08 * 4 + 2
    mov $RM_SEG, %ax
    mov %ax, %es

    mov $(msg_real - rm_start), %si
    call puts16

    /* REP OUTSB */
    mov $(msg_outs - rm_start), %si
    mov $(msg_outs_end - msg_outs), %cx
    mov $COM1, %dx
    cld
    rep outsb

    /* REP INSB of the LSR equals a plain IN */
    mov $(COM1 + 5), %dx
    in %dx, %al
    mov %al, %bl
    mov $(inbuf - rm_start), %di
    mov $4, %cx
    rep insb
    mov $(inbuf - rm_start), %si
    mov $4, %cx
1:  lodsb
    cmp %bl, %al
    jne fail_ins
    loop 1b
    mov $(msg_ins - rm_start), %si
    call puts16

    /* software interrupt through the IVT */
    int $0x30
    cmpb $1, int30_ran - rm_start
    jne fail_int
    mov $(msg_int - rm_start), %si
    call puts16

    /* 8259A: master at vectors 8-15, slave at 0x70, only IRQ 0 unmasked */
    mov $0x11, %al
    out %al, $0x20
    mov $0x08, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0x11, %al
    out %al, $0xa0
    mov $0x70, %al
    out %al, $0xa1
    mov $0x02, %al
    out %al, $0xa1
    mov $0x01, %al
    out %al, $0xa1
    mov $0xff, %al
    out %al, $0xa1
    mov $0xfe, %al
    out %al, $0x21
    /* 8254 counter 0, mode 2, divisor 1193 (about 1 kHz) */
    mov $0x34, %al
    out %al, $0x43
    mov $(1193 & 0xff), %al
    out %al, $0x40
    mov $(1193 >> 8), %al
    out %al, $0x40
    sti
2:  hlt
    cmpb $3, ticks - rm_start
    jb 2b
    cli
    mov $0xff, %al              /* mask the PIT again */
    out %al, $0x21
    mov $(msg_irq - rm_start), %si
    call puts16

    mov $(msg_done - rm_start), %si
    call puts16
    xor %al, %al
    out %al, $0xf4
3:  cli
    hlt
    jmp 3b

fail_int:
    mov $1, %al
    jmp fail
fail_ins:
    mov $2, %al
fail:
    out %al, $0xf4
    cli
    hlt

int30:
    movb $1, %cs:int30_ran - rm_start
    iret

irq0:
    push %ax
    incb %cs:ticks - rm_start
    mov $0x20, %al              /* non-specific EOI */
    out %al, $0x20
    pop %ax
    iret

/* puts16: DS:SI = NUL-terminated string → COM1, polling LSR.THRE */
puts16:
    mov $(COM1 + 5), %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    lodsb
    test %al, %al
    jz 2f
    mov $COM1, %dx
    out %al, %dx
    jmp puts16
2:  ret

rm_idtr:
    .word 0x3ff
    .long 0
int30_ran: .byte 0
ticks: .byte 0
inbuf: .long 0
msg_real: .asciz "rm_hello: real mode\n"
msg_outs: .ascii "rm_hello: rep outsb\n"
msg_outs_end:
msg_ins: .asciz "rm_hello: rep insb\n"
msg_int: .asciz "rm_hello: int 30h through the IVT\n"
msg_irq: .asciz "rm_hello: 3 PIT interrupts through the 8259A\n"
msg_done: .asciz "rm_hello: done\n"
rm_end:
