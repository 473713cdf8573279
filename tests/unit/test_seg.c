/*
 * test_seg.c — segment-register loads and descriptor instructions
 * (src/cpu/seg.c): MOV/PUSH/POP Sreg, LDS/LSS, the protected-mode selector
 * checks with their error codes, null selectors, real-mode loads, LLDT/LTR
 * through the system instructions, LAR/LSL/VERR/VERW/ARPL.
 *
 * The code arrays were assembled with nasm from the source in the comments.
 */
#include "seg_test.h"

/*
 *   mov ebx, 0xffffffff
 *   mov ebx, ds         ; 32-bit register destination: zero-extended
 *   mov eax, 0xffffffff
 *   mov ax, ds          ; 16-bit: merged
 *   mov dword [0x20000], 0xffffffff
 *   mov [0x20000], ds   ; memory: 16-bit store
 *   push es             ; 32-bit slot, 16-bit write
 *   pop fs
 *   lds esi, [0x20100]  ; offset, then selector
 *   lss esp, [0x20108]
 *   hlt
 */
static const uint8_t pm_sreg_moves[] = {
    0xbb, 0xff, 0xff, 0xff, 0xff, 0x8c, 0xdb, 0xb8, 0xff, 0xff, 0xff, 0xff,
    0x66, 0x8c, 0xd8, 0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0xff, 0xff, 0xff,
    0xff, 0x8c, 0x1d, 0x00, 0x00, 0x02, 0x00, 0x06, 0x0f, 0xa1, 0xc5, 0x35,
    0x00, 0x01, 0x02, 0x00, 0x0f, 0xb2, 0x25, 0x08, 0x01, 0x02, 0x00, 0xf4,
};
/*
 *   mov ax, 0x68
 *   lar ebx, ax         ; 16-bit data segment: 0x00009300
 *   lsl ecx, ax         ; 0xffff
 *   mov ax, 0x18
 *   lsl edx, ax         ; G=1: 0xffffffff
 *   mov ax, 0x40
 *   lar esi, ax         ; busy 32-bit TSS: 0x8b00
 *   mov ax, 0x1f8
 *   mov edi, 0x12345678
 *   lar edi, ax         ; beyond the GDT: ZF=0, EDI unchanged
 *   setz al
 *   hlt
 */
static const uint8_t pm_lar_lsl[] = {
    0x66, 0xb8, 0x68, 0x00, 0x0f, 0x02, 0xd8, 0x0f, 0x03, 0xc8, 0x66, 0xb8,
    0x18, 0x00, 0x0f, 0x03, 0xd0, 0x66, 0xb8, 0x40, 0x00, 0x0f, 0x02, 0xf0,
    0x66, 0xb8, 0xf8, 0x01, 0xbf, 0x78, 0x56, 0x34, 0x12, 0x0f, 0x02, 0xf8,
    0x0f, 0x94, 0xc0, 0xf4,
};
/*
 *   xor ebx, ebx
 *   mov ax, 0x18        ; readable code
 *   verr ax
 *   setz bl
 *   mov ax, 0x70        ; execute-only code
 *   verr ax
 *   setz bh
 *   mov ax, 0x10        ; writable data
 *   verw ax
 *   setz cl
 *   mov ax, 0x18        ; code is never writable
 *   verw ax
 *   setz ch
 *   mov ax, 0x13        ; RPL 3 > DPL 0
 *   verr ax
 *   setz dl
 *   hlt
 */
static const uint8_t pm_verr_verw[] = {
    0x31, 0xdb, 0x66, 0xb8, 0x18, 0x00, 0x0f, 0x00, 0xe0, 0x0f, 0x94, 0xc3,
    0x66, 0xb8, 0x70, 0x00, 0x0f, 0x00, 0xe0, 0x0f, 0x94, 0xc7, 0x66, 0xb8,
    0x10, 0x00, 0x0f, 0x00, 0xe8, 0x0f, 0x94, 0xc1, 0x66, 0xb8, 0x18, 0x00,
    0x0f, 0x00, 0xe8, 0x0f, 0x94, 0xc5, 0x66, 0xb8, 0x13, 0x00, 0x0f, 0x00,
    0xe0, 0x0f, 0x94, 0xc2, 0xf4,
};
/*
 *   mov ax, 0x10
 *   mov cx, 0x3
 *   arpl ax, cx         ; AX.RPL 0 < 3: AX = 0x13, ZF=1
 *   setz bl
 *   arpl ax, cx         ; equal: unchanged, ZF=0
 *   setz bh
 *   hlt
 */
static const uint8_t pm_arpl[] = {
    0x66, 0xb8, 0x10, 0x00, 0x66, 0xb9, 0x03, 0x00, 0x63, 0xc8, 0x0f, 0x94,
    0xc3, 0x63, 0xc8, 0x0f, 0x94, 0xc7, 0xf4,
};
/*
 *   xor eax, eax
 *   mov ss, ax          ; null SS at CPL 0 in 64-bit mode: allowed
 *   mov fs, ax
 *   push 0x1234         ; the stack still works (flat)
 *   pop rbx
 *   hlt
 */
static const uint8_t lm_null_ss[] = {
    0x31, 0xc0, 0x8e, 0xd0, 0x8e, 0xe0, 0x68, 0x34, 0x12, 0x00, 0x00, 0x5b,
    0xf4,
};

/* Run "mov ax, sel; mov <sreg>, ax; hlt" in the current mode. */
static enum th_result load_sreg(struct th *t, int sreg, uint16_t sel)
{
    uint8_t code[] = { 0x66, 0xb8, (uint8_t)sel, (uint8_t)(sel >> 8),
                       0x8e, (uint8_t)(0xc0 | (sreg << 3)), 0xf4 };
    t->cpu.in_event = 0;
    return th_run(t, code, sizeof code);
}

#define LOAD_FAULTS(t, sreg, sel, vec, err)                                  \
    do {                                                                     \
        CHECK_EQ(load_sreg((t), (sreg), (sel)), TH_EXCEPTION);               \
        CHECK_EQ((t)->vector, (vec));                                        \
        CHECK_EQ((t)->error, (err));                                         \
    } while (0)

TEST(seg_mov_sreg_protected_checks)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    t.cpu.trap_exceptions = true;
    LOAD_FAULTS(&t, SEG_DS, 0x1f8, EXC_GP, 0x1f8); /* beyond the GDT limit */
    LOAD_FAULTS(&t, SEG_DS, 0x1fb, EXC_GP, 0x1f8); /* RPL stripped */
    LOAD_FAULTS(&t, SEG_DS, 0x38, EXC_NP, 0x38);   /* not present */
    LOAD_FAULTS(&t, SEG_DS, 0x13, EXC_GP, 0x10);   /* RPL 3 > DPL 0 */
    LOAD_FAULTS(&t, SEG_ES, 0x70, EXC_GP, 0x70);   /* execute-only code */
    LOAD_FAULTS(&t, SEG_FS, 0x40, EXC_GP, 0x40);   /* system descriptor */
    t.cpu.ldtr.ar = AR_UNUSABLE;
    LOAD_FAULTS(&t, SEG_GS, 0x0c, EXC_GP, 0x0c);   /* TI=1 without an LDT */
    LOAD_FAULTS(&t, SEG_SS, 0x13, EXC_GP, 0x10);   /* SS: RPL != CPL */
    LOAD_FAULTS(&t, SEG_SS, 0x18, EXC_GP, 0x18);   /* SS: code */
    LOAD_FAULTS(&t, SEG_SS, 0x2b, EXC_GP, 0x28);   /* SS: RPL/DPL 3 at CPL 0 */
    LOAD_FAULTS(&t, SEG_SS, 0x38, EXC_SS, 0x38);   /* SS: not present */
    LOAD_FAULTS(&t, SEG_SS, 0x00, EXC_GP, 0);      /* SS: null outside 64-bit */
    LOAD_FAULTS(&t, SEG_CS, 0x18, EXC_UD, NO_ERR); /* MOV CS */
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 0x10);         /* nothing committed */
    /* readable code is fine in DS; DPL 3 data is fine at CPL 0 */
    CHECK_EQ(load_sreg(&t, SEG_DS, 0x18), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 0x18);
    CHECK_EQ(load_sreg(&t, SEG_ES, 0x2b), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_ES].ar & 0xff, 0xf3);
    th_destroy(&t);
}

TEST(seg_load_decodes_descriptor_and_sets_accessed)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    *(uint8_t *)th_mem(&t, SG_GDT + SG_DATA3B + 5) = 0x92; /* accessed clear */
    *(uint32_t *)th_mem(&t, 0x20010) = 0x600dcafe;
    /* mov ax, 0x78; mov es, ax; mov eax, [es:0x10]; hlt */
    static const uint8_t code[] = { 0x66, 0xb8, 0x78, 0x00, 0x8e, 0xc0,
                                    0x26, 0xa1, 0x10, 0x00, 0x00, 0x00, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x600dcafe);
    CHECK_EQ(t.cpu.seg[SEG_ES].base, 0x20000);
    CHECK_EQ(t.cpu.seg[SEG_ES].limit, 0xfff);
    CHECK_EQ(t.cpu.seg[SEG_ES].ar, 0x4093);
    CHECK_EQ(*(uint8_t *)th_mem(&t, SG_GDT + SG_DATA3B + 5), 0x93);
    /* beyond the byte-granular limit: #GP(0) */
    static const uint8_t over[] = { 0x26, 0xa1, 0xfe, 0x0f, 0x00, 0x00, 0xf4 };
    CHECK_EQ(th_run(&t, over, sizeof over), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    th_destroy(&t);
}

TEST(seg_null_data_selector)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    CHECK_EQ(load_sreg(&t, SEG_DS, 0x0003), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 3);
    CHECK(t.cpu.seg[SEG_DS].ar & AR_UNUSABLE);
    static const uint8_t use[] = { 0xa1, 0x00, 0x00, 0x02, 0x00, 0xf4 }; /* mov eax, [0x20000] */
    CHECK_EQ(th_run(&t, use, sizeof use), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    th_destroy(&t);
}

TEST(seg_null_ss_64bit)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    t.cpu.seg[SEG_FS].base = 0x12345678;
    CHECK_EQ(th_run(&t, lm_null_ss, sizeof lm_null_ss), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x1234);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0);
    CHECK(t.cpu.seg[SEG_SS].ar & AR_UNUSABLE);
    CHECK_EQ(AR_DPL(t.cpu.seg[SEG_SS].ar), 0);
    CHECK_EQ(t.cpu.seg[SEG_FS].base, 0); /* Intel: a null load clears the base */
    /* RPL != CPL → #GP(0) */
    t.cpu.trap_exceptions = true;
    LOAD_FAULTS(&t, SEG_SS, 0x0003, EXC_GP, 0);
    /* at CPL 3 → #GP(0) */
    sg_enter_ring3(&t, true);
    LOAD_FAULTS(&t, SEG_SS, 0x0003, EXC_GP, 0);
    /* a DPL-0 data segment in DS from ring 3 → #GP(sel) */
    LOAD_FAULTS(&t, SEG_DS, 0x10, EXC_GP, 0x10);
    th_destroy(&t);
}

TEST(seg_real_mode_load)
{
    struct th t;
    th_init(&t, TH_REAL);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu_set_seg(&t.cpu, SEG_DS, 0, 0, 0xffffffff, 0x8093); /* "unreal" DS */
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0x8e, 0xd8, 0x8e, 0xd0, 0xf4 };
    sg_put(&t, 0x10000, code, sizeof code);
    t.cpu.rip = 0;
    CHECK_EQ(th_run_steps(&t, NULL, 0, 10), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 0x1234);
    CHECK_EQ(t.cpu.seg[SEG_DS].base, 0x12340);
    CHECK_EQ(t.cpu.seg[SEG_DS].limit, 0xffffffff); /* limit kept (SDM 20.1.1) */
    CHECK_EQ(t.cpu.seg[SEG_SS].base, 0x12340);
    CHECK_EQ(t.cpu.intr_shadow, 0); /* MOV SS shadow ended with the block */
    th_destroy(&t);
}

TEST(seg_push_pop_mov_lds_lss)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    *(uint32_t *)th_mem(&t, TH_STACK - 4) = 0xffffffff;
    uint8_t ptrs[] = { 0x01, 0xef, 0xcd, 0xab, 0x2b, 0x00, 0, 0,  /* 002b:abcdef01 */
                       0x00, 0x70, 0x00, 0x00, 0x10, 0x00 };      /* 0010:00007000 */
    sg_put(&t, 0x20100, ptrs, sizeof ptrs);
    CHECK_EQ(th_run(&t, pm_sreg_moves, sizeof pm_sreg_moves), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x10);
    CHECK_EQ(t.cpu.r[R_AX], 0xffff0010);
    CHECK_EQ(*(uint32_t *)th_mem(&t, 0x20000), 0xffff0010);
    CHECK_EQ(*(uint32_t *)th_mem(&t, TH_STACK - 4), 0xffff0010); /* 16-bit write */
    CHECK_EQ(t.cpu.seg[SEG_FS].sel, 0x10);
    CHECK_EQ(t.cpu.r[R_SI], 0xabcdef01);
    CHECK_EQ(t.cpu.seg[SEG_DS].sel, 0x2b);
    CHECK_EQ(t.cpu.r[R_SP], 0x7000);
    CHECK_EQ(t.cpu.seg[SEG_SS].sel, 0x10);
    th_destroy(&t);
}

TEST(seg_push_pop_sreg_64)
{
    /* push fs (zero-extended to 64 bits); pop gs; mov rax, -1; mov eax, gs */
    static const uint8_t code[] = { 0x0f, 0xa0, 0x0f, 0xa9, 0x48, 0xc7, 0xc0, 0xff, 0xff,
                                    0xff, 0xff, 0x48, 0x8c, 0xe8, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    sg_put64(&t, TH_STACK - 8, ~0ull);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(sg_get64(&t, TH_STACK - 8), 0x10);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    CHECK_EQ(t.cpu.seg[SEG_GS].sel, 0x10);
    CHECK_EQ(t.cpu.r[R_AX], 0x10);
    /* 06 (push es) is invalid in 64-bit mode */
    static const uint8_t bad[] = { 0x06, 0xf4 };
    CHECK_EQ(th_run(&t, bad, sizeof bad), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    th_destroy(&t);
}

TEST(seg_lldt_ltr)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    sg_gdt(&t, 0x48, sg_desc(0x4000, 0x17, 0x82, 0)); /* LDT */
    sg_put64(&t, 0x4008, sg_desc(0x30000, 0xffff, 0x93, 0));
    sg_gdt(&t, SG_TSSSEL, sg_desc(0x2000, 0x67, 0x89, 0)); /* available TSS */
    *(uint32_t *)th_mem(&t, 0x30010) = 0x5a5a;
    /* mov ax,0x48; lldt ax; mov ax,0x0c; mov es,ax; mov eax,[es:0x10];
     * mov cx,0x40; ltr cx; hlt */
    static const uint8_t code[] = { 0x66, 0xb8, 0x48, 0x00, 0x0f, 0x00, 0xd0, 0x66, 0xb8,
                                    0x0c, 0x00, 0x8e, 0xc0, 0x26, 0xa1, 0x10, 0x00, 0x00,
                                    0x00, 0x66, 0xb9, 0x40, 0x00, 0x0f, 0x00, 0xd9, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.ldtr.sel, 0x48);
    CHECK_EQ(t.cpu.ldtr.base, 0x4000);
    CHECK_EQ(t.cpu.ldtr.limit, 0x17);
    CHECK_EQ(t.cpu.r[R_AX], 0x5a5a);
    CHECK_EQ(t.cpu.seg[SEG_ES].base, 0x30000);
    CHECK_EQ(t.cpu.tr.sel, 0x40);
    CHECK_EQ(t.cpu.tr.base, 0x2000);
    CHECK_EQ(AR_TYPE(t.cpu.tr.ar), 11);
    CHECK_EQ(*(uint8_t *)th_mem(&t, SG_GDT + SG_TSSSEL + 5), 0x8b); /* busy */
    /* LTR of a busy TSS → #GP(sel); LLDT of a non-LDT → #GP(sel) */
    static const uint8_t again[] = { 0x66, 0xb9, 0x40, 0x00, 0x0f, 0x00, 0xd9, 0xf4 };
    CHECK_EQ(th_run(&t, again, sizeof again), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x40);
    static const uint8_t badldt[] = { 0x66, 0xb8, 0x10, 0x00, 0x0f, 0x00, 0xd0, 0xf4 };
    CHECK_EQ(th_run(&t, badldt, sizeof badldt), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x10);
    th_destroy(&t);
}

TEST(seg_ltr_long_mode_16_byte_descriptor)
{
    struct th t;
    th_init(&t, TH_LONG64);
    sg_setup_gdt(&t);
    sg_gdt16(&t, SG_TSSSEL, sg_desc(0x2000, 0x67, 0x89, 0), 0xffff8000ull);
    static const uint8_t code[] = { 0x66, 0xb8, 0x40, 0x00, 0x0f, 0x00, 0xd8, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.tr.base, 0xffff800000002000ull);
    CHECK_EQ(AR_TYPE(t.cpu.tr.ar), 11);
    /* non-zero type in the upper half → #GP(sel) */
    sg_gdt16(&t, SG_TSSSEL, sg_desc(0x2000, 0x67, 0x89, 0), 0x0000010000000000ull);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0x40);
    th_destroy(&t);
}

TEST(seg_lar_lsl)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_prot(&t);
    CHECK_EQ(th_run(&t, pm_lar_lsl, sizeof pm_lar_lsl), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x00009300);
    CHECK_EQ(t.cpu.r[R_CX], 0xffff);
    CHECK_EQ(t.cpu.r[R_DX], 0xffffffff);
    CHECK_EQ(t.cpu.r[R_SI], 0x8b00);
    CHECK_EQ(t.cpu.r[R_DI], 0x12345678);
    CHECK_EQ(t.cpu.r[R_AX] & 0xff, 0); /* ZF clear */
    th_destroy(&t);
    /* not in real mode */
    th_init(&t, TH_REAL);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    static const uint8_t lar[] = { 0x0f, 0x02, 0xd8, 0xf4 };
    sg_put(&t, 0x10000, lar, sizeof lar);
    t.cpu.rip = 0;
    CHECK_EQ(th_run_steps(&t, NULL, 0, 10), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    th_destroy(&t);
}

TEST(seg_verr_verw)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    CHECK_EQ(th_run(&t, pm_verr_verw, sizeof pm_verr_verw), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX] & 0xff, 1);        /* VERR readable code */
    CHECK_EQ((t.cpu.r[R_BX] >> 8) & 0xff, 0); /* VERR execute-only */
    CHECK_EQ(t.cpu.r[R_CX] & 0xff, 1);        /* VERW data */
    CHECK_EQ((t.cpu.r[R_CX] >> 8) & 0xff, 0); /* VERW code */
    CHECK_EQ(t.cpu.r[R_DX] & 0xff, 0);        /* RPL > DPL */
    th_destroy(&t);
}

TEST(seg_arpl)
{
    struct th t;
    th_init(&t, TH_PROT32);
    sg_setup_gdt(&t);
    CHECK_EQ(th_run(&t, pm_arpl, sizeof pm_arpl), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0x13);
    CHECK_EQ(t.cpu.r[R_BX] & 0xffff, 0x0001);
    th_destroy(&t);
}
