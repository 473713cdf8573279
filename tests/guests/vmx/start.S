/*
 * start.S — entry point, exception/interrupt stubs, context save/restore,
 * the VM-entry/VM-exit trampoline, and the L2 code that cannot be written
 * in C (64-bit entry stub, the real-mode blob, the 32-bit protected-mode
 * code).
 *
 * nestvm's ELF64 loader enters _start in 64-bit mode with paging on (identity
 * map of 4 GiB), interrupts off and RSI pointing at a Linux zero page.
 */
#define VMCALL_DONE 0x444f4e45

    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    cli
    lea stack+65536(%rip), %rsp
    mov %rsi, boot_params(%rip)
    call kmain
1:  hlt
    jmp 1b

/* ---- 256 interrupt stubs, 16 bytes apart (desc.c builds the IDT from
 * isr_stubs + 16 * vector).  Vectors that push an error code (SDM Vol.3
 * 6.13: 8, 10-14, 17, 21, 29, 30) skip the dummy push. ---- */
    .text
    .p2align 4
    .globl isr_stubs
isr_stubs:
    vector = 0
    .rept 256
    .p2align 4
    .if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp isr_common
    vector = vector + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call exc_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

/* ---- int ctx_save(struct jmpctx *) / ctx_restore(struct jmpctx *, int) ---- */
    .globl ctx_save
ctx_save:
    mov %rbx, 0(%rdi)
    mov %rbp, 8(%rdi)
    mov %r12, 16(%rdi)
    mov %r13, 24(%rdi)
    mov %r14, 32(%rdi)
    mov %r15, 40(%rdi)
    lea 8(%rsp), %rax
    mov %rax, 48(%rdi)
    mov (%rsp), %rax
    mov %rax, 56(%rdi)
    xor %eax, %eax
    ret

    .globl ctx_restore
ctx_restore:
    mov 0(%rdi), %rbx
    mov 8(%rdi), %rbp
    mov 16(%rdi), %r12
    mov 24(%rdi), %r13
    mov 32(%rdi), %r14
    mov 40(%rdi), %r15
    mov 48(%rdi), %rsp
    mov %esi, %eax
    jmp *56(%rdi)

/* ---- int vmx_enter(int launch)
 * Loads L2's general registers from g_regs (hardware register numbering,
 * RSP slot unused: RSP comes from the VMCS) and executes VMLAUNCH (launch
 * != 0) or VMRESUME.  Returns 0 after a VM exit (vmx_exit_host, the
 * HOST_RIP), 1 on VMfailInvalid, 2 on VMfailValid, 3 if the instruction
 * fell through reporting success (never architecturally valid). ---- */
    .globl vmx_enter, vmx_exit_host
vmx_enter:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov $0x6c14, %eax           /* HOST_RSP */
    vmwrite %rsp, %rax
    movl $1, cur_in_l2(%rip)
    test %edi, %edi
    mov g_regs+8(%rip), %rcx
    mov g_regs+16(%rip), %rdx
    mov g_regs+24(%rip), %rbx
    mov g_regs+40(%rip), %rbp
    mov g_regs+48(%rip), %rsi
    mov g_regs+56(%rip), %rdi
    mov g_regs+64(%rip), %r8
    mov g_regs+72(%rip), %r9
    mov g_regs+80(%rip), %r10
    mov g_regs+88(%rip), %r11
    mov g_regs+96(%rip), %r12
    mov g_regs+104(%rip), %r13
    mov g_regs+112(%rip), %r14
    mov g_regs+120(%rip), %r15
    mov g_regs+0(%rip), %rax
    jz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  movl $0, cur_in_l2(%rip)
    mov $1, %eax
    jc 3f
    mov $2, %eax
    jz 3f
    mov $3, %eax
3:  pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

vmx_exit_host:
    movl $0, cur_in_l2(%rip)
    mov %rax, g_regs+0(%rip)
    mov %rcx, g_regs+8(%rip)
    mov %rdx, g_regs+16(%rip)
    mov %rbx, g_regs+24(%rip)
    mov %rbp, g_regs+40(%rip)
    mov %rsi, g_regs+48(%rip)
    mov %rdi, g_regs+56(%rip)
    mov %r8, g_regs+64(%rip)
    mov %r9, g_regs+72(%rip)
    mov %r10, g_regs+80(%rip)
    mov %r11, g_regs+88(%rip)
    mov %r12, g_regs+96(%rip)
    mov %r13, g_regs+104(%rip)
    mov %r14, g_regs+112(%rip)
    mov %r15, g_regs+120(%rip)
    pushfq
    pop %rax
    mov %rax, host_rflags_at_exit(%rip)
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    xor %eax, %eax
    ret

/* ---- L2, 64-bit: GUEST_RIP of the default VMCS.  Calls l2_main, then
 * tells L1 it is done with VMCALL(RAX = VMCALL_DONE). ---- */
    .globl l2_entry64
l2_entry64:
    call *l2_main(%rip)
    mov $VMCALL_DONE, %eax
    vmcall
    ud2
1:  jmp 1b

/* ---- L2, 32-bit protected mode without paging (unrestricted guest).
 * Entered with CS = SEL_CODE32 (flat), data segments SEL_DATA. ---- */
    .code32
    .globl pm32_entry, pm32_far, pm32_vmcall1, pm32_vmcall2
pm32_entry:
    mov %cr0, %eax
    mov %eax, pm32_cr0
    movl $0xcafe0032, pm32_data
    ljmp $0x18, $pm32_far       /* reloads CS from the GDT */
pm32_far:
    mov $0x32323232, %ebx
    mov %esp, %ecx
    pushl $0x12345678
    popl %edx
pm32_vmcall1:
    vmcall                      /* exit 18: L1 checks the mode and registers */
    mov pm32_data, %esi         /* L1 changed it during the exit */
pm32_vmcall2:
    vmcall
    ud2
    .code64

/* ---- L2, real mode (CR0.PE = 0, unrestricted guest).  Copied to RM_BASE
 * and entered with CS = 0x4000 (base 0x40000), IP = 0. ---- */
    .section .rodata.rm, "a"
    .globl rm_blob, rm_blob_end, rm_data, rm_cr0, rm_vmcall1, rm_isr, rm_isr_vmcall, rm_far
    .code16
rm_blob:
    movw $0xbeef, %ds:(rm_data - rm_blob)
    mov %cr0, %eax
    mov %eax, %ds:(rm_cr0 - rm_blob)
    ljmpw $0x4000, $(rm_far - rm_blob)
rm_far:
    pushw $0x1234
    popw %bx
    mov %sp, %cx
rm_vmcall1:
    vmcall                      /* exit 18 */
    hlt                         /* exit 12 if HLT exiting */
    ud2
rm_isr:                         /* IVT target for the injection test */
    mov %sp, %si
    movw $0x5a5a, %di
rm_isr_vmcall:
    vmcall
    iret
/* L2 switches itself real mode -> protected mode -> long mode, the way a
 * kernel boots under "unrestricted guest" (SDM Vol.3 9.9, 10.8.5). */
    .globl rm_switch
rm_switch:
    lgdtl %cs:(rm_gdtr - rm_blob)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x18, $pm_switch32
rm_gdtr:
    .word 127
    .long gdt
rm_data: .word 0
rm_cr0:  .long 0
rm_blob_end:
    .code64

    .text
    .code32
pm_switch32:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $l2_stack+16384, %esp
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $l2_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $0x100, %eax             /* EFER.LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax        /* PG: IA-32e mode becomes active */
    mov %eax, %cr0
    ljmp $0x08, $lm_switch64
    .code64
    .globl lm_switch_vmcall
lm_switch64:
    mov $0x64646464, %ebx
lm_switch_vmcall:
    vmcall
    ud2
    .section .note.GNU-stack, "", @progbits
