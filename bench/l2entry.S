/*
 * l2entry.S — entry of the L2 benchmark image bench/l2bench.bin (`make bench`
 * item (d)): a flat binary loaded at 0x1000 by tests/nested/l2launch and
 * entered in real mode at 0000:1000, with the number of rounds in EDI
 * (l2launch -a ROUNDS).
 *
 *   real mode        LGDT, CR0.PE=1, far jump                     (SDM 3A 10.9.1)
 *   protected mode   CR4.PAE, CR3 = identity map of 0-2 MiB (one 2 MiB page),
 *                    EFER.LME, CR0.PG, far jump to 64-bit code     (SDM 3A 10.8.5)
 *   long mode        SSE on (CR0.MP, CR4.OSFXSR/OSXMMEXCPT), .bss cleared, stack
 *                    at the top of .bss, l2main(rounds) (bench/l2main.c: the
 *                    same bench_work() object as L1's cpubench, result printed
 *                    on COM1), then HLT: l2launch exits 0.
 * EDI is left untouched from reset to the call (RDMSR/WRMSR use EAX/ECX/EDX).
 *
 * Assembled as 64-bit ELF (as --64, with .code16/.code32 sections of code) and
 * linked by bench/l2bench.ld at 0x1000 together with work.o and l2main.o.
 */
#define MSR_EFER   0xc0000080
#define EFER_LME   (1 << 8)
#define CR0_PE     1
#define CR0_MP     2
#define CR0_EM     4
#define CR0_PG     0x80000000
#define CR4_PAE    (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define SEL_CODE32 0x08
#define SEL_DATA   0x10
#define SEL_CODE64 0x18

        .section .text.entry, "ax"
        .globl _start
        .code16
_start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        lgdtl gdt_desc
        mov %cr0, %eax
        or $CR0_PE, %eax
        mov %eax, %cr0
        ljmpl $SEL_CODE32, $pm32

        .code32
pm32:
        mov $SEL_DATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
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

        .code64
lm64:
        mov $SEL_DATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %edi, %ebx                  /* rounds (zero-extended) */
        mov %cr0, %rax
        and $~CR0_EM, %rax
        or $CR0_MP, %rax
        mov %rax, %cr0
        mov %cr4, %rax
        or $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
        mov %rax, %cr4
        mov $__bss_start, %edi
        mov $__bss_end, %ecx
        sub %edi, %ecx
        xor %eax, %eax
        rep stosb
        mov $l2_stack_top, %esp
        mov %ebx, %edi
        call l2main
1:      hlt
        jmp 1b

        .section .data
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
pml4:   .quad pdpt + 3
        .fill 4096 - 8, 1, 0
pdpt:   .quad pd + 3
        .fill 4096 - 8, 1, 0
pd:     .quad 0x83                      /* present, writable, PS */
        .fill 4096 - 8, 1, 0

        .section .bss
        .balign 16
l2_stack:
        .skip 65536
l2_stack_top:

        .section .note.GNU-stack, "", @progbits
