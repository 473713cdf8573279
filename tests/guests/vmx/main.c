/*
 * main.c — the VT-x acceptance guest's entry: descriptor tables, paging,
 * command line (-v: print "RUN name" before each test; only=a,b: run the
 * tests whose names contain a or b; fuzz=N, fuzzseed=S: attempts and seed
 * of the fuzzer in t_fuzz.c), then every test table, the summary
 * line "vmx tests: N passed, M failed, K skipped", and the isa-debug-exit
 * status (0 = all passed, else the number of failures, at most 127).
 */
#include "desc.h"
#include "vmx_lib.h"

uint64_t boot_params;
uint8_t stack[65536] ALIGNED(16);
uint64_t l1_cr0, l1_cr4, l1_efer, l1_pat;
extern char rm_blob[], rm_blob_end[];
static char cmdline[256];

/* Decimal, or hexadecimal with 0x. */
static uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
            d = (unsigned)((*s | 0x20) - 'a' + 10);
        else
            break;
        v = v * base + d;
    }
    return v;
}

static void parse_cmdline(void)
{
    if (!boot_params)
        return;
    uint32_t ptr = *(volatile uint32_t *)(boot_params + 0x228); /* cmd_line_ptr (boot.rst) */
    if (!ptr || ptr >= 0x10000000)
        return;
    const char *s = (const char *)(uint64_t)ptr;
    size_t i;
    for (i = 0; i + 1 < sizeof cmdline && s[i]; i++)
        cmdline[i] = s[i];
    cmdline[i] = 0;
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "-v", 2) && (p[2] == ' ' || !p[2]))
            verbose = true;
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "only=", 5))
            test_filter = p + 5;
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "fuzz=", 5))
            fuzz_iterations = parse_u64(p + 5);
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "fuzzseed=", 9))
            fuzz_seed = parse_u64(p + 9);
    }
}

void kmain(void)
{
    parse_cmdline();
    desc_init();
    paging_init();
    write_cr0((read_cr0() | CR0_NE | CR0_ET | CR0_MP) & ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW));
    memcpy((void *)RM_BASE, rm_blob, (size_t)(rm_blob_end - rm_blob));
    /* LAPIC software-enabled, spurious vector 0xff (SDM 10.9) */
    lapic_write(0xf0, 0x1ff);
    lapic_write(0x80, 0); /* TPR 0 */
    printf("vmx tests: nestvm VT-x acceptance guest%s%s\n", test_filter ? ", only=" : "",
           test_filter ? test_filter : "");

    uint32_t a, b, c, d;
    cpuid2(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 5))) {
        printf("FAIL cpuid_vmx: CPUID.1:ECX.VMX[bit 5] = 0 (SDM 23.6)\n");
        printf("vmx tests: 0 passed, 1 failed, 0 skipped\n");
        debug_exit(1);
    }
    caps_read();
    ept_init();
    l1_cr0 = read_cr0();
    l1_cr4 = read_cr4() | CR4_VMXE;
    l1_efer = rdmsr(MSR_EFER);
    l1_pat = rdmsr(MSR_PAT);

    run_tests(insn_tests, n_insn_tests);
    run_tests(exit_tests, n_exit_tests);
    run_tests(access_tests, n_access_tests);
    run_tests(event_tests, n_event_tests);
    run_tests(ept_tests, n_ept_tests);
    run_tests(virt_tests, n_virt_tests);
    run_tests(apicv_tests, n_apicv_tests);
    run_tests(prio_tests, n_prio_tests);
    run_tests(state_tests, n_state_tests);
    run_tests(mode_tests, n_mode_tests);
    run_tests(entry_tests, n_entry_tests);
    run_tests(robust_tests, n_robust_tests);
    run_tests(regress_tests, n_regress_tests);
    run_tests(fuzz_tests, n_fuzz_tests); /* last: it reprograms much of L1's state */

    printf("vmx tests: %d passed, %d failed, %d skipped\n", total_pass, total_fail, total_skip);
    debug_exit(total_fail > 127 ? 127 : (uint32_t)total_fail);
}
