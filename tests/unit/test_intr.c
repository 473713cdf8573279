/*
 * test_intr.c — event delivery (src/cpu/intr.c): real-mode IVT, protected-
 * mode and IA-32e IDT gates, stack switches from the TSS, IST, error codes,
 * RF in the pushed RFLAGS, software-interrupt privilege checks and the
 * double-fault / triple-fault rules (SDM Vol.3 chapter 6, Table 6-5).
 *
 * The code arrays were assembled with nasm from the source in the comments.
 */
#include "seg_test.h"

/*
 *   int 0x21            ; IVT[0x21] -> 0000:0600
 *   mov cx, 0x66
 *   hlt
 */
static const uint8_t rm_main[] = {
    0xcd, 0x21, 0xb9, 0x66, 0x00, 0xf4,
};
/*
 *   pushf
 *   pop dx              ; FLAGS inside the handler (IF, TF cleared)
 *   mov bx, 0x55
 *   iret
 */
static const uint8_t rm_handler[] = {
    0x9c, 0x5a, 0xbb, 0x55, 0x00, 0xcf,
};
/*
 *   xor ax, ax
 *   div al              ; #DE (fault: IP of div pushed)
 *   hlt
 */
static const uint8_t rm_div0[] = {
    0x31, 0xc0, 0xf6, 0xf0, 0xf4,
};
/*
 *   hlt
 */
static const uint8_t rm_hlt_handler[] = {
    0xf4,
};
/*
 *   mov rsp, 0x7fff8
 *   xor edx, edx
 *   mov eax, 1
 *   xor ecx, ecx
 *   div ecx             ; #DE at 0x1000e
 *   hlt
 */
static const uint8_t lm_div0[] = {
    0xbc, 0xf8, 0xff, 0x07, 0x00, 0x31, 0xd2, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0x31, 0xc9, 0xf7, 0xf1, 0xf4,
};
/*
 *   mov rbx, rsp
 *   hlt
 */
static const uint8_t lm_record_rsp[] = {
    0x48, 0x89, 0xe3, 0xf4,
};
/*
 *   pop rbx             ; error code
 *   mov rdx, rsp
 *   hlt
 */
static const uint8_t lm_pop_err[] = {
    0x5b, 0x48, 0x89, 0xe2, 0xf4,
};
/*
 *   mov ax, 0x7f8       ; beyond the GDT limit
 *   mov ds, ax          ; #GP(0x7f8)
 *   hlt
 */
static const uint8_t lm_bad_ds[] = {
    0x66, 0xb8, 0xf8, 0x07, 0x8e, 0xd8, 0xf4,
};
/*
 *   mov ax, 0x38        ; present bit clear
 *   mov ds, ax          ; #NP(0x38)
 *   hlt
 */
static const uint8_t lm_np_ds[] = {
    0x66, 0xb8, 0x38, 0x00, 0x8e, 0xd8, 0xf4,
};
/*
 *   push 0x2b           ; SS
 *   push 0x50000        ; RSP
 *   push 0x202          ; RFLAGS (IF)
 *   push 0x33           ; CS
 *   push user           ; RIP
 *   iretq
 *   user:
 *   mov ecx, 0x1234
 *   int 0x80
 *   hlt
 */
static const uint8_t lm_iretq_user[] = {
    0x6a, 0x2b, 0x68, 0x00, 0x00, 0x05, 0x00, 0x68, 0x02, 0x02, 0x00, 0x00,
    0x6a, 0x33, 0x68, 0x15, 0x00, 0x01, 0x00, 0x48, 0xcf, 0xb9, 0x34, 0x12,
    0x00, 0x00, 0xcd, 0x80, 0xf4,
};
/*
 *   mov ecx, 0x99
 *   int 0x81            ; gate DPL 0: #GP(0x81*8+2)
 *   hlt
 */
static const uint8_t lm_user_int81[] = {
    0xb9, 0x99, 0x00, 0x00, 0x00, 0xcd, 0x81, 0xf4,
};
/*
 *   push 0x2b           ; SS
 *   push 0x50000        ; RSP
 *   push 0x2            ; RFLAGS
 *   push 0x23           ; CS: 32-bit ring-3 code
 *   push user           ; RIP
 *   iretq
 *   user:
 *   mov ecx, 0x4321
 *   int 0x80
 *   hlt
 */
