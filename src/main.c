/*
 * main.c — the nestvm command line.
 *
 *   nestvm run --kernel PATH [options]    boot a kernel (software engine or KVM)
 *   nestvm check [--json] [--fix]         what this host offers for nested VMX
 *   nestvm --help | --version
 *
 * Every bad input is one line on stderr naming the problem and exit status 2,
 * before any guest code runs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/check.h"
#include "machine/machine.h"

#define NESTVM_VERSION "0.1.0"

static const char main_help[] =
    "usage: nestvm <command> [options]\n"
    "\n"
    "nestvm is an x86-64 virtual machine monitor whose software CPU engine also\n"
    "implements Intel VT-x, so guests can run their own hypervisors (nested\n"
    "virtualization) on any x86-64 Linux host.\n"
    "\n"
    "commands:\n"
    "  run        boot a kernel (nestvm run --help)\n"
    "  check      what this host offers for nested virtualization (nestvm check --help)\n"
    "\n"
    "options:\n"
    "  -h, --help     this text\n"
    "  -V, --version  print the version\n";

static const char run_help[] =
    "usage: nestvm run --kernel PATH [options]\n"
    "\n"
    "  --kernel PATH        Linux bzImage, Multiboot kernel (e.g. kvm-unit-tests .flat) or ELF64\n"
    "  --initrd PATH        initial ramdisk\n"
    "  --cmdline STRING     kernel command line (default: console=ttyS0)\n"
    "  --memory SIZE        guest RAM, e.g. 512M, 2G (default 512M; plain numbers are MiB)\n"
    "  --cpus N             number of vCPUs, 1-16 (default 1)\n"
    "  --disk PATH[,readonly]  virtio-blk disk backed by a raw image (repeatable, up to 4)\n"
    "  --serial stdio|file:PATH  where COM1 goes (default stdio)\n"
    "  --accel emu|kvm|auto CPU engine (default emu): emu is the software engine, which\n"
    "                       offers VT-x to guests on any host; kvm runs the vCPUs with\n"
    "                       /dev/kvm (same devices and loaders); auto picks kvm when\n"
    "                       /dev/kvm can run the guest (with NestedVirtualization=enabled\n"
    "                       only if the host's KVM offers nested VMX; never kvm_pvm) and\n"
    "                       says which it chose.  The default stays emu because this\n"
    "                       project's hosts have PVM-backed KVM (kvm_pvm), which emulates\n"
    "                       guest kernel code slower than the software engine and offers\n"
    "                       no nested VMX.  NESTVM_KVM_DEV overrides the /dev/kvm path.\n"
    "  --cpu-options NestedVirtualization=enabled|disabled\n"
    "                       offer Intel VT-x to the guest (default disabled)\n"
    "  --timeout SECONDS    stop the VM after this many seconds (exit status 125)\n"
    "  --stats              print instructions, wall time and VM exits at the end\n"
    "  --trace-vmx          log every VM entry and exit (nested virtualization)\n"
    "  --testdev            add the PC test device test suites use (ports 0xe0, 0xe4,\n"
    "                       0x2000-0x2017 IRQ lines, I/O RAM at 0xff000000)\n"
    "  -h, --help           this text\n"
    "\n"
    "console: Ctrl-A x quits, Ctrl-A h lists the keys.\n"
    "exit status: 0 guest powered off; (v << 1) | 1 when a test kernel writes v to port 0xf4;\n"
    "  2 bad command line (or --accel kvm without a usable /dev/kvm); 124 triple fault;\n"
    "  125 timeout; 126 internal error (incl. a KVM emulation failure).\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "nestvm: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see nestvm run --help)\n");
    return EXIT_USAGE;
}

/* "512", "512M", "2G", "65536K" → bytes; 0 on error. */
static uint64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return 0;
    uint64_t mul = 1ull << 20;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: return 0;
        }
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
        if (*end)
            return 0;
    }
    if (v > (64ull << 40) / mul)
        return 0;
    return v * mul;
}

