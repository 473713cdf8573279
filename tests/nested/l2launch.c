/*
 * l2launch.c — a minimal KVM launcher for nestvm's nested-virtualization test.
 *
 * Runs inside the L1 guest (the Debian kernel booted on nestvm with
 * NestedVirtualization=enabled, kvm_intel loaded) and starts a tiny L2 guest
 * through /dev/kvm: one 2 MiB memory slot at guest-physical 0, the flat
 * binary IMAGE copied to 0x1000, one vCPU starting in real mode at
 * CS:IP = 0000:1000 with all segments flat (base 0).
 *
 *   l2launch [-t SECONDS] [-v] [-T] [-a ARG] IMAGE
 *
 *   -T      print "L2-TIME: <ms> ms" at the end: CLOCK_MONOTONIC around the
 *           KVM_RUN loop, i.e. L2's run time as L1 sees it (make bench)
 *   -a ARG  start the guest with ARG (a number) in RDI instead of 0, e.g.
 *           the round count of the benchmark image bench/l2bench.bin
 *
 * Exits handled (Documentation/virt/kvm/api.rst, "struct kvm_run"):
 *   KVM_EXIT_IO  OUT to 0x3f8 / 0xe9   bytes are copied to stdout
 *                OUT to 0xf4           the launcher exits with that value
 *                IN  from 0x3fd        0x60 (16550 LSR: THR empty), others 0
 *   KVM_EXIT_HLT                       done, exit status 0
 *   anything else (SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, MMIO, ...) prints a
 *   one-line "L2-LAUNCHER: error: ..." with the exit details plus the vCPU
 *   registers and exits non-zero.
 * A wall-clock limit (alarm, default 300 s) makes it impossible to hang: the
 * first SIGALRM interrupts KVM_RUN (EINTR); if that does not happen within
 * 5 more seconds the second one _exit()s.
 *
 * Exit status: 0 success (HLT, or guest wrote 0 to port 0xf4); the guest's
 * value for other 0xf4 writes; 1 setup failure; 2 unexpected exit; 3 timeout.
 *
 * Uses only libc and <linux/kvm.h>; build: gcc -static -O2 (tests/nested/build.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define L2_MEM_SIZE   (2u << 20)
#define L2_LOAD_ADDR  0x1000u
#define L2_TSS_ADDR   0xfffbd000u   /* 3 pages, outside the memory slot */
#define L2_IDMAP_ADDR 0xfffbc000u   /* 1 page, just below the TSS */

#define PORT_COM1     0x3f8
#define PORT_COM1_LSR 0x3fd
#define PORT_E9       0xe9
#define PORT_EXIT     0xf4

static volatile sig_atomic_t l2_alarms;

static void l2_on_alarm(int sig)
{
    (void)sig;
    if (++l2_alarms >= 2) {
        static const char m[] = "L2-LAUNCHER: error: timeout, KVM_RUN did not return after SIGALRM\n";
        ssize_t r = write(2, m, sizeof m - 1);
        (void)r;
        _exit(3);
    }
    alarm(5);
}

static void die_errno(const char *what)
{
    printf("L2-LAUNCHER: error: %s: %s (errno %d)\n", what, strerror(errno), errno);
    fflush(stdout);
    exit(1);
}

static const char *exit_name(uint32_t r)
{
    switch (r) {
    case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
    case KVM_EXIT_IO: return "KVM_EXIT_IO";
    case KVM_EXIT_HYPERCALL: return "KVM_EXIT_HYPERCALL";
    case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG";
    case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
    case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
    case KVM_EXIT_IRQ_WINDOW_OPEN: return "KVM_EXIT_IRQ_WINDOW_OPEN";
    case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
    case KVM_EXIT_SET_TPR: return "KVM_EXIT_SET_TPR";
    case KVM_EXIT_TPR_ACCESS: return "KVM_EXIT_TPR_ACCESS";
    case KVM_EXIT_NMI: return "KVM_EXIT_NMI";
    case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_SYSTEM_EVENT: return "KVM_EXIT_SYSTEM_EVENT";
    default: return "KVM_EXIT_?";
    }
}

static const char *internal_suberror_name(uint32_t s)
{
    switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION: return "EMULATION";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "SIMUL_EX";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "DELIVERY_EV";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "UNEXPECTED_EXIT_REASON";
    default: return "?";
    }
}

/* Second line of every error report: where the L2 vCPU was. */
static void dump_vcpu(int vcpu)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_REGS, &r) < 0 || ioctl(vcpu, KVM_GET_SREGS, &s) < 0) {
        printf("L2-LAUNCHER: (registers unavailable: %s)\n", strerror(errno));
        return;
    }
    printf("L2-LAUNCHER: regs rip=%#llx rflags=%#llx rax=%#llx rsp=%#llx cs=%#x/base=%#llx/l=%u/db=%u "
           "cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx\n",
           (unsigned long long)r.rip, (unsigned long long)r.rflags, (unsigned long long)r.rax,
           (unsigned long long)r.rsp, s.cs.selector, (unsigned long long)s.cs.base, s.cs.l, s.cs.db,
           (unsigned long long)s.cr0, (unsigned long long)s.cr3, (unsigned long long)s.cr4,
           (unsigned long long)s.efer);
}