static const uint8_t lm_iretq_compat[] = {
    0x6a, 0x2b, 0x68, 0x00, 0x00, 0x05, 0x00, 0x6a, 0x02, 0x6a, 0x23, 0x68,
    0x12, 0x00, 0x01, 0x00, 0x48, 0xcf, 0xb9, 0x21, 0x43, 0x00, 0x00, 0xcd,
    0x80, 0xf4,
};
/*
 *   mov esp, 0x50000
 *   int 0x80            ; DPL 3 gate: ring 0 via the TSS
 *   mov ecx, 5
 *   int 0x81            ; DPL 0 gate: #GP(0x40a)
 *   hlt
 */
static const uint8_t pm_user_int[] = {
    0xbc, 0x00, 0x00, 0x05, 0x00, 0xcd, 0x80, 0xb9, 0x05, 0x00, 0x00, 0x00,
    0xcd, 0x81, 0xf4,
};
/*
 *   mov ebx, esp
 *   mov esi, esp        ; copy the 5-dword frame to 0x5000
 *   mov edi, 0x5000
 *   mov ecx, 5
 *   cld
 *   rep movsd
 *   mov ebp, ds
 *   iretd
 */
static const uint8_t pm_iret_handler[] = {
    0x89, 0xe3, 0x89, 0xe6, 0xbf, 0x00, 0x50, 0x00, 0x00, 0xb9, 0x05, 0x00,
    0x00, 0x00, 0xfc, 0xf3, 0xa5, 0x8c, 0xdd, 0xcf,
};
/*
 *   pop edx
 *   mov edi, esp
 *   hlt
 */
static const uint8_t pm_gp_handler[] = {
    0x5a, 0x89, 0xe7, 0xf4,
};
/*
 *   int3
 *   hlt
 */
static const uint8_t lm_int3_into[] = {
    0xcc, 0xf4,
};
/*
 *   sti
 *   hlt                 ; woken by the interrupt; resumes after the HLT
 *   mov ecx, 5
 *   hlt
 */
static const uint8_t lm_sti_hlt[] = {
    0xfb, 0xf4, 0xb9, 0x05, 0x00, 0x00, 0x00, 0xf4,
};
/*
 *   mov rbx, rsp
 *   mov rdx, [rsp]      ; return RIP
 *   iretq
 */
static const uint8_t lm_irq_handler[] = {
    0x48, 0x89, 0xe3, 0x48, 0x8b, 0x14, 0x24, 0x48, 0xcf,
};

#define H_A 0x3000ull /* handler addresses */
#define H_B 0x3100ull
#define H_C 0x3200ull

/* ---------- real mode ---------- */

static void rm_init(struct th *t, const void *code, size_t n)
{
    th_init(t, TH_REAL);
    t->cpu.trap_exceptions = false;
    cpu_set_seg(&t->cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu_set_seg(&t->cpu, SEG_SS, 0, 0, 0xffff, 0x93);
    sg_put(t, 0x10000, code, n);
    t->cpu.rip = 0;
    t->cpu.r[R_SP] = 0x8000;
}

TEST(intr_real_int_iret)
{
    struct th t;
    rm_init(&t, rm_main, sizeof rm_main);
    sg_put(&t, 0x600, rm_handler, sizeof rm_handler);
    uint32_t ivt = 0x00000600; /* 0000:0600 */
    sg_put(&t, 0x21 * 4, &ivt, 4);
    cpu_set_rflags(&t.cpu, 0x202);
    CHECK_EQ(th_run_steps(&t, NULL, 0, 100), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX] & 0xffff, 0x55);
    CHECK_EQ(t.cpu.r[R_CX] & 0xffff, 0x66);
    CHECK_EQ(t.cpu.r[R_DX] & 0x300, 0);           /* IF, TF cleared in the handler */
    CHECK_EQ(t.cpu.r[R_SP], 0x8000);               /* IRET popped the frame */
    CHECK_EQ(cpu_get_rflags(&t.cpu) & FL_IF, FL_IF); /* restored */
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x1000);
    CHECK_EQ(t.cpu.seg[SEG_CS].base, 0x10000);
    /* the frame: IP after INT, CS, FLAGS */
    CHECK_EQ(*(uint16_t *)th_mem(&t, 0x7ffa), 2);
    CHECK_EQ(*(uint16_t *)th_mem(&t, 0x7ffc), 0x1000);
    CHECK_EQ(*(uint16_t *)th_mem(&t, 0x7ffe), 0x202);
    th_destroy(&t);
}

