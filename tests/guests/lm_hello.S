/*
 * nestvm-guest: long64
 * nestvm-guest: expect-status 1
 * nestvm-guest: expect-output lm_hello: done
 *
 * lm_hello.S — a 64-bit ELF test guest (entered in long mode by the ELF64
 * loader) that exercises what differs between CPU engines and must not:
 * string port I/O (REP OUTSB / REP INSB), an exception through a 64-bit
 * IDT (#UD from UD2), an MMIO read that reaches the machine's bus (virtio-
 * mmio magic with a --disk, open bus 0xffffffff without), the IOAPIC
 * version register, and a local APIC timer interrupt waking HLT.  Prints
 * on COM1, exits through isa-debug-exit: status 1 = pass, 3.. = a step
 * failed (see the fail_* codes).
 */
    .set COM1, 0x3f8
    .set LAPIC, 0xfee00000
    .set IOAPIC, 0xfec00000
    .set TIMER_VEC, 0x40

    .text
    .code64
    .globl _start
_start:
    lea stack_top(%rip), %rsp
    lea msg_hello(%rip), %rsi
    mov $(msg_hello_end - msg_hello), %ecx
    call outs

    /* IDT: #UD (6) and the LAPIC timer vector, 64-bit interrupt gates
     * (SDM Vol. 3A 6.14.1) with the code selector we run on. */
    lea ud_handler(%rip), %rax
    mov $6, %edi
    call set_gate
    lea timer_handler(%rip), %rax
    mov $TIMER_VEC, %edi
    call set_gate
    lidt idt_desc(%rip)
    ud2
    cmpl $1, ud_count(%rip)
    jne fail_ud
    lea msg_ud(%rip), %rsi
    call puts

    /* REP INSB: four reads of the line status register, each equal to a
     * plain IN (transmitter idle: THRE|TEMT). */
    mov $(COM1 + 5), %dx
    in %dx, %al
    mov %al, %bl
    lea inbuf(%rip), %rdi
    mov $4, %ecx
    cld
    rep insb
    lea inbuf(%rip), %rsi
    mov $4, %ecx
1:  lodsb
    cmp %bl, %al
    jne fail_ins
    loop 1b
    lea msg_ins(%rip), %rsi
    call puts
    movzbl %bl, %edi
    call print_hex
    call newline

    /* MMIO through the bus: the first virtio-mmio transport. */
    lea msg_mmio(%rip), %rsi
    call puts
    mov $0xd0000000, %eax
    mov (%rax), %edi
    call print_hex
    call newline

    /* IOAPIC version register (82093AA 3.2.2): index 1 through IOREGSEL. */
    mov $IOAPIC, %eax
    movl $1, (%rax)
    mov 0x10(%rax), %edi
    and $0x00ff00ff, %edi      /* max redirection entry and version */
    lea msg_ioapic(%rip), %rsi
    call puts
    call print_hex
    call newline

    /* LAPIC timer, one-shot, divide by 1 (SDM Vol. 3A 11.5.4). */
    mov $LAPIC, %eax
    movl $0x1ff, 0xf0(%rax)             /* SVR: enabled, spurious 0xff */
    movl $0xb, 0x3e0(%rax)              /* divide configuration: by 1 */
    movl $TIMER_VEC, 0x320(%rax)        /* LVT timer: one-shot, unmasked */
    movl $100000, 0x380(%rax)           /* initial count */
    sti
2:  hlt
    cmpl $0, timer_count(%rip)
    je 2b
    cli
    lea msg_timer(%rip), %rsi
    call puts

    lea msg_done(%rip), %rsi
    call puts
    xor %eax, %eax
    out %al, $0xf4
3:  cli
    hlt
    jmp 3b

fail_ud:
    mov $1, %al
    jmp fail
fail_ins:
    mov $2, %al
fail:
    out %al, $0xf4
    cli
    hlt

/* set_gate: EDI = vector, RAX = handler */
set_gate:
    lea idt(%rip), %rdx
    shl $4, %edi
    add %rdi, %rdx
    mov %ax, (%rdx)                 /* offset 15:0 */
    mov %cs, %cx
    mov %cx, 2(%rdx)                /* selector */
    movw $0x8e00, 4(%rdx)           /* P, DPL 0, 64-bit interrupt gate */
    shr $16, %rax
    mov %ax, 6(%rdx)                /* offset 31:16 */
    shr $16, %rax
    mov %eax, 8(%rdx)               /* offset 63:32 */
    movl $0, 12(%rdx)
    ret

ud_handler:
    incl ud_count(%rip)
    addq $2, (%rsp)                 /* skip UD2 */
    iretq

timer_handler:
    push %rax
    incl timer_count(%rip)
    mov $LAPIC, %eax
    movl $0, 0xb0(%rax)             /* EOI */
    pop %rax
    iretq

/* outs: RSI, ECX bytes → COM1 with REP OUTSB */
outs:
    mov $COM1, %dx
    cld
    rep outsb
    ret

/* puts: RSI = NUL-terminated string → COM1, polling LSR.THRE */
puts:
    push %rdx
1:  mov $(COM1 + 5), %dx
2:  in %dx, %al
    test $0x20, %al
    jz 2b
    lodsb
    test %al, %al
    jz 3f
    mov $COM1, %dx
    out %al, %dx
    jmp 1b
3:  pop %rdx
    ret

/* print_hex: EDI as 8 hex digits */
print_hex:
    mov $8, %ecx
1:  rol $4, %edi
    mov %edi, %eax
    and $0xf, %eax
    lea hexdigits(%rip), %rsi
    mov (%rsi,%rax), %al
    mov $COM1, %dx
    out %al, %dx
    loop 1b
    ret

newline:
    mov $'\n', %al
    mov $COM1, %dx
    out %al, %dx
    ret

    .section .rodata
msg_hello: .ascii "lm_hello: 64-bit guest running\n"
msg_hello_end:
msg_ud:    .asciz "lm_hello: #UD handled\n"
msg_ins:   .asciz "lm_hello: rep insb LSR "
msg_mmio:  .asciz "lm_hello: mmio 0xd0000000 "
msg_ioapic: .asciz "lm_hello: ioapic version "
msg_timer: .asciz "lm_hello: lapic timer interrupt\n"
msg_done:  .asciz "lm_hello: done\n"
hexdigits: .ascii "0123456789abcdef"

    .data
    .align 16
idt_desc:
    .word 256 * 16 - 1
    .quad idt
ud_count: .long 0
timer_count: .long 0
inbuf: .quad 0

    .bss
    .align 16
idt: .skip 256 * 16
    .skip 8192
stack_top:
