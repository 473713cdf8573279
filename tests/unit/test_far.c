/*
 * test_far.c — far control transfers (src/cpu/ops_far.c): far JMP/CALL/RET
 * in real, protected, compatibility and 64-bit mode, call gates with a
 * privilege change and parameter copy, IRET/IRETQ variants incl. virtual-
 * 8086 mode, SYSCALL/SYSRET and SYSENTER/SYSEXIT.
 *
 * The code arrays were assembled with nasm from the source in the comments.
 */
#include "seg_test.h"

/*
 *   lgdt [cs:gdtr]
 *   mov eax, cr0
 *   or al, 1
 *   mov cr0, eax
 *   jmp dword 0x18:(0x10000 + pm32)   ; far JMP into 32-bit code
 *   pm32:
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov ss, ax
 *   mov esp, 0x80000
 *   mov ebx, [0x20000]
 *   hlt
 *   gdtr: dw 0xff
 *   dd 0x800
 */
static const uint8_t rm_to_pm[] = {
    0x2e, 0x0f, 0x01, 0x16, 0x2a, 0x00, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f,
    0x22, 0xc0, 0x66, 0xea, 0x16, 0x00, 0x01, 0x00, 0x18, 0x00, 0x66, 0xb8,
    0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x00, 0x08, 0x00, 0x8b,
    0x1d, 0x00, 0x00, 0x02, 0x00, 0xf4, 0xff, 0x00, 0x00, 0x08, 0x00, 0x00,
};
/*
 *   mov esp, 0x80000
 *   push 0xaaaa
 *   push 0xbbbb
 *   call 0x18:func
 *   mov ecx, 1
 *   hlt
 *   func:
 *   mov ebx, [esp]      ; return EIP
 *   mov edx, [esp+4]    ; CS
 *   retf 8
 */
static const uint8_t pm_call_retf[] = {
    0xbc, 0x00, 0x00, 0x08, 0x00, 0x68, 0xaa, 0xaa, 0x00, 0x00, 0x68, 0xbb,
    0xbb, 0x00, 0x00, 0x9a, 0x1c, 0x00, 0x01, 0x00, 0x18, 0x00, 0xb9, 0x01,
    0x00, 0x00, 0x00, 0xf4, 0x8b, 0x1c, 0x24, 0x8b, 0x54, 0x24, 0x04, 0xca,
    0x08, 0x00,
};
/*
 *   jmp 0x60:(code16 - 0x10000)   ; 16-bit code segment based at 0x10000
 *   code16:
 *   mov eax, 0x12345678 ; 66 prefix in a 16-bit segment
 *   push ax             ; 16-bit push
 *   jmp dword 0x18:back
 *   back:
 *   mov ecx, 2
 *   hlt
 */
static const uint8_t pm_jmp16[] = {
    0xea, 0x07, 0x00, 0x00, 0x00, 0x60, 0x00, 0x66, 0xb8, 0x78, 0x56, 0x34,
    0x12, 0x50, 0x66, 0xea, 0x16, 0x00, 0x01, 0x00, 0x18, 0x00, 0xb9, 0x02,
    0x00, 0x00, 0x00, 0xf4,
};
/*
 *   mov rsp, 0x50000
 *   call far dword [rel fptr] ; m16:32 through the call gate at 0x50
 *   mov r15d, 0x77
 *   int 0x80
 *   hlt
 *   fptr: dd 0
 *   dw 0x53
 */
static const uint8_t lm_user_callgate[] = {
    0xbc, 0x00, 0x00, 0x05, 0x00, 0xff, 0x1d, 0x09, 0x00, 0x00, 0x00, 0x41,
    0xbf, 0x77, 0x00, 0x00, 0x00, 0xcd, 0x80, 0xf4, 0x00, 0x00, 0x00, 0x00,
    0x53, 0x00,
};
/*
 *   mov rbx, rsp
 *   mov r11, [rsp]      ; the frame, before a later event reuses the stack
 *   mov r12, [rsp+8]
 *   mov r13, [rsp+16]
 *   mov r14, [rsp+24]
 *   mov r9, ss
 *   mov r10, cs
 *   o64 retf
 */
static const uint8_t lm_gate_handler[] = {
    0x48, 0x89, 0xe3, 0x4c, 0x8b, 0x1c, 0x24, 0x4c, 0x8b, 0x64, 0x24, 0x08,
    0x4c, 0x8b, 0x6c, 0x24, 0x10, 0x4c, 0x8b, 0x74, 0x24, 0x18, 0x41, 0x8c,
    0xd1, 0x41, 0x8c, 0xca, 0x48, 0xcb,
};
/*
 *   mov esp, 0x50000
 *   push 0x1111         ; parameter 1
 *   push 0x2222         ; parameter 0
 *   call 0x53:0         ; call gate, 2 dword parameters
 *   mov ecx, 0x99
 *   int 0x80
 *   hlt
 */
static const uint8_t pm_user_callgate[] = {
    0xbc, 0x00, 0x00, 0x05, 0x00, 0x68, 0x11, 0x11, 0x00, 0x00, 0x68, 0x22,
    0x22, 0x00, 0x00, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x53, 0x00, 0xb9, 0x99,
    0x00, 0x00, 0x00, 0xcd, 0x80, 0xf4,
};
/*
 *   mov ebx, esp
 *   mov esi, esp        ; copy the 6-dword frame to 0x5000
 *   mov edi, 0x5000
 *   mov ecx, 6
 *   cld
 *   rep movsd
 *   mov ebp, ss
 *   retf 8
 */
static const uint8_t pm_gate_handler[] = {
    0x89, 0xe3, 0x89, 0xe6, 0xbf, 0x00, 0x50, 0x00, 0x00, 0xb9, 0x06, 0x00,
    0x00, 0x00, 0xfc, 0xf3, 0xa5, 0x8c, 0xd5, 0xca, 0x08, 0x00,
};
/*
 *   mov eax, 41
 *   syscall
 *   mov r15, rax
 *   int 0x80
 *   hlt
 */
static const uint8_t lm_user_syscall[] = {
    0xb8, 0x29, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc7, 0xcd, 0x80,
    0xf4,
};
/*
 *   mov r12, rcx
 *   mov r13, r11
 *   pushfq
 *   pop r10
 *   mov r9, cs
 *   mov r8, ss
 *   inc eax
 *   o64 sysret
 */
static const uint8_t lm_syscall_handler[] = {
    0x49, 0x89, 0xcc, 0x4d, 0x89, 0xdd, 0x9c, 0x41, 0x5a, 0x41, 0x8c, 0xc9,
    0x41, 0x8c, 0xd0, 0xff, 0xc0, 0x48, 0x0f, 0x07,
};
/*
 *   mov ecx, 0x10100    ; 32-bit user code there
 *   sysret              ; to compatibility mode
 */
static const uint8_t lm_syscall_compat_handler[] = {
    0xb9, 0x00, 0x01, 0x01, 0x00, 0x0f, 0x07,
};
/*
 *   mov rcx, 0x0000800000000000
 *   o64 sysret
 *   hlt
 */
static const uint8_t lm_sysret_noncanon[] = {
    0x48, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x48, 0x0f,
    0x07, 0xf4,
};
/*
 *   mov esp, 0x50000
 *   sysenter
 *   back:
 *   mov edi, 0x4444
 *   int 0x80
 *   hlt
 */
static const uint8_t pm_user_sysenter[] = {
    0xbc, 0x00, 0x00, 0x05, 0x00, 0x0f, 0x34, 0xbf, 0x44, 0x44, 0x00, 0x00,
    0xcd, 0x80, 0xf4,
};
/*
 *   mov ebx, esp
 *   mov edx, 0x10007      ; "back" in pm_user_sysenter
 *   mov ecx, 0x48000
 *   sysexit
 */
static const uint8_t pm_sysenter_handler[] = {
    0x89, 0xe3, 0xba, 0x07, 0x00, 0x01, 0x00, 0xb9, 0x00, 0x80, 0x04, 0x00,
    0x0f, 0x35,
};
/*
 *   jmp far dword [rel p]    ; m16:32 → 32-bit code
 *   p: dd compat
 *   dw 0x18
 *   compat:
 *   mov ecx, 0x32
 *   jmp 0x08:back64
 *   back64:
 *   mov edx, 0x64
 *   hlt
 */
static const uint8_t lm_to_compat_and_back[] = {
    0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x18, 0x00,
    0xb9, 0x32, 0x00, 0x00, 0x00, 0xea, 0x18, 0x00, 0x01, 0x00, 0x08, 0x00,
    0xba, 0x64, 0x00, 0x00, 0x00, 0xf4,
};
/*
 *   mov rax, rsp
 *   push 0              ; SS: null is fine for 64-bit CPL 0
 *   push rax
 *   pushfq
 *   push 0x08
 *   push next
 *   iretq
 *   next:
 *   mov ecx, 3
 *   hlt
 */
static const uint8_t lm_iretq_same_null_ss[] = {
    0x48, 0x89, 0xe0, 0x6a, 0x00, 0x50, 0x9c, 0x6a, 0x08, 0x68, 0x10, 0x00,
    0x01, 0x00, 0x48, 0xcf, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf4,
};
/*
 *   mov esp, 0x80000
 *   push 0x0            ; GS
 *   push 0x0            ; FS
 *   push 0x0            ; DS
 *   push 0x3000         ; ES
 *   push 0x0            ; SS
 *   push 0x7000         ; ESP
 *   push 0x23002        ; EFLAGS: VM, IOPL 3
 *   push 0x1000         ; CS
 *   push 0x0100         ; IP  (linear 0x10100)
 *   iretd
 */
static const uint8_t pm_iret_to_vm86[] = {
    0xbc, 0x00, 0x00, 0x08, 0x00, 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x00, 0x68,
    0x00, 0x30, 0x00, 0x00, 0x6a, 0x00, 0x68, 0x00, 0x70, 0x00, 0x00, 0x68,
    0x02, 0x30, 0x02, 0x00, 0x68, 0x00, 0x10, 0x00, 0x00, 0x68, 0x00, 0x01,
    0x00, 0x00, 0xcf,
};
/*
 *   mov ax, 0x1234
 *   int 0x80            ; IOPL 3: through the 32-bit gate to ring 0
 *   mov bx, 0x5678
 *   hlt                 ; CPL 3: #GP(0)
 */
static const uint8_t vm86_code[] = {
    0xb8, 0x34, 0x12, 0xcd, 0x80, 0xbb, 0x78, 0x56, 0xf4,
};
/*
 *   mov ebx, esp
 *   mov ebp, ds         ; null after leaving virtual-8086 mode
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov esi, esp        ; copy the 9-dword frame to 0x5000
 *   mov edi, 0x5000
 *   mov ecx, 9
 *   cld
 *   rep movsd
 *   iretd               ; back to virtual-8086 mode
 */
static const uint8_t pm_vm86_int_handler[] = {
    0x89, 0xe3, 0x8c, 0xdd, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xc0,
    0x89, 0xe6, 0xbf, 0x00, 0x50, 0x00, 0x00, 0xb9, 0x09, 0x00, 0x00, 0x00,
    0xfc, 0xf3, 0xa5, 0xcf,
};
/*
 *   pop edx
 *   mov edi, esp
 *   hlt
 */
static const uint8_t pm_gp_handler[] = {
    0x5a, 0x89, 0xe7, 0xf4,
};

#define H_A 0x3000ull
#define H_B 0x3100ull
#define H_C 0x3200ull

static const uint8_t hlt_only[] = { 0xf4 };
static const uint8_t lm_record_rsp_f[] = { 0x48, 0x89, 0xe3, 0xf4 }; /* mov rbx, rsp; hlt */

TEST(far_real_to_protected_jmp)
{
    struct th t;
    th_init(&t, TH_REAL);
    sg_setup_gdt(&t);
    t.cpu.gdtr = (struct dtr){ 0, 0 };
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    sg_put(&t, 0x10000, rm_to_pm, sizeof rm_to_pm);
    t.cpu.rip = 0;
    *(uint32_t *)th_mem(&t, 0x20000) = 0xcafef00d;
    CHECK_EQ(th_run_steps(&t, NULL, 0, 100), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0xcafef00d);
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x18);
    CHECK_EQ(t.cpu.seg[SEG_CS].base, 0);
    CHECK_EQ(t.cpu.seg[SEG_CS].limit, 0xffffffff);
    CHECK_EQ(t.cpu.code_bits, 32);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0x10);
    CHECK_EQ(t.cpu.stack32, 1);
    CHECK_EQ(t.cpu.rip, 0x1002a);
    th_destroy(&t);
}

TEST(far_call_retf_imm_same_privilege)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    CHECK_EQ(th_run(&t, pm_call_retf, sizeof pm_call_retf), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x10016);
    CHECK_EQ(t.cpu.r[R_DX], 0x18);
    CHECK_EQ(t.cpu.r[R_CX], 1);
    CHECK_EQ(t.cpu.r[R_SP], 0x80000); /* RETF 8 dropped the parameters */
    th_destroy(&t);
}

TEST(far_jmp_16bit_segment_and_back)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(th_run(&t, pm_jmp16, sizeof pm_jmp16), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x12345678);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK - 2); /* PUSH AX in 16-bit code */
    CHECK_EQ(t.cpu.r[R_CX], 2);
    CHECK_EQ(t.cpu.code_bits, 32);
    th_destroy(&t);
}

TEST(far_jmp_checks)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    /* jmp far to: data segment, not-present code, null, beyond the limit */
    static const uint8_t to_data[] = { 0xea, 0, 0, 0, 0, 0x10, 0x00 };
    static const uint8_t to_null[] = { 0xea, 0, 0, 0, 0, 0x03, 0x00 };
    static const uint8_t to_far[] = { 0xea, 0, 0, 0, 0, 0xf8, 0x07 };
    static const uint8_t to_np[] = { 0xea, 0, 0, 0, 0, 0x18, 0x00 };
    CHECK_EQ(th_run(&t, to_data, sizeof to_data), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x10);
    CHECK_EQ(th_run(&t, to_null, sizeof to_null), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(th_run(&t, to_far, sizeof to_far), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x7f8);
    *(uint8_t *)th_mem(&t, SG_GDT + 0x18 + 5) &= 0x7f;
    CHECK_EQ(th_run(&t, to_np, sizeof to_np), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NP);
    CHECK_EQ(t.error, 0x18);
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x18); /* nothing committed */
    CHECK_EQ(t.cpu.rip, TH_CODE);
    th_destroy(&t);
}

TEST(far_long_to_compat_and_back)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    CHECK_EQ(th_run(&t, lm_to_compat_and_back, sizeof lm_to_compat_and_back), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0x32);
    CHECK_EQ(t.cpu.r[R_DX], 0x64);
    CHECK_EQ(t.cpu.code64, 1);
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x08);
    th_destroy(&t);
}

TEST(far_long_call_gate_ring3_to_ring0_and_retf)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_long(&t);
    uint64_t lo, hi;
    sg_gate64(&lo, &hi, 0x08, H_A, 12, 3, 0);
    sg_gdt16(&t, SG_GATE, lo, hi);
    sg_put(&t, H_A, lm_gate_handler, sizeof lm_gate_handler);
    sg_put(&t, H_B, hlt_only, 1);
    sg_idt64(&t, 0x80, 0x08, H_B, 14, 3, 0);
    sg_enter_ring3(&t, true);
    t.cpu.r[R_R9] = t.cpu.r[R_R10] = ~0ull;
    CHECK_EQ(th_run(&t, lm_user_callgate, sizeof lm_user_callgate), TH_HALT);
    /* in the gate handler (ring 0): frame on TSS.RSP0, SS null */
    uint64_t f = t.cpu.r[R_BX];
    CHECK_EQ(f, SG_RSP0 - 32);
    CHECK_EQ(t.cpu.r[R_R11], 0x1000b);  /* return RIP */
    CHECK_EQ(t.cpu.r[R_R12], 0x33);     /* CS */
    CHECK_EQ(t.cpu.r[R_R13], 0x50000);  /* RSP */
    CHECK_EQ(t.cpu.r[R_R14], 0x2b);     /* SS */
    CHECK_EQ(t.cpu.r[R_R9], 0);              /* SS selector: null, RPL 0 */
    CHECK_EQ(t.cpu.r[R_R10], 0x08);
    /* RETF went back to ring 3, which ran INT 0x80 */
    CHECK_EQ(t.cpu.r[R_R15], 0x77);
    CHECK_EQ(sg_get64(&t, SG_RSP0 - 32), 0x33);
    CHECK_EQ(sg_get64(&t, SG_RSP0 - 16), 0x50000);
    CHECK_EQ(sg_get64(&t, SG_RSP0 - 8), 0x2b);
    th_destroy(&t);
}

TEST(far_prot_call_gate_with_parameters)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    uint64_t lo, hi;
    sg_gate64(&lo, &hi, 0x18, H_A, 12, 3, 2); /* 32-bit call gate, 2 params */
    sg_gdt(&t, SG_GATE, lo);
    sg_put(&t, H_A, pm_gate_handler, sizeof pm_gate_handler);
    sg_put(&t, H_B, hlt_only, 1);
    sg_idt32(&t, 0x80, 0x18, H_B, 14, 3);
    sg_enter_ring3(&t, false);
    CHECK_EQ(th_run(&t, pm_user_callgate, sizeof pm_user_callgate), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], SG_RSP0 - 24);
    CHECK_EQ(sg_get32(&t, 0x5000), 0x10016); /* EIP */
    CHECK_EQ(sg_get32(&t, 0x5004), 0x23);    /* CS */
    CHECK_EQ(sg_get32(&t, 0x5008), 0x2222);  /* parameters, same order */
    CHECK_EQ(sg_get32(&t, 0x500c), 0x1111);
    CHECK_EQ(sg_get32(&t, 0x5010), 0x4fff8); /* caller's ESP */
    CHECK_EQ(sg_get32(&t, 0x5014), 0x2b);    /* caller's SS */
    CHECK_EQ(t.cpu.r[R_BP], 0x10);           /* SS from TSS.SS0 */
    CHECK_EQ(t.cpu.r[R_CX], 0x99);           /* back in ring 3 */
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 8), 0x50000); /* ESP at INT: params popped */
    th_destroy(&t);
}

TEST(far_syscall_sysret_64)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_long(&t);
    t.cpu.star = (0x20ull << 48) | (0x08ull << 32);
    t.cpu.lstar = H_A;
    t.cpu.sfmask = FL_IF | FL_CF;
    sg_put(&t, H_A, lm_syscall_handler, sizeof lm_syscall_handler);
    sg_put(&t, H_B, lm_record_rsp_f, sizeof lm_record_rsp_f);
    sg_idt64(&t, 0x80, 0x08, H_B, 14, 3, 0);
    sg_enter_ring3(&t, true);
    cpu_set_rflags(&t.cpu, 0x203);
    t.cpu.r[R_R9] = t.cpu.r[R_R8] = ~0ull;
    CHECK_EQ(th_run(&t, lm_user_syscall, sizeof lm_user_syscall), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R12], 0x10007);       /* RCX = return RIP */
    CHECK_EQ(t.cpu.r[R_R13], 0x203);         /* R11 = RFLAGS */
    CHECK_EQ(t.cpu.r[R_R10] & 0x201, 0);     /* SFMASK applied */
    CHECK_EQ(t.cpu.r[R_R9], 0x08);           /* MOV r, CS zero-extends */
    CHECK_EQ(t.cpu.r[R_R8], 0x10);
    CHECK_EQ(t.cpu.r[R_R15], 42);
    uint64_t f = t.cpu.r[R_BX];              /* INT 0x80 frame after SYSRET */
    CHECK_EQ(sg_get64(&t, f), 0x1000c);
    CHECK_EQ(sg_get64(&t, f + 8), 0x33);
    CHECK_EQ(sg_get64(&t, f + 16), 0x203);
    CHECK_EQ(sg_get64(&t, f + 32), 0x2b);
    th_destroy(&t);
}