TEST(intr_real_fault_pushes_faulting_ip)
{
    struct th t;
    rm_init(&t, rm_div0, sizeof rm_div0);
    sg_put(&t, 0x700, rm_hlt_handler, 1);
    uint32_t ivt = 0x00500200; /* 0050:0200 = 0x700 */
    sg_put(&t, 0, &ivt, 4);
    CHECK_EQ(th_run_steps(&t, NULL, 0, 100), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x50);
    CHECK_EQ(t.cpu.rip, 0x201);
    CHECK_EQ(*(uint16_t *)th_mem(&t, 0x7ffa), 2); /* IP of the DIV */
    CHECK_EQ(t.cpu.r[R_SP], 0x7ffa);
    th_destroy(&t);
}

TEST(intr_real_ivt_limit_triple_fault)
{
    /* IDTR.limit = 0: INT3 → #GP → #GP while delivering #GP → #DF → #GP
     * while delivering #DF → shutdown */
    struct th t;
    static const uint8_t code[] = { 0xcc, 0xf4 };
    rm_init(&t, code, sizeof code);
    t.cpu.idtr.limit = 0;
    CHECK_EQ(cpu_run(&t.cpu, 100), CPU_EXIT_SHUTDOWN);
    CHECK_EQ(t.cpu.state, CPU_SHUTDOWN);
    CHECK_EQ(t.cpu.in_event, 0);
    th_destroy(&t);
}

/* ---------- IA-32e mode ---------- */

static void lm_init(struct th *t)
{
    th_init(t, TH_LONG64);
    sg_setup_long(t);
}

static void lm_de(bool ist)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_record_rsp, sizeof lm_record_rsp);
    sg_idt64(&t, EXC_DE, 0x08, H_A, 14, 0, ist ? 1 : 0);
    CHECK_EQ(th_run(&t, lm_div0, sizeof lm_div0), TH_HALT);
    uint64_t top = ist ? SG_IST1 : 0x7fff0; /* RSP 0x7fff8 aligned down to 16 */
    uint64_t f = t.cpu.r[R_BX];
    CHECK_EQ(f, top - 40);
    CHECK_EQ(sg_get64(&t, f), 0x1000e);            /* RIP of the DIV (fault) */
    CHECK_EQ(sg_get64(&t, f + 8), 0x08);           /* CS */
    CHECK_EQ(sg_get64(&t, f + 16) & FL_RF, FL_RF); /* RF set for faults */
    CHECK_EQ(sg_get64(&t, f + 24), 0x7fff8);       /* old RSP */
    CHECK_EQ(sg_get64(&t, f + 32), 0x10);          /* old SS */
    CHECK_EQ(t.cpu.rip, H_A + 4);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0x10); /* no privilege change: SS kept */
    CHECK_EQ(t.cpu.rflags & FL_RF, 0);
    th_destroy(&t);
}

TEST(intr_long_de_same_stack_aligned) { lm_de(false); }
TEST(intr_long_de_ist) { lm_de(true); }

TEST(intr_long_error_code_and_accessed_bit)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_B, lm_pop_err, sizeof lm_pop_err);
    sg_idt64(&t, EXC_NP, 0x08, H_B, 15 /* trap gate */, 0, 0);
    /* clear the accessed bit of the handler's code segment */
    *(uint8_t *)th_mem(&t, SG_GDT + 8 + 5) = 0x9a;
    cpu_set_rflags(&t.cpu, 0x202);
    CHECK_EQ(th_run(&t, lm_np_ds, sizeof lm_np_ds), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x38); /* #NP(selector) */
    CHECK_EQ(sg_get64(&t, t.cpu.r[R_DX]), 0x10004);
    CHECK_EQ(t.cpu.rflags & FL_IF, FL_IF); /* trap gate keeps IF */
    CHECK_EQ(*(uint8_t *)th_mem(&t, SG_GDT + 8 + 5), 0x9b);
    th_destroy(&t);
}

TEST(intr_long_contributory_pair_double_fault)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_B, lm_pop_err, sizeof lm_pop_err);
    /* #GP gate not present → #NP while delivering #GP → #DF(0) */
    sg_idt64(&t, EXC_GP, 0x08, H_A, 14, 0, 0);
    *(uint8_t *)th_mem(&t, SG_IDT + EXC_GP * 16 + 5) &= 0x7f;
    sg_idt64(&t, EXC_DF, 0x08, H_B, 14, 0, 1);
    t.cpu.r[R_BX] = 0xdead;
    CHECK_EQ(th_run(&t, lm_bad_ds, sizeof lm_bad_ds), TH_HALT);
    CHECK_EQ(t.cpu.rip, H_B + 5);
    CHECK_EQ(t.cpu.r[R_BX], 0);              /* #DF error code */
    CHECK_EQ(t.cpu.r[R_DX], SG_IST1 - 40);   /* on the IST1 stack */
    CHECK_EQ(t.cpu.in_event, 0);
    th_destroy(&t);
}

TEST(intr_long_bad_df_gate_shutdown)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, 0x10000, lm_bad_ds, sizeof lm_bad_ds);
    t.cpu.rip = 0x10000;
    /* #GP gate absent (IDT zeroed), #DF gate absent too → triple fault */
    CHECK_EQ(cpu_run(&t.cpu, 100), CPU_EXIT_SHUTDOWN);
    CHECK_EQ(t.cpu.state, CPU_SHUTDOWN);
    th_destroy(&t);
}

TEST(intr_long_unmapped_idt_shutdown)
{
    /* IDT entirely unmapped: #GP → #PF reading its gate (serial) → #PF
     * reading the #PF gate → #DF → #PF reading the #DF gate → shutdown */
    struct th t;
    lm_init(&t);
    uint64_t *pd = th_mem(&t, TH_PT + 0x2000);
    pd[2] = 0;
    t.cpu.idtr = (struct dtr){ 0x400000, 0xfff };
    sg_put(&t, 0x10000, lm_bad_ds, sizeof lm_bad_ds);
    t.cpu.rip = 0x10000;
    CHECK_EQ(cpu_run(&t.cpu, 100), CPU_EXIT_SHUTDOWN);
    CHECK_EQ(t.cpu.cr2, 0x400000 + EXC_DF * 16);
    th_destroy(&t);
}

TEST(intr_long_page_fault_pair_double_fault)
{
    /* IDT straddling into an unmapped 2 MiB page: gates 0-11 mapped,
     * 12 and up not.  #GP → #PF reading gate 13 (contributory then #PF:
     * serial) → #PF reading gate 14 (#PF then #PF) → #DF, whose gate is
     * mapped. */
    struct th t;
    lm_init(&t);
    uint64_t *pd = th_mem(&t, TH_PT + 0x2000);
    pd[2] = 0; /* 0x400000-0x5fffff not present */
    uint64_t idt = 0x400000 - 12 * 16;
    t.cpu.idtr = (struct dtr){ idt, 0xfff };
    uint64_t lo, hi;
    sg_gate64(&lo, &hi, 0x08, H_B, 14, 0, 0);
    sg_put64(&t, idt + EXC_DF * 16, lo);
    sg_put64(&t, idt + EXC_DF * 16 + 8, hi);
    sg_put(&t, H_B, lm_pop_err, sizeof lm_pop_err);
    CHECK_EQ(th_run(&t, lm_bad_ds, sizeof lm_bad_ds), TH_HALT);
    CHECK_EQ(t.cpu.rip, H_B + 5);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(t.cpu.cr2, idt + EXC_PF * 16); /* the second #PF: reading gate 14 */
    th_destroy(&t);
}

TEST(intr_long_iretq_to_ring3_and_int_back)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_record_rsp, sizeof lm_record_rsp);
    sg_idt64(&t, 0x80, 0x08, H_A, 14, 3, 0);
    t.cpu.nmi_blocked = 1;
    CHECK_EQ(th_run(&t, lm_iretq_user, sizeof lm_iretq_user), TH_HALT);
    CHECK_EQ(t.cpu.nmi_blocked, 0); /* IRET unblocks NMIs */
    CHECK_EQ(t.cpu.r[R_CX], 0x1234); /* ran in ring 3 */
    CHECK_EQ(t.cpu.cpl, 0);
    uint64_t f = t.cpu.r[R_BX];
    CHECK_EQ(f, SG_RSP0 - 40);         /* stack from TSS.RSP0 */
    CHECK_EQ(sg_get64(&t, f), 0x1001c); /* after INT 0x80 */
    CHECK_EQ(sg_get64(&t, f + 8), 0x33);
    CHECK_EQ(sg_get64(&t, f + 16), 0x202);
    CHECK_EQ(sg_get64(&t, f + 24), 0x50000);
    CHECK_EQ(sg_get64(&t, f + 32), 0x2b);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0); /* null SS, RPL = new CPL */
    CHECK(t.cpu.seg[SEG_SS].ar & AR_UNUSABLE);
    CHECK_EQ(t.cpu.seg[SEG_CS].sel, 0x08);
    CHECK_EQ(t.cpu.rflags & FL_IF, 0); /* interrupt gate */
    /* IRETQ to ring 3 made the DPL-0 data segments null */
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 0);
    CHECK(t.cpu.seg[SEG_DS].ar & AR_UNUSABLE);
    th_destroy(&t);
}

TEST(intr_long_int_through_dpl0_gate_from_ring3)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_B, lm_pop_err, sizeof lm_pop_err);
    sg_idt64(&t, EXC_GP, 0x08, H_B, 14, 0, 0);
    sg_idt64(&t, 0x81, 0x08, H_A, 14, 0, 0);
    sg_enter_ring3(&t, true);
    CHECK_EQ(t.cpu.cpl, 3);
    CHECK_EQ(th_run(&t, lm_user_int81, sizeof lm_user_int81), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0x99);
    CHECK_EQ(t.cpu.r[R_BX], 0x81 * 8 + 2); /* IDT bit, EXT clear */
    CHECK_EQ(t.cpu.r[R_DX], SG_RSP0 - 40);
    CHECK_EQ(sg_get64(&t, SG_RSP0 - 40), 0x10005); /* the INT instruction */
    CHECK_EQ(sg_get64(&t, SG_RSP0 - 32), 0x33);
    th_destroy(&t);
}

TEST(intr_long_int3_is_a_trap)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_record_rsp, sizeof lm_record_rsp);
    sg_idt64(&t, EXC_BP, 0x08, H_A, 15, 3, 0);
    CHECK_EQ(th_run(&t, lm_int3_into, sizeof lm_int3_into), TH_HALT);
    uint64_t f = t.cpu.r[R_BX];
    CHECK_EQ(sg_get64(&t, f), 0x10001); /* after INT3 */
    CHECK_EQ(sg_get64(&t, f + 16) & FL_RF, 0);
    th_destroy(&t);
}

TEST(intr_long_iretq_to_compat_and_int_back)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_record_rsp, sizeof lm_record_rsp);
    sg_idt64(&t, 0x80, 0x08, H_A, 14, 3, 0);
    CHECK_EQ(th_run(&t, lm_iretq_compat, sizeof lm_iretq_compat), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0x4321);
    uint64_t f = t.cpu.r[R_BX];
    CHECK_EQ(f, SG_RSP0 - 40);
    CHECK_EQ(sg_get64(&t, f), 0x10019);
    CHECK_EQ(sg_get64(&t, f + 8), 0x23);
    CHECK_EQ(sg_get64(&t, f + 24), 0x50000);
    CHECK_EQ(t.cpu.code64, 1);
    th_destroy(&t);
}

TEST(intr_long_gate_checks)
{
    struct th t;
    lm_init(&t);
    t.cpu.trap_exceptions = true;
    static const uint8_t int40[] = { 0xcd, 0x40, 0xf4 };
    /* an all-zero entry is not a gate → #GP(vector*8+2) */
    CHECK_EQ(th_run(&t, int40, sizeof int40), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x40 * 8 + 2);
    t.cpu.in_event = 0;
    /* not present → #NP(vector*8+2) */
    sg_idt64(&t, 0x40, 0x08, H_A, 14, 0, 0);
    *(uint8_t *)th_mem(&t, SG_IDT + 0x40 * 16 + 5) &= 0x7f;
    CHECK_EQ(th_run(&t, int40, sizeof int40), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NP);
    CHECK_EQ(t.error, 0x40 * 8 + 2);
    t.cpu.in_event = 0;
    /* a 32-bit-style trap gate with a 32-bit code segment → #GP(sel) */
    sg_idt64(&t, 0x40, 0x18, H_A, 15, 0, 0);
    CHECK_EQ(th_run(&t, int40, sizeof int40), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x18);
    t.cpu.in_event = 0;
    /* beyond the IDT limit → #GP(vector*8+2) */
    t.cpu.idtr.limit = 0x40 * 16 - 1;
    CHECK_EQ(th_run(&t, int40, sizeof int40), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x40 * 8 + 2);
    th_destroy(&t);
}

/* ---------- legacy protected mode ---------- */

TEST(intr_prot_inner_ring_and_iret)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    sg_put(&t, H_A, pm_iret_handler, sizeof pm_iret_handler);
    sg_put(&t, H_B, pm_gp_handler, sizeof pm_gp_handler);
    sg_idt32(&t, 0x80, 0x18, H_A, 14, 3);
    sg_idt32(&t, 0x81, 0x18, H_A, 14, 0);
    sg_idt32(&t, EXC_GP, 0x18, H_B, 14, 0);
    sg_enter_ring3(&t, false);
    cpu_set_rflags(&t.cpu, 0x202);
    CHECK_EQ(th_run(&t, pm_user_int, sizeof pm_user_int), TH_HALT);
    /* first INT 0x80: frame on the TSS stack */
    CHECK_EQ(t.cpu.r[R_BX], SG_RSP0 - 20);
    CHECK_EQ(sg_get32(&t, 0x5000), 0x10007);
    CHECK_EQ(sg_get32(&t, 0x5004), 0x23);
    CHECK_EQ(sg_get32(&t, 0x5008), 0x202);
    CHECK_EQ(sg_get32(&t, 0x500c), 0x50000);
    CHECK_EQ(sg_get32(&t, 0x5010), 0x2b);
    CHECK_EQ(t.cpu.r[R_BP], 0x2b); /* DS untouched by delivery */
    /* IRETD went back to ring 3, then INT 0x81 → #GP(0x40a) */
    CHECK_EQ(t.cpu.r[R_CX], 5);
    CHECK_EQ(t.cpu.r[R_DX], 0x81 * 8 + 2);
    CHECK_EQ(t.cpu.r[R_DI], SG_RSP0 - 20);
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 20), 0x1000c);     /* the INT 0x81 */
    CHECK_EQ(sg_get32(&t, SG_RSP0 - 12), 0x10202);     /* RF set: a fault */
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0x10);
    CHECK_EQ(t.cpu.cpl, 0);
    th_destroy(&t);
}

TEST(intr_prot_task_gate_unsupported)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    t.cpu.trap_exceptions = true;
    sg_idt32(&t, 0x40, SG_TSSSEL, 0, 5, 0);
    static const uint8_t int40[] = { 0xcd, 0x40, 0xf4 };
    CHECK_EQ(th_run(&t, int40, sizeof int40), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x40 * 8 + 2);
    th_destroy(&t);
}

/* ---------- events from the loop ---------- */

/* A one-shot interrupt source: vector 0x30 until acknowledged. */
static int irq_vector(struct cpu *cpu, bool ack)
{
    if (cpu->r[R_R15])
        return -1;
    if (ack)
        cpu->r[R_R15] = 1;
    return 0x30;
}

static const struct cpu_hooks irq_hooks = { .intr_vector = irq_vector };