/* Offer the guest everything KVM supports (CPUID.80000001h:EDX.LM is needed
 * before KVM accepts EFER.LME).  Failure is reported but not fatal: a
 * real-mode-only guest does not need it. */
static void set_cpuid(int kvm, int vcpu)
{
    int n = 128;
    for (int tries = 0; tries < 4; tries++, n *= 2) {
        size_t sz = sizeof(struct kvm_cpuid2) + (size_t)n * sizeof(struct kvm_cpuid_entry2);
        struct kvm_cpuid2 *c = calloc(1, sz);
        if (!c)
            die_errno("calloc");
        c->nent = (uint32_t)n;
        if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            if (ioctl(vcpu, KVM_SET_CPUID2, c) < 0)
                printf("L2-LAUNCHER: warning: KVM_SET_CPUID2: %s\n", strerror(errno));
            free(c);
            return;
        }
        int e = errno;
        free(c);
        if (e != E2BIG) {
            printf("L2-LAUNCHER: warning: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(e));
            return;
        }
    }
    printf("L2-LAUNCHER: warning: KVM_GET_SUPPORTED_CPUID: too many entries\n");
}

static void flat_seg(struct kvm_segment *sg, int code)
{
    memset(sg, 0, sizeof *sg);
    sg->base = 0;
    sg->limit = 0xffff;
    sg->selector = 0;
    sg->type = code ? 0xb : 0x3;   /* execute/read accessed : read/write accessed */
    sg->present = 1;
    sg->s = 1;
    sg->dpl = 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: l2launch [-t SECONDS] [-v] [-T] [-a ARG] IMAGE\n");
    exit(1);
}

static int run_vcpu(int vcpu, struct kvm_run *run, int run_size, unsigned timeout, int verbose);

