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
#include "../tests/nested/l2mode.inc"

        .section .text.entry, "ax"
        .globl _start
        .code16
_start:
        REAL_MODE_START
        ENTER_PROTECTED_MODE pm32

        .code32
pm32:
        LOAD_DATA_SEGMENTS
        ENTER_LONG_MODE lm64

        .code64
lm64:
        LOAD_DATA_SEGMENTS
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
        L2_GDT_AND_PAGE_TABLES

        .section .bss
        .balign 16
l2_stack:
        .skip 65536
l2_stack_top:

        .section .note.GNU-stack, "", @progbits