TEST(far_sysret_to_compat)
{
    static const uint8_t user[] = { 0x0f, 0x05 };            /* syscall */
    static const uint8_t compat[] = { 0xb9, 0x33, 0, 0, 0, 0xcd, 0x80 }; /* mov ecx,0x33; int 0x80 */
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_long(&t);
    t.cpu.star = (0x20ull << 48) | (0x08ull << 32);
    t.cpu.lstar = H_A;
    sg_put(&t, H_A, lm_syscall_compat_handler, sizeof lm_syscall_compat_handler);
    sg_put(&t, 0x10100, compat, sizeof compat);
    sg_put(&t, H_B, lm_record_rsp_f, sizeof lm_record_rsp_f);
    sg_idt64(&t, 0x80, 0x08, H_B, 14, 3, 0);
    sg_enter_ring3(&t, true);
    CHECK_EQ(th_run(&t, user, sizeof user), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0x33);
    CHECK_EQ(sg_get64(&t, t.cpu.r[R_BX] + 8), 0x23); /* compat CS = STAR[63:48] | 3 */
    CHECK_EQ(sg_get64(&t, t.cpu.r[R_BX] + 32), 0x2b);
    th_destroy(&t);
}

TEST(far_syscall_sysret_faults)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    /* SYSRET with a non-canonical RCX: #GP(0) at CPL 0 (Intel) */
    CHECK_EQ(th_run(&t, lm_sysret_noncanon, sizeof lm_sysret_noncanon), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.cpl, 0);
    /* SYSCALL with EFER.SCE = 0: #UD */
    static const uint8_t sc[] = { 0x0f, 0x05, 0xf4 };
    t.cpu.efer &= ~EFER_SCE;
    CHECK_EQ(th_run(&t, sc, sizeof sc), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    /* SYSRET from ring 3: #GP(0) */
    t.cpu.efer |= EFER_SCE;
    sg_enter_ring3(&t, true);
    static const uint8_t sr[] = { 0x48, 0x0f, 0x07 };
    CHECK_EQ(th_run(&t, sr, sizeof sr), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    th_destroy(&t);
}

TEST(far_sysenter_sysexit_32)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    t.cpu.sysenter_cs = 0x10; /* CS 0x10, SS 0x18; SYSEXIT: CS 0x23, SS 0x2b */
    t.cpu.sysenter_esp = 0x60000;
    t.cpu.sysenter_eip = H_A;
    sg_put(&t, H_A, pm_sysenter_handler, sizeof pm_sysenter_handler);
    sg_put(&t, H_B, hlt_only, 1);
    sg_idt32(&t, 0x80, 0x18, H_B, 14, 3);
    sg_enter_ring3(&t, false);
    cpu_set_rflags(&t.cpu, 0x202);
    CHECK_EQ(th_run(&t, pm_user_sysenter, sizeof pm_user_sysenter), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x60000);
    CHECK_EQ(t.cpu.r[R_DI], 0x4444);
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 16), 0x23);    /* CS after SYSEXIT */
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 8), 0x48000);  /* ESP = ECX */
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 4), 0x2b);
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 12) & FL_IF, 0); /* SYSENTER cleared IF */
    th_destroy(&t);
}

