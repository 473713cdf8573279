/*
 * l2guest.S — the L2 guest of nestvm's nested-virtualization test.
 *
 * A flat binary loaded at 0x1000 by l2launch and entered in real mode at
 * 0000:1000.  Every byte it prints is one OUT to COM1 (0x3f8), i.e. one VM
 * exit from L2 to L1 KVM and from there one exit to l2launch.
 *
 *   real mode        print "L2-GUEST-MARKER: hello from L2"
 *                    LGDT, CR0.PE=1, far jump                    (SDM 3A 10.9.1)
 *   protected mode   print "L2-GUEST: protected mode ok"
 *                    CR4.PAE, CR3 = identity map of 0-2 MiB (one 2 MiB page),
 *                    EFER.LME via WRMSR, CR0.PG, far jump to a 64-bit
 *                    code segment                                (SDM 3A 10.8.5)
 *   long mode        check EFER.LMA and that a 64-bit register keeps its
 *                    upper half, print "L2-GUEST: long mode ok", execute
 *                    CPUID 0 (always exits to L1) and print the vendor,
 *                    print "L2-GUEST: done", write 0 to port 0xf4, HLT.
 * A failed check prints "L2-GUEST: FAIL ..." and writes 1 to port 0xf4.
 *
 * Build (tests/nested/build.sh): as --32; ld -m elf_i386 -Ttext=0x1000;
 * objcopy -O binary.  Stack: 0x0-0xfff (below the image).
 */
#include "l2mode.inc"

#define COM1      0x3f8
#define EXIT_PORT 0xf4

/* print the NUL-terminated string at (e)si/rsi to COM1, one OUT per byte */
.macro PUTS_BODY
        mov $COM1, %dx
1:      lodsb
        test %al, %al
        jz 2f
        out %al, %dx
        jmp 1b
2:      ret
.endm

        .text
        .globl _start
        .code16
_start:
        REAL_MODE_START
        mov $0x1000, %sp
        mov $msg_real, %si
        call puts16

        ENTER_PROTECTED_MODE pm32

puts16:
        PUTS_BODY

        .code32
pm32:
        LOAD_DATA_SEGMENTS
        mov $0x1000, %esp
        mov $msg_prot, %esi
        call puts32

        ENTER_LONG_MODE lm64

puts32:
        PUTS_BODY

        .code64
lm64:
        LOAD_DATA_SEGMENTS
        mov $0x1000, %esp

        /* EFER.LMA must be set now (SDM 3A 10.8.5) */
        mov $MSR_EFER, %ecx
        rdmsr
        test $EFER_LMA, %eax
        mov $msg_fail_lma, %esi
        jz fail
        /* a full 64-bit register: only true in 64-bit mode, not compatibility mode */
        movabs $0x1122334455667788, %rax
        shr $32, %rax
        cmp $0x11223344, %eax
        mov $msg_fail_64, %esi
        jne fail
        mov $msg_long, %esi
        call puts64

        /* CPUID leaf 0: vendor string is EBX, EDX, ECX */
        xor %eax, %eax
        xor %ecx, %ecx
        cpuid
        mov $vendor, %edi               /* absolute 32-bit addresses: as --32 has no 32S reloc */
        mov %ebx, (%rdi)
        mov %edx, 4(%rdi)
        mov %ecx, 8(%rdi)
        mov $msg_cpuid, %esi
        call puts64
        mov $vendor, %esi
        call puts64
        mov $msg_nl, %esi
        call puts64

        mov $msg_done, %esi
        call puts64
        xor %eax, %eax
        out %al, $EXIT_PORT
        hlt
        jmp .

fail:   /* rsi = reason */
        push %rsi
        mov $msg_fail, %esi
        call puts64
        pop %rsi
        call puts64
        mov $1, %al
        out %al, $EXIT_PORT
        hlt
        jmp .

puts64:
        PUTS_BODY

msg_real:     .asciz "L2-GUEST-MARKER: hello from L2\n"
msg_prot:     .asciz "L2-GUEST: protected mode ok\n"
msg_long:     .asciz "L2-GUEST: long mode ok\n"
msg_cpuid:    .asciz "L2-GUEST: cpuid vendor="
msg_nl:       .asciz "\n"
msg_done:     .asciz "L2-GUEST: done\n"
msg_fail:     .asciz "L2-GUEST: FAIL "
msg_fail_lma: .asciz "EFER.LMA clear after enabling paging\n"
msg_fail_64:  .asciz "64-bit register truncated\n"
vendor:       .fill 13, 1, 0

        L2_GDT_AND_PAGE_TABLES
