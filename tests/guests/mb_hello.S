/*
 * mb_hello.S — the smallest Multiboot test guest: checks the loader's
 * hand-over (EAX magic, EBX info with a command line), prints to COM1 and
 * reports through isa-debug-exit.  Exit status: 1 = pass ((0 << 1) | 1),
 * 3 = bad magic, 5 = no command line.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .section .text
    .code32
    .globl _start
    .align 4
mb_header:
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:
    mov $0x9f000, %esp
    cmp $0x2BADB002, %eax
    jne bad_magic
    testl $4, (%ebx)            /* flags.CMDLINE */
    jz no_cmdline
    mov $msg, %esi
    call puts
    mov 16(%ebx), %esi          /* cmdline */
    call puts
    mov $nl, %esi
    call puts
    xor %eax, %eax
    out %al, $0xf4
    hlt
bad_magic:
    mov $1, %al
    out %al, $0xf4
    hlt
no_cmdline:
    mov $2, %al
    out %al, $0xf4
    hlt
/* puts: ESI = NUL-terminated string → COM1, polling LSR.THRE */
puts:
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    lodsb
    test %al, %al
    jz 2f
    mov $0x3f8, %dx
    out %al, %dx
    jmp puts
2:  ret
    .section .rodata
msg: .asciz "mb_hello: multiboot guest running, cmdline: "
nl:  .asciz "\n"
