/*
 * test_debug.c — debug facilities (src/cpu/debug.c, SDM Vol.3 chapter 17):
 * single-step traps and when they are suppressed, instruction breakpoints
 * and RF, data breakpoints and DR6 reporting, ICEBP, MOV SS deferral, HLT
 * under single-step.  Programs run in 64-bit mode with a real IDT; the #DB
 * handler logs (return RIP, DR6) pairs.
 */
#include "seg_test.h"

#define H_DB 0x3000ull  /* #DB handler */
#define H_INT 0x3100ull /* INT 0x40 / #BP handler */
#define LOG TH_DATA     /* r15: log of (RIP, DR6) pairs; r14 counts them */
#define WATCH (TH_DATA + 0x800)

/*
 *   push rax
 *   push rbx
 *   mov rax, [rsp+16]        ; return RIP
 *   mov rbx, r14
 *   shl rbx, 4
 *   mov [r15+rbx], rax
 *   mov rax, dr6
 *   mov [r15+rbx+8], rax
 *   inc r14
 *   bts qword [rsp+32], 16   ; RF in the image: an instruction breakpoint
 *                            ; does not fire again on return
 *   pop rbx
 *   pop rax
 *   iretq
 */
static const uint8_t db_handler[] = {
    0x50, 0x53, 0x48, 0x8b, 0x44, 0x24, 0x10, 0x4c, 0x89, 0xf3, 0x48, 0xc1, 0xe3, 0x04,
    0x49, 0x89, 0x04, 0x1f, 0x0f, 0x21, 0xf0, 0x49, 0x89, 0x44, 0x1f, 0x08, 0x49, 0xff,
    0xc6, 0x48, 0x0f, 0xba, 0x6c, 0x24, 0x20, 0x10, 0x5b, 0x58, 0x48, 0xcf,
};
/*
 *   inc r13
 *   iretq
 */
static const uint8_t int_handler[] = { 0x49, 0xff, 0xc5, 0x48, 0xcf };

static void db_init(struct th *t)
{
    th_init(t, TH_LONG64);
    sg_setup_long(t);
    sg_put(t, H_DB, db_handler, sizeof db_handler);
    sg_put(t, H_INT, int_handler, sizeof int_handler);
    sg_idt64(t, EXC_DB, 0x08, H_DB, 14, 0, 0);
    sg_idt64(t, EXC_BP, 0x08, H_INT, 14, 3, 0);
    sg_idt64(t, 0x40, 0x08, H_INT, 14, 3, 0);
    t->cpu.r[R_R15] = LOG;
    t->cpu.r[R_R14] = 0;
    t->cpu.r[R_R13] = 0;
    t->cpu.dr[6] = 0xffff0ff0;
}

static uint64_t log_rip(struct th *t, int i)
{
    return sg_get64(t, LOG + 16 * (uint64_t)i);
}

static uint64_t log_dr6(struct th *t, int i)
{
    return sg_get64(t, LOG + 16 * (uint64_t)i + 8);
}

#define DR6_IDLE 0xffff0ff0ull
#define BS (1ull << 14)

/* TF set by POPF traps after the next instruction; the POPF that clears TF
 * still traps (TF was set when it started). */
TEST(debug_single_step_basic)
{
    /*
     * 10000 pushf; 10001 pop rax; 10002 or rax,0x100 (48 0d 00 01 00 00)
     * 10008 push rax; 10009 popf          ; TF = 1 from here
     * 1000a and rax,~0x100 (48 25 ff fe ff ff)   ; #DB after: RIP 10010
     * 10010 push rax                      ; #DB: 10011
     * 10011 popf                          ; #DB: 10012 (TF now 0)
     * 10012 nop; 10013 hlt
     */
    static const uint8_t code[] = { 0x9c, 0x58, 0x48, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x50, 0x9d,
                                    0x48, 0x25, 0xff, 0xfe, 0xff, 0xff, 0x50, 0x9d, 0x90, 0xf4 };
    struct th t;
    db_init(&t);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 3);
    CHECK_EQ(log_rip(&t, 0), 0x10010);
    CHECK_EQ(log_rip(&t, 1), 0x10011);
    CHECK_EQ(log_rip(&t, 2), 0x10012);
    CHECK_EQ(log_dr6(&t, 0), DR6_IDLE | BS);
    CHECK_EQ(log_dr6(&t, 2), DR6_IDLE | BS);
    th_destroy(&t);
}

/* No single-step trap after INT n (the handler runs with TF clear and the
 * trap comes after the first instruction back), none after MOV SS. */
TEST(debug_single_step_int_and_movss)
{
    /*
     * 10000 pushf; pop rax; or rax,0x100; push rax; popf   ; TF = 1
     * 1000a int 0x40          ; no #DB at the handler entry
     * 1000c nop               ; the IRETQ returned here: #DB after it, RIP 1000d
     * 1000d mov ax, ss (8c d0); 1000f mov ss, ax (8e d0)   ; #DB after 1000d: 1000f
     * 10011 nop               ; MOV SS: no #DB at 10011; after the nop: 10012
     * 10012 and rax,~0x100; push rax; popf; hlt
     */
    static const uint8_t code[] = { 0x9c, 0x58, 0x48, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x50, 0x9d,
                                    0xcd, 0x40, 0x90, 0x8c, 0xd0, 0x8e, 0xd0, 0x90,
                                    0x48, 0x25, 0xff, 0xfe, 0xff, 0xff, 0x50, 0x9d, 0xf4 };
    struct th t;
    db_init(&t);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R13], 1); /* INT 0x40 handler ran */
    CHECK_EQ(log_rip(&t, 0), 0x1000d); /* after the NOP the IRETQ returned to */
    CHECK_EQ(log_rip(&t, 1), 0x1000f); /* after MOV AX, SS */
    CHECK_EQ(log_rip(&t, 2), 0x10012); /* not 10011: MOV SS suppresses its trap */
    CHECK_EQ(log_rip(&t, 3), 0x10018);
    CHECK_EQ(log_rip(&t, 4), 0x10019);
    CHECK_EQ(log_rip(&t, 5), 0x1001a);
    CHECK_EQ(t.cpu.r[R_R14], 6);
    th_destroy(&t);
}

/* An instruction breakpoint is a fault before the instruction; the handler
 * sets RF so the instruction then runs once; RF is cleared afterwards and a
 * second pass hits again. */
TEST(debug_instruction_breakpoint_and_rf)
{
    /*
     * 10000 inc r12           ; 49 ff c4
     * 10003 inc r12           ; breakpoint on this one
     * 10006 dec rcx; jnz 10000 (48 ff c9 75 f5)
     * 1000b hlt
     */
    static const uint8_t code[] = { 0x49, 0xff, 0xc4, 0x49, 0xff, 0xc4, 0x48, 0xff, 0xc9,
                                    0x75, 0xf5, 0xf4 };
    struct th t;
    db_init(&t);
    t.cpu.dr[2] = 0x10003;
    t.cpu.dr[7] = 0x400 | 0x20; /* G2, R/W2 = 00 execute, LEN2 = 00 */
    t.cpu.r[R_CX] = 2;
    t.cpu.r[R_R12] = 0;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R12], 4); /* every instruction ran exactly once per pass */
    CHECK_EQ(t.cpu.r[R_R14], 2);
    CHECK_EQ(log_rip(&t, 0), 0x10003); /* fault: RIP of the instruction */
    CHECK_EQ(log_dr6(&t, 0), DR6_IDLE | 4);
    CHECK_EQ(log_rip(&t, 1), 0x10003);
    CHECK_EQ(t.cpu.rflags & FL_RF, 0);

    /* mov ax, ss; mov ss, ax; inc r12; hlt: MOV SS blocking inhibits the
     * breakpoint on the instruction after it */
    static const uint8_t movss[] = { 0x8c, 0xd0, 0x8e, 0xd0, 0x49, 0xff, 0xc4, 0xf4 };
    t.cpu.dr[2] = 0x10004;
    t.cpu.r[R_R14] = 0;
    CHECK_EQ(th_run(&t, movss, sizeof movss), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 0);
    CHECK_EQ(t.cpu.r[R_R12], 5);
    th_destroy(&t);
}

/* Data breakpoints trap after the access; B0-B3 report the match and BS
 * is left as software set it. */