int main(int argc, char **argv)
{
    unsigned timeout = 300;
    int verbose = 0, timing = 0, opt;
    uint64_t arg = 0;
    char *end;
    while ((opt = getopt(argc, argv, "t:vTa:")) != -1) {
        switch (opt) {
        case 't': timeout = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'v': verbose = 1; break;
        case 'T': timing = 1; break;
        case 'a':
            errno = 0;
            arg = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "l2launch: -a wants a number, not '%s'\n", optarg);
                exit(1);
            }
            break;
        default: usage();
        }
    }
    if (optind != argc - 1)
        usage();
    const char *image = argv[optind];
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = l2_on_alarm;   /* no SA_RESTART: KVM_RUN returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    if (timeout)
        alarm(timeout);

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die_errno("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api < 0)
        die_errno("KVM_GET_API_VERSION");
    if (api != KVM_API_VERSION) {
        printf("L2-LAUNCHER: error: KVM API version %d, expected %d\n", api, KVM_API_VERSION);
        return 1;
    }
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
        printf("L2-LAUNCHER: error: KVM_CAP_USER_MEMORY missing\n");
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die_errno("KVM_CREATE_VM");

    /* VMX without unrestricted guest runs real mode in vm86 and needs a TSS
     * and an identity-mapped page table outside guest RAM (api.rst,
     * KVM_SET_TSS_ADDR).  Harmless otherwise; not all backends have it. */
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0) {
        if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)L2_TSS_ADDR) < 0)
            printf("L2-LAUNCHER: warning: KVM_SET_TSS_ADDR: %s\n", strerror(errno));
        uint64_t idmap = L2_IDMAP_ADDR;
        if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
            ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
            printf("L2-LAUNCHER: warning: KVM_SET_IDENTITY_MAP_ADDR: %s\n", strerror(errno));
    }

    uint8_t *mem = mmap(NULL, L2_MEM_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die_errno("mmap guest memory");

    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die_errno(image);
    size_t max = L2_MEM_SIZE - L2_LOAD_ADDR, got = 0;
    for (;;) {
        ssize_t r = read(fd, mem + L2_LOAD_ADDR + got, max - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die_errno(image);
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == max) {
            char extra;
            if (read(fd, &extra, 1) > 0) {
                printf("L2-LAUNCHER: error: %s larger than %zu bytes\n", image, max);
                return 1;
            }
            break;
        }
    }
    close(fd);
    if (got == 0) {
        printf("L2-LAUNCHER: error: %s is empty\n", image);
        return 1;
    }

    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0,
        .memory_size = L2_MEM_SIZE, .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die_errno("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die_errno("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        die_errno("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die_errno("mmap kvm_run");

    set_cpuid(kvm, vcpu);

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die_errno("KVM_GET_SREGS");
    flat_seg(&sregs.cs, 1);
    flat_seg(&sregs.ds, 0);
    flat_seg(&sregs.es, 0);
    flat_seg(&sregs.fs, 0);
    flat_seg(&sregs.gs, 0);
    flat_seg(&sregs.ss, 0);
    sregs.cr0 &= ~(uint64_t)0x80000001;   /* PG=0 PE=0: real mode */
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die_errno("KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = L2_LOAD_ADDR;
    regs.rflags = 0x2;
    regs.rsp = L2_LOAD_ADDR;   /* stack grows down from 0x1000 */
    regs.rdi = arg;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die_errno("KVM_SET_REGS");

    printf("L2-LAUNCHER: starting (%zu-byte image at %#x, %u KiB RAM, API %d)\n",
           got, L2_LOAD_ADDR, L2_MEM_SIZE >> 10, api);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = run_vcpu(vcpu, run, run_size, timeout, verbose);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (timing)
        printf("L2-TIME: %.1f ms\n",
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    return rc;
}

/* The KVM_RUN loop: handles exits until the guest halts, writes to port
 * 0xf4, fails or times out; returns l2launch's exit status. */
static int run_vcpu(int vcpu, struct kvm_run *run, int run_size, unsigned timeout, int verbose)
{
    unsigned long exits = 0, io_exits = 0;
    int at_line_start = 1;
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR && l2_alarms) {
                if (!at_line_start)
                    putchar('\n');
                printf("L2-LAUNCHER: error: timeout after %u s (%lu exits, %lu I/O)\n",
                       timeout, exits, io_exits);
                dump_vcpu(vcpu);
                return 3;
            }
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_RUN: %s (errno %d) after %lu exits\n",
                   strerror(errno), errno, exits);
            dump_vcpu(vcpu);
            return 2;
        }
        exits++;
        if (verbose)
            fprintf(stderr, "L2-LAUNCHER: exit %lu %s\n", exits, exit_name(run->exit_reason));
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            io_exits++;
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            size_t n = (size_t)run->io.size * run->io.count;
            if (run->io.data_offset > (uint64_t)run_size || n > (size_t)run_size - run->io.data_offset) {
                printf("L2-LAUNCHER: error: KVM_EXIT_IO data out of the kvm_run area\n");
                return 2;
            }
            if (run->io.direction == KVM_EXIT_IO_OUT) {
                if (run->io.port == PORT_COM1 || run->io.port == PORT_E9) {
                    for (size_t i = 0; i < n; i += run->io.size) {
                        putchar(data[i]);
                        at_line_start = data[i] == '\n';
                    }
                } else if (run->io.port == PORT_EXIT) {
                    if (!at_line_start)
                        putchar('\n');
                    printf("L2-LAUNCHER: guest wrote %u to port 0xf4 (%lu exits, %lu I/O)\n",
                           data[0], exits, io_exits);
                    return data[0];
                }
                /* other OUTs are ignored */
            } else {
                memset(data, 0, n);
                if (run->io.port == PORT_COM1_LSR && n)
                    data[0] = 0x60;
            }
            break;
        }
        case KVM_EXIT_HLT:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: guest halted (%lu exits, %lu I/O)\n", exits, io_exits);
            return 0;
        case KVM_EXIT_INTR:
            break;   /* loop: the alarm check happens on the EINTR path */
        case KVM_EXIT_FAIL_ENTRY:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_EXIT_FAIL_ENTRY hardware_entry_failure_reason=%#llx cpu=%u "
                   "after %lu exits\n",
                   (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                   run->fail_entry.cpu, exits);
            dump_vcpu(vcpu);
            return 2;
        case KVM_EXIT_INTERNAL_ERROR: {
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_EXIT_INTERNAL_ERROR suberror=%u (%s) ndata=%u data=",
                   run->internal.suberror, internal_suberror_name(run->internal.suberror),
                   run->internal.ndata);
            uint32_t nd = run->internal.ndata;
            if (nd > 16)
                nd = 16;
            for (uint32_t i = 0; i < nd; i++)
                printf("%s%#llx", i ? "," : "", (unsigned long long)run->internal.data[i]);
            printf(" after %lu exits\n", exits);
            dump_vcpu(vcpu);
            return 2;
        }
        case KVM_EXIT_SHUTDOWN:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_EXIT_SHUTDOWN (L2 triple fault) after %lu exits\n", exits);
            dump_vcpu(vcpu);
            return 2;
        case KVM_EXIT_MMIO:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_EXIT_MMIO %s addr=%#llx len=%u after %lu exits\n",
                   run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
                   run->mmio.len, exits);
            dump_vcpu(vcpu);
            return 2;
        case KVM_EXIT_UNKNOWN:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: KVM_EXIT_UNKNOWN hardware_exit_reason=%#llx after %lu exits\n",
                   (unsigned long long)run->hw.hardware_exit_reason, exits);
            dump_vcpu(vcpu);
            return 2;
        default:
            if (!at_line_start)
                putchar('\n');
            printf("L2-LAUNCHER: error: unexpected exit reason %u (%s) after %lu exits\n",
                   run->exit_reason, exit_name(run->exit_reason), exits);
            dump_vcpu(vcpu);
            return 2;
        }
    }
}