static int parse_cpu_options(const char *s, struct machine_config *cfg)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return usage_error("--cpu-options: expected KEY=VALUE, got '%s'", tok);
        *eq = 0;
        const char *val = eq + 1;
        if (strcmp(tok, "NestedVirtualization") != 0)
            return usage_error("--cpu-options: unknown option '%s' (known: NestedVirtualization)",
                               tok);
        if (strcmp(val, "enabled") == 0)
            cfg->nested = true;
        else if (strcmp(val, "disabled") == 0)
            cfg->nested = false;
        else
            return usage_error("--cpu-options: NestedVirtualization must be enabled or disabled, "
                               "not '%s'", val);
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEMORY, O_CPUS, O_DISK, O_SERIAL, O_ACCEL,
           O_CPUOPT, O_TIMEOUT, O_STATS, O_TRACE, O_TESTDEV };
    static const struct option opts[] = {
        { "kernel", required_argument, 0, O_KERNEL },
        { "initrd", required_argument, 0, O_INITRD },
        { "cmdline", required_argument, 0, O_CMDLINE },
        { "append", required_argument, 0, O_CMDLINE },
        { "memory", required_argument, 0, O_MEMORY },
        { "cpus", required_argument, 0, O_CPUS },
        { "disk", required_argument, 0, O_DISK },
        { "serial", required_argument, 0, O_SERIAL },
        { "accel", required_argument, 0, O_ACCEL },
        { "cpu-options", required_argument, 0, O_CPUOPT },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "stats", no_argument, 0, O_STATS },
        { "trace-vmx", no_argument, 0, O_TRACE },
        { "testdev", no_argument, 0, O_TESTDEV },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    struct machine_config cfg = { .mem = 512ull << 20, .ncpus = 1 };
    static char disk_paths[MACHINE_MAX_DISKS][4096];
    opterr = 0;
    optind = 1;
    int c, r;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_KERNEL: cfg.kernel = optarg; break;
        case O_INITRD: cfg.initrd = optarg; break;
        case O_CMDLINE: cfg.cmdline = optarg; break;
        case O_MEMORY:
            cfg.mem = parse_size(optarg);
            if (!cfg.mem || cfg.mem % 4096)
                return usage_error("--memory: '%s' is not a size like 512M or 2G", optarg);
            break;
        case O_CPUS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || end == optarg || n < 1 || n > MACHINE_MAX_CPUS)
                return usage_error("--cpus: '%s' is not a number from 1 to 16", optarg);
            cfg.ncpus = (unsigned)n;
            break;
        }
        case O_DISK: {
            if (cfg.ndisks >= MACHINE_MAX_DISKS)
                return usage_error("--disk: at most 4 disks (%s)", optarg);
            char *p = disk_paths[cfg.ndisks];
            snprintf(p, sizeof disk_paths[0], "%s", optarg);
            bool ro = false;
            char *comma = strrchr(p, ',');
            if (comma) {
                if (strcmp(comma, ",readonly") != 0)
                    return usage_error("--disk: unknown disk option '%s' (known: readonly)",
                                       comma + 1);
                *comma = 0;
                ro = true;
            }
            if (!*p)
                return usage_error("--disk: empty path%s", "");
            cfg.disks[cfg.ndisks++] = (struct machine_disk){ p, ro };
            break;
        }
        case O_SERIAL:
            if (strcmp(optarg, "stdio") == 0)
                cfg.serial_file = NULL;
            else if (strncmp(optarg, "file:", 5) == 0 && optarg[5])
                cfg.serial_file = optarg + 5;
            else
                return usage_error("--serial: expected stdio or file:PATH, got '%s'", optarg);
            break;
        case O_ACCEL:
            if (strcmp(optarg, "emu") == 0)
                cfg.accel = MACHINE_ACCEL_EMU;
            else if (strcmp(optarg, "kvm") == 0)
                cfg.accel = MACHINE_ACCEL_KVM;
            else if (strcmp(optarg, "auto") == 0)
                cfg.accel = MACHINE_ACCEL_AUTO;
            else
                return usage_error("--accel: '%s' is not an engine (use emu, kvm or auto)",
                                   optarg);
            break;
        case O_CPUOPT:
            if ((r = parse_cpu_options(optarg, &cfg)) != 0)
                return r;
            break;
        case O_TIMEOUT: {
            char *end;
            double t = strtod(optarg, &end);
            if (*end || end == optarg || !(t > 0) || t > 1e7)
                return usage_error("--timeout: '%s' is not a positive number of seconds", optarg);
            cfg.timeout = t;
            break;
        }
        case O_STATS: cfg.stats = true; break;
        case O_TRACE: cfg.trace_vmx = true; break;
        case O_TESTDEV: cfg.testdev = true; break;
        case 'h': fputs(run_help, stdout); return 0;
        default:
            return usage_error("run: unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("run: unexpected argument '%s'", argv[optind]);
    if (!cfg.kernel)
        return usage_error("run: --kernel PATH is required%s", "");

    static struct machine m;
    if (machine_create(&m, &cfg) != 0) {
        machine_destroy(&m);
        return EXIT_USAGE;
    }
    int status = machine_run(&m);
    machine_destroy(&m);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("nestvm %s\n", NESTVM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return check_main(argc - 1, argv + 1);
    fprintf(stderr, "nestvm: unknown command '%s' (see nestvm --help)\n", cmd);
    return EXIT_USAGE;
}