TEST(intr_external_interrupt_wakes_hlt)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_irq_handler, sizeof lm_irq_handler);
    sg_idt64(&t, 0x30, 0x08, H_A, 14, 0, 0);
    t.cpu.hooks = &irq_hooks;
    t.cpu.r[R_R15] = 0;
    atomic_fetch_or(&t.cpu.events, EV_IRQ);
    CHECK_EQ(th_run(&t, lm_sti_hlt, sizeof lm_sti_hlt), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R15], 1);      /* acknowledged once */
    CHECK_EQ(t.cpu.r[R_DX], 0x10002); /* pushed RIP: after the HLT */
    CHECK_EQ(t.cpu.r[R_CX], 5);       /* IRETQ resumed there */
    CHECK_EQ(sg_get64(&t, t.cpu.r[R_BX] + 16) & (FL_IF | FL_RF), FL_IF);
    CHECK_EQ(t.cpu.rflags & FL_IF, FL_IF);
    th_destroy(&t);
}

TEST(intr_nmi_delivery_blocks_nmis)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_record_rsp, sizeof lm_record_rsp);
    sg_idt64(&t, EXC_NMI, 0x08, H_A, 14, 0, 2);
    sg_put64(&t, SG_TSS + 0x2c, 0x58000); /* IST2 */
    atomic_fetch_or(&t.cpu.events, EV_NMI);
    static const uint8_t code[] = { 0x90, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.rip, H_A + 4);
    CHECK_EQ(t.cpu.r[R_BX], 0x58000 - 40);
    CHECK_EQ(sg_get64(&t, 0x58000 - 40), 0x10000); /* before the first insn */
    CHECK_EQ(t.cpu.nmi_blocked, 1);
    th_destroy(&t);
}

/*
 *   sti
 *   nop                 ; the STI shadow covers this instruction only
 *   mov ecx, 5          ; the interrupt is taken before this one
 *   hlt
 */
static const uint8_t lm_sti_nop[] = {
    0xfb, 0x90, 0xb9, 0x05, 0x00, 0x00, 0x00, 0xf4,
};

TEST(intr_sti_shadow_is_one_instruction)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_irq_handler, sizeof lm_irq_handler);
    sg_idt64(&t, 0x30, 0x08, H_A, 14, 0, 0);
    t.cpu.hooks = &irq_hooks;
    t.cpu.r[R_R15] = 0;
    atomic_fetch_or(&t.cpu.events, EV_IRQ);
    CHECK_EQ(th_run(&t, lm_sti_nop, sizeof lm_sti_nop), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R15], 1);
    CHECK_EQ(t.cpu.r[R_DX], 0x10002); /* pushed RIP: right after the NOP */
    CHECK_EQ(t.cpu.r[R_CX], 5);
    th_destroy(&t);
}

/*
 *   inc r14
 *   mov rdx, [rsp]      ; return RIP
 *   iretq
 */
static const uint8_t lm_nmi_count[] = {
    0x49, 0xff, 0xc6, 0x48, 0x8b, 0x14, 0x24, 0x48, 0xcf,
};

/* The STI / MOV SS shadow blocks NMIs for one instruction (SDM 6.8.3). */
TEST(intr_nmi_waits_for_the_shadow)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_nmi_count, sizeof lm_nmi_count);
    sg_idt64(&t, EXC_NMI, 0x08, H_A, 14, 0, 0);
    t.cpu.intr_shadow = 2; /* as after MOV SS */
    t.cpu.r[R_R14] = 0;
    atomic_fetch_or(&t.cpu.events, EV_NMI);
    static const uint8_t code[] = { 0x90, 0x90, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 1);
    CHECK_EQ(t.cpu.r[R_DX], 0x10001); /* after the shadowed instruction */
    th_destroy(&t);
}

/* A second NMI latched behind the first is delivered after the handler's
 * IRET (SDM 6.7.1). */
TEST(intr_latched_nmi_after_iret)
{
    struct th t;
    lm_init(&t);
    sg_put(&t, H_A, lm_nmi_count, sizeof lm_nmi_count);
    sg_idt64(&t, EXC_NMI, 0x08, H_A, 14, 0, 0);
    t.cpu.r[R_R14] = 0;
    t.cpu.nmi_latched = 1;
    atomic_fetch_or(&t.cpu.events, EV_NMI);
    static const uint8_t code[] = { 0x90, 0x90, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 2);
    CHECK_EQ(t.cpu.nmi_latched, 0);
    CHECK_EQ(atomic_load(&t.cpu.events) & EV_NMI, 0);
    th_destroy(&t);
}