TEST(debug_data_breakpoint_write_and_read)
{
    /*
     * 10000 mov eax, [rdi]    ; 8b 07: read -- write-only breakpoint: no #DB
     * 10002 mov [rdi+4], eax  ; 89 47 04: overlaps the 4-byte range? no
     * 10005 mov [rdi+2], ax   ; 66 89 47 02: overlaps: #DB after, RIP 10009
     * 10009 hlt
     */
    static const uint8_t code[] = { 0x8b, 0x07, 0x89, 0x47, 0x04, 0x66, 0x89, 0x47, 0x02, 0xf4 };
    struct th t;
    db_init(&t);
    t.cpu.dr[1] = WATCH + 1;                                 /* LEN 4: watches WATCH..+3 */
    t.cpu.dr[7] = 0x400 | 0x08 | 1u << 20 | 3u << 22;        /* G1, R/W1 = 01, LEN1 = 11 */
    t.cpu.dr[6] = DR6_IDLE | BS | 1;                         /* stale B0 and a BS */
    t.cpu.r[R_DI] = WATCH;
    tlb_flush_all(&t.cpu);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 1);
    CHECK_EQ(log_rip(&t, 0), 0x10009);
    CHECK_EQ(log_dr6(&t, 0), DR6_IDLE | BS | 2); /* B0 rewritten, BS kept */

    /* R/W = 11: reads trap too, also through the TLB-cached page */
    t.cpu.dr[7] = 0x400 | 0x08 | 3u << 20 | 3u << 22;
    static const uint8_t rd[] = { 0x8b, 0x07, 0x8b, 0x07, 0xf4 };
    t.cpu.r[R_R14] = 0;
    tlb_flush_all(&t.cpu);
    CHECK_EQ(th_run(&t, rd, sizeof rd), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 2);
    CHECK_EQ(log_rip(&t, 0), 0x10002);
    CHECK_EQ(log_rip(&t, 1), 0x10004);
    th_destroy(&t);
}

/* MOV SS defers its breakpoint trap past the next instruction; ICEBP
 * reports it with its own #DB (one delivery), INT n gets it at the
 * handler's first instruction. */
TEST(debug_movss_breakpoint_deferral)
{
    /*
     * 10000 mov ss, [rdi]     ; 8e 17: read of a watched word
     * 10002 icebp             ; f1: one #DB, RIP 10003, DR6.B0
     * 10003 hlt
     */
    static const uint8_t icebp[] = { 0x8e, 0x17, 0xf1, 0xf4 };
    struct th t;
    db_init(&t);
    sg_put64(&t, WATCH, 0x10); /* the data selector */
    t.cpu.dr[0] = WATCH;
    t.cpu.dr[7] = 0x400 | 0x02 | 3u << 16 | 1u << 18; /* G0, R/W0 = 11, LEN0 = 01 */
    t.cpu.r[R_DI] = WATCH;
    tlb_flush_all(&t.cpu);
    CHECK_EQ(th_run(&t, icebp, sizeof icebp), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 1);
    CHECK_EQ(log_rip(&t, 0), 0x10003);
    CHECK_EQ(log_dr6(&t, 0), DR6_IDLE | 1);

    /* 10000 mov ss, [rdi]; 10002 int 0x40; 10004 hlt: the #DB comes first,
     * at the INT handler's entry, then the handler runs */
    static const uint8_t intn[] = { 0x8e, 0x17, 0xcd, 0x40, 0xf4 };
    t.cpu.r[R_R14] = 0;
    CHECK_EQ(th_run(&t, intn, sizeof intn), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 1);
    CHECK_EQ(log_rip(&t, 0), H_INT);
    CHECK_EQ(t.cpu.r[R_R13], 1);
    CHECK_EQ(t.cpu.rip, 0x10005);
    th_destroy(&t);
}

/* HLT under single-step: the trap is taken at once, ending the halt. */
TEST(debug_single_step_hlt)
{
    /* pushf; pop rax; or rax,0x100; push rax; popf; 1000a hlt; 1000b and; push; popf; hlt */
    static const uint8_t code[] = { 0x9c, 0x58, 0x48, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x50, 0x9d,
                                    0xf4, 0x48, 0x25, 0xff, 0xfe, 0xff, 0xff, 0x50, 0x9d, 0xf4 };
    struct th t;
    db_init(&t);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_R14], 4);
    CHECK_EQ(log_rip(&t, 0), 0x1000b); /* the #DB ended the halt */
    CHECK_EQ(log_dr6(&t, 0), DR6_IDLE | BS);
    CHECK_EQ(log_rip(&t, 1), 0x10011);
    CHECK_EQ(log_rip(&t, 3), 0x10013);
    CHECK_EQ(t.cpu.rip, 0x10014); /* the final HLT (TF clear) halted */
    th_destroy(&t);
}