TEST(far_iretq_same_level_null_ss)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    CHECK_EQ(th_run(&t, lm_iretq_same_null_ss, sizeof lm_iretq_same_null_ss), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 3);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0);
    CHECK(t.cpu.seg[SEG_SS].ar & AR_UNUSABLE);
    th_destroy(&t);
}

TEST(far_iret_checks)
{
    /* IRETD to a CS with RPL < CPL → #GP(sel); with NT=1 in IA-32e → #GP(0) */
    static const uint8_t code[] = {
        0x6a, 0x02,                   /* push 2 (EFLAGS) */
        0x6a, 0x08,                   /* push 0x08 (CS) */
        0x68, 0x00, 0x00, 0x01, 0x00, /* push 0x10000 */
        0xcf,                         /* iretd */
    };
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    /* 0x08 is a 64-bit code segment: outside IA-32e mode L is ignored and
     * it is a plain code segment, DPL 0 = RPL → allowed; use RPL 1 instead */
    uint8_t c2[sizeof code];
    memcpy(c2, code, sizeof code);
    c2[3] = 0x19; /* CS 0x18 | RPL 1: DPL 0 != RPL → #GP(0x18) */
    CHECK_EQ(th_run(&t, c2, sizeof c2), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x18);
    th_destroy(&t);

    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    cpu_set_rflags(&t.cpu, 2 | FL_NT);
    static const uint8_t iretq[] = { 0x48, 0xcf };
    CHECK_EQ(th_run(&t, iretq, sizeof iretq), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    th_destroy(&t);
}

TEST(far_vm86_iret_int_and_back)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    sg_put(&t, 0x10100, vm86_code, sizeof vm86_code);
    sg_put(&t, H_A, pm_vm86_int_handler, sizeof pm_vm86_int_handler);
    sg_put(&t, H_B, pm_gp_handler, sizeof pm_gp_handler);
    sg_idt32(&t, 0x80, 0x18, H_A, 14, 3);
    sg_idt32(&t, EXC_GP, 0x18, H_B, 14, 0);
    CHECK_EQ(th_run(&t, pm_iret_to_vm86, sizeof pm_iret_to_vm86), TH_HALT);
    /* INT 0x80 from virtual-8086 mode: 9-dword frame on the ring-0 stack */
    CHECK_EQ(t.cpu.r[R_BX] & ~0xffffull, (SG_RSP0 - 36) & ~0xffffull);
    CHECK_EQ(sg_get32(&t, 0x5000), 0x105);    /* IP after INT */
    CHECK_EQ(sg_get32(&t, 0x5004), 0x1000);   /* CS */
    CHECK_EQ(sg_get32(&t, 0x5008), 0x23002);  /* EFLAGS with VM */
    CHECK_EQ(sg_get32(&t, 0x500c), 0x7000);   /* SP */
    CHECK_EQ(sg_get32(&t, 0x5010), 0);        /* SS */
    CHECK_EQ(sg_get32(&t, 0x5014), 0x3000);   /* ES */
    CHECK_EQ(sg_get32(&t, 0x5018), 0);        /* DS */
    CHECK_EQ(t.cpu.r[R_BP], 0);               /* DS null in the handler */
    /* IRETD returned to virtual-8086 mode (BX set), HLT at CPL 3 → #GP(0) */
    CHECK_EQ(t.cpu.r[R_BX] & 0xffff, 0x5678);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0x0010); /* AX as the handler left it */
    CHECK_EQ(t.cpu.r[R_DX], 0);
    CHECK_EQ(sg_get32(&t, t.cpu.r[R_DI]), 0x108); /* EIP of the HLT */
    CHECK_EQ(sg_get32(&t, t.cpu.r[R_DI] + 20), 0x3000); /* ES restored by IRET */
    th_destroy(&t);
}
