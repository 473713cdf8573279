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
#define COM1      0x3f8
#define EXIT_PORT 0xf4
#define MSR_EFER  0xc0000080
#define EFER_LME  (1 << 8)
#define EFER_LMA  (1 << 10)
#define CR0_PE    1
#define CR0_PG    0x80000000
#define CR4_PAE   (1 << 5)
#define SEL_CODE32 0x08
#define SEL_DATA   0x10
#define SEL_CODE64 0x18

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
        cli
        cld
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x1000, %sp
        mov $msg_real, %si
        call puts16

        lgdtl gdt_desc
        mov %cr0, %eax
        or $CR0_PE, %eax
        mov %eax, %cr0
        ljmpl $SEL_CODE32, $pm32

puts16:
        PUTS_BODY

        .code32
pm32:
        mov $SEL_DATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $0x1000, %esp
        mov $msg_prot, %esi
        call puts32

        mov %cr4, %eax
        or $CR4_PAE, %eax
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $MSR_EFER, %ecx
        rdmsr
        or $EFER_LME, %eax
        wrmsr
        mov %cr0, %eax
        or $CR0_PG, %eax
        mov %eax, %cr0
        ljmp $SEL_CODE64, $lm64

puts32:
        PUTS_BODY

        .code64
lm64:
        mov $SEL_DATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
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

        .balign 8
gdt:
        .long 0, 0                      /* null */
        .long 0x0000ffff, 0x00cf9a00    /* 0x08 code, 32-bit, base 0, 4 GiB */
        .long 0x0000ffff, 0x00cf9200    /* 0x10 data, base 0, 4 GiB */
        .long 0x0000ffff, 0x00af9a00    /* 0x18 code, 64-bit (L=1, D=0) */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt

/* identity map of 0-2 MiB: PML4[0] -> PDPT[0] -> PD[0] = 2 MiB page (PS) */
        .balign 4096
pml4:   .long pdpt + 3, 0
        .fill 4096 - 8, 1, 0
pdpt:   .long pd + 3, 0
        .fill 4096 - 8, 1, 0
pd:     .long 0x83, 0                   /* present, writable, PS */
        .fill 4096 - 8, 1, 0
