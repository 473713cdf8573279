/*
 * check.c — `nestvm check [--json] [--fix]`: the facts about this host
 * that decide where nested VMX can come from, and a verdict per engine.
 *
 * Facts: CPU vendor/family/model/brand (CPUID 0, 1, 0x80000002-4; Intel
 * SDM Vol. 2A CPUID), vmx/svm in /proc/cpuinfo, the hypervisor bit
 * (CPUID.1:ECX[31]) and signature (CPUID 0x40000000), DMI sys_vendor and
 * product_name, /dev/kvm (open, KVM_GET_API_VERSION, KVM_CREATE_VM), the
 * KVM modules loaded (kvm_intel, kvm_amd, kvm_pvm), their parameters,
 * KVM_CAP_NESTED_STATE and VMX in KVM_GET_SUPPORTED_CPUID (kvm_host.c).
 *
 * The software engine always offers VMX to its guests, so the exit status
 * is 0 whatever KVM can do.  --fix runs the module commands the verdict
 * quotes (only when they can help) and checks again; nothing else ever
 * runs them.
 */
#include "kvm/check.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/json.h"

static const char *const intel_params[] = { "nested", "enable_shadow_vmcs", "ept",
                                            "unrestricted_guest", "enable_apicv", "vpid" };
static const char *const amd_params[] = { "nested", "npt", "avic" };

/* First line of a small text file without the newline; false if unreadable. */
static bool read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok) {
        buf[0] = 0;
        return false;
    }
    buf[strcspn(buf, "\n")] = 0;
    return true;
}

static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '.';
}

static void gather_cpu(struct check_facts *f)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    memcpy(f->cpu_vendor, &b, 4);
    memcpy(f->cpu_vendor + 4, &d, 4);
    memcpy(f->cpu_vendor + 8, &c, 4);
    f->cpu_vendor[12] = 0;
    printable(f->cpu_vendor);
    __cpuid(1, a, b, c, d);
    /* display family/model: SDM Vol. 2A, CPUID leaf 1 EAX */
    unsigned fam = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
    if (fam == 0xf)
        fam += (a >> 20) & 0xff;
    if (fam == 0x6 || fam >= 0xf)
        model |= ((a >> 16) & 0xf) << 4;
    f->family = fam;
    f->model = model;
    f->stepping = a & 0xf;
    f->hypervisor = (c >> 31) & 1;
    if (f->hypervisor) {
        __cpuid(0x40000000, a, b, c, d);
        memcpy(f->hv_signature, &b, 4);
        memcpy(f->hv_signature + 4, &c, 4);
        memcpy(f->hv_signature + 8, &d, 4);
        f->hv_signature[12] = 0;
        printable(f->hv_signature);
        /* trailing NULs were cut by the terminator; drop padding dots */
        for (int i = 11; i >= 0 && f->hv_signature[i] == '.'; i--)
            f->hv_signature[i] = 0;
    }
    __cpuid(0x80000000, a, b, c, d);
    if (a >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, r[i * 4], r[i * 4 + 1], r[i * 4 + 2], r[i * 4 + 3]);
        memcpy(f->cpu_brand, r, 48);
        f->cpu_brand[48] = 0;
        printable(f->cpu_brand);
        char *s = f->cpu_brand; /* trim */
        while (*s == ' ' || *s == '.')
            s++;
        memmove(f->cpu_brand, s, strlen(s) + 1);
        size_t n = strlen(f->cpu_brand);
        while (n > 0 && (f->cpu_brand[n - 1] == ' ' || f->cpu_brand[n - 1] == '.'))
            f->cpu_brand[--n] = 0;
    }
}

static void gather_cpuinfo(struct check_facts *f)
{
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t;
             t = strtok_r(NULL, " \t\n", &save)) {
            if (!strcmp(t, "vmx"))
                f->cpuinfo_vmx = true;
            if (!strcmp(t, "svm"))
                f->cpuinfo_svm = true;
        }
        break; /* the first CPU speaks for all */
    }
    fclose(fp);
}

static int gather_params(const char *module, const char *const *names, int n,
                         struct check_param *out)
{
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "/sys/module/%s/parameters/%s", module, names[i]);
        out[i].name = names[i];
        out[i].present = read_line(path, out[i].value, sizeof out[i].value);
    }
    return n;
}

void check_gather(struct check_facts *f)
{
    memset(f, 0, sizeof(*f));
    gather_cpu(f);
    gather_cpuinfo(f);
    if (read_line("/sys/class/dmi/id/sys_vendor", f->dmi_vendor, sizeof f->dmi_vendor))
        printable(f->dmi_vendor);
    if (read_line("/sys/class/dmi/id/product_name", f->dmi_product, sizeof f->dmi_product))
        printable(f->dmi_product);
    kvm_host_probe(kvm_device_path(), &f->kvm);
    f->nintel = gather_params("kvm_intel", intel_params, 6, f->intel);
    f->namd = gather_params("kvm_amd", amd_params, 3, f->amd);
}

static const struct check_param *param(const struct check_param *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(p[i].name, name))
            return &p[i];
    return NULL;
}

static bool param_on(const struct check_param *p)
{
    return p && p->present && (!strcmp(p->value, "Y") || !strcmp(p->value, "1"));
}

bool check_kvm_nested(const struct check_facts *f, char *reason, size_t n, enum check_fix *fix)
{
    const struct kvm_host_info *k = &f->kvm;
    *fix = CHECK_FIX_NONE;
    reason[0] = 0;
    if (k->open_errno == ENOENT || (!k->present && k->open_errno)) {
        if (f->cpuinfo_vmx) {
            *fix = CHECK_FIX_LOAD;
            snprintf(reason, n, "%s does not exist; this CPU has VT-x, so load kvm_intel with "
                                "nested VMX: `%s`, and to keep it across reboots: `%s`",
                     k->path, CHECK_CMD_LOAD, CHECK_CMD_PERSIST);
        } else {
            snprintf(reason, n, "%s does not exist and the CPU shows no VT-x (vmx) to this "
                                "host%s", k->path,
                     f->hypervisor ? ", which is a virtual machine whose hypervisor does not "
                                     "pass VT-x through" : "");
        }
        return false;
    }
    if (k->open_errno) {
        snprintf(reason, n, "%s cannot be opened: %s%s", k->path, strerror(k->open_errno),
                 k->open_errno == EACCES ? " (run as root or join the kvm group)" : "");
        return false;
    }
    if (k->api_version != KVM_API_VERSION) {
        snprintf(reason, n, "%s reports KVM API %d, not %d", k->path, k->api_version,
                 KVM_API_VERSION);
        return false;
    }
    if (!k->vm_ok) {
        snprintf(reason, n, "KVM_CREATE_VM failed: %s", strerror(k->vm_errno));
        return false;
    }
    if (k->mod_pvm && !k->vmx_in_cpuid) {
        snprintf(reason, n, "this host's KVM is PVM (kvm_pvm), which runs guests without "
                            "hardware virtualization and offers them no VMX "
                            "(KVM_GET_SUPPORTED_CPUID has no VMX, KVM_CAP_NESTED_STATE is %d); "
                            "no module option changes that: nested VMX on KVM needs kvm_intel "
                            "on a host whose CPU has VT-x, enabled there with `%s` and `%s`",
                 k->cap_nested_state, CHECK_CMD_RELOAD, CHECK_CMD_PERSIST);
        return false;
    }
    if (k->mod_amd && !k->vmx_in_cpuid) {
        snprintf(reason, n, "the host CPU is AMD: kvm_amd offers nested SVM (%s), not VMX",
                 k->svm_in_cpuid ? "offered" : "not offered either");
        return false;
    }
    if (k->mod_intel && !param_on(param(f->intel, f->nintel, "nested"))) {
        *fix = CHECK_FIX_RELOAD;
        const struct check_param *p = param(f->intel, f->nintel, "nested");
        snprintf(reason, n, "kvm_intel is loaded with nested=%s; enable it with `%s` (stop all "
                            "VMs first), and to keep it across reboots: `%s`",
                 p && p->present ? p->value : "?", CHECK_CMD_RELOAD, CHECK_CMD_PERSIST);
        return false;
    }
    if (!k->cpuid_ok) {
        snprintf(reason, n, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(k->cpuid_errno));
        return false;
    }
    if (!k->vmx_in_cpuid) {
        snprintf(reason, n, "KVM_GET_SUPPORTED_CPUID offers no VMX (KVM flavour %s)",
                 k->flavour);
        return false;
    }
    if (k->cap_nested_state <= 0) {
        snprintf(reason, n, "KVM_CAP_NESTED_STATE is %d (nested state cannot be saved)",
                 k->cap_nested_state);
        return false;
    }
    return true;
}

static const char *yesno(bool b)
{
    return b ? "yes" : "no";
}

static void print_params(FILE *out, const char *module, bool loaded,
                         const struct check_param *p, int n)
{
    fprintf(out, "%-22s", module);
    if (!loaded) {
        fprintf(out, "(not loaded)\n");
        return;
    }
    for (int i = 0; i < n; i++)
        fprintf(out, " %s=%s", p[i].name, p[i].present ? p[i].value : "?");
    fputc('\n', out);
}

void check_print_text(FILE *out, const struct check_facts *f)
{
    const struct kvm_host_info *k = &f->kvm;
    char why[768], unusable[256];
    enum check_fix fix;
    bool nested = check_kvm_nested(f, why, sizeof why, &fix);
    const char *bad = kvm_host_unusable_reason(k, 1, false, unusable, sizeof unusable);

    fprintf(out, "%-22s%s (%s, family 0x%x model 0x%x stepping %u)\n", "CPU:",
            f->cpu_brand[0] ? f->cpu_brand : "?", f->cpu_vendor, f->family, f->model,
            f->stepping);
    fprintf(out, "%-22svmx %s, svm %s\n", "/proc/cpuinfo:", yesno(f->cpuinfo_vmx),
            yesno(f->cpuinfo_svm));
    if (f->hypervisor)
        fprintf(out, "%-22syes, CPUID 0x40000000 signature \"%s\"", "hypervisor:",
                f->hv_signature);
    else
        fprintf(out, "%-22sno (CPUID.1:ECX[31] clear)", "hypervisor:");
    fprintf(out, "; DMI %s / %s\n", f->dmi_vendor[0] ? f->dmi_vendor : "(none)",
            f->dmi_product[0] ? f->dmi_product : "(none)");
    fprintf(out, "%-22s%s", "KVM device:", k->path);
    if (k->open_errno)
        fprintf(out, " %s: %s\n", k->present ? "cannot be opened" : "missing",
                strerror(k->open_errno));
    else
        fprintf(out, " opened, KVM API %d, KVM_CREATE_VM %s\n", k->api_version,
                k->vm_ok ? "ok" : strerror(k->vm_errno));
    fprintf(out, "%-22sflavour %s (kvm_intel %s, kvm_amd %s, kvm_pvm %s)\n", "KVM modules:",
            k->flavour, yesno(k->mod_intel), yesno(k->mod_amd), yesno(k->mod_pvm));
    print_params(out, "kvm_intel parameters:", k->mod_intel, f->intel, f->nintel);
    if (k->mod_amd)
        print_params(out, "kvm_amd parameters:", true, f->amd, f->namd);
    if (!k->open_errno) {
        fprintf(out, "%-22s%d\n", "KVM_CAP_NESTED_STATE:", k->cap_nested_state);
        fprintf(out, "%-22sVMX %s, SVM %s\n", "supported CPUID:",
                k->cpuid_ok ? yesno(k->vmx_in_cpuid) : "?", k->cpuid_ok ? yesno(k->svm_in_cpuid) : "?");
    }
    fprintf(out, "verdict:\n");
    fprintf(out, "  software engine: VMX available to guests "
                 "(--accel emu --cpu-options NestedVirtualization=enabled)\n");
    if (bad)
        fprintf(out, "  KVM engine: cannot run guests because %s\n", unusable);
    else
        fprintf(out, "  KVM engine: runs guests (--accel kvm)\n");
    if (nested)
        fprintf(out, "  KVM engine: nested VMX available (--accel kvm --cpu-options "
                     "NestedVirtualization=enabled)\n");
    else
        fprintf(out, "  KVM engine: nested VMX unavailable because %s\n", why);
    fprintf(out, "  nested virtualization on this host: %s\n",
            nested ? "KVM engine (faster) or software engine" : "use the software engine");
}

static void json_param_object(struct json_out *j, const char *key, bool loaded,
                              const struct check_param *p, int n)
{
    json_key(j, key);
    if (!loaded) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    for (int i = 0; i < n; i++) {
        json_key(j, p[i].name);
        json_string(j, p[i].present ? p[i].value : NULL);
    }
    json_end_object(j);
}

static const char *err_or_null(int e)
{
    return e ? strerror(e) : NULL;
}

void check_print_json(FILE *out, const struct check_facts *f)
{
    const struct kvm_host_info *k = &f->kvm;
    char why[768], unusable[256];
    enum check_fix fix;
    bool nested = check_kvm_nested(f, why, sizeof why, &fix);
    const char *bad = kvm_host_unusable_reason(k, 1, false, unusable, sizeof unusable);
    struct json_out j;
    json_init(&j, out);
    json_begin_object(&j);

    json_key(&j, "cpu");
    json_begin_object(&j);
    json_key(&j, "vendor"); json_string(&j, f->cpu_vendor);
    json_key(&j, "brand"); json_string(&j, f->cpu_brand);
    json_key(&j, "family"); json_int(&j, f->family);
    json_key(&j, "model"); json_int(&j, f->model);
    json_key(&j, "stepping"); json_int(&j, f->stepping);
    json_key(&j, "cpuinfo_vmx"); json_bool(&j, f->cpuinfo_vmx);
    json_key(&j, "cpuinfo_svm"); json_bool(&j, f->cpuinfo_svm);
    json_end_object(&j);

    json_key(&j, "hypervisor");
    json_begin_object(&j);
    json_key(&j, "present"); json_bool(&j, f->hypervisor);
    json_key(&j, "cpuid_signature"); json_string(&j, f->hypervisor ? f->hv_signature : NULL);
    json_key(&j, "dmi_sys_vendor"); json_string(&j, f->dmi_vendor[0] ? f->dmi_vendor : NULL);
    json_key(&j, "dmi_product_name");
    json_string(&j, f->dmi_product[0] ? f->dmi_product : NULL);
    json_end_object(&j);

    json_key(&j, "kvm");
    json_begin_object(&j);
    json_key(&j, "device"); json_string(&j, k->path);
    json_key(&j, "present"); json_bool(&j, k->present);
    json_key(&j, "open"); json_bool(&j, k->open_errno == 0);
    json_key(&j, "open_error"); json_string(&j, err_or_null(k->open_errno));
    json_key(&j, "api_version");
    if (k->api_version >= 0) json_int(&j, k->api_version); else json_null(&j);
    json_key(&j, "create_vm"); json_bool(&j, k->vm_ok);
    json_key(&j, "create_vm_error"); json_string(&j, k->open_errno ? NULL : err_or_null(k->vm_errno));
    json_key(&j, "flavour"); json_string(&j, k->flavour);
    json_key(&j, "modules");
    json_begin_object(&j);
    json_key(&j, "kvm_intel"); json_bool(&j, k->mod_intel);
    json_key(&j, "kvm_amd"); json_bool(&j, k->mod_amd);
    json_key(&j, "kvm_pvm"); json_bool(&j, k->mod_pvm);
    json_end_object(&j);
    json_param_object(&j, "kvm_intel_parameters", k->mod_intel, f->intel, f->nintel);
    json_param_object(&j, "kvm_amd_parameters", k->mod_amd, f->amd, f->namd);
    json_key(&j, "cap_nested_state");
    if (k->open_errno) json_null(&j); else json_int(&j, k->cap_nested_state);
    json_key(&j, "supported_cpuid");
    json_bool(&j, k->cpuid_ok);
    json_key(&j, "supported_cpuid_error");
    json_string(&j, k->open_errno ? NULL : err_or_null(k->cpuid_errno));
    json_key(&j, "vmx_in_supported_cpuid"); json_bool(&j, k->vmx_in_cpuid);
    json_key(&j, "svm_in_supported_cpuid"); json_bool(&j, k->svm_in_cpuid);
    json_end_object(&j);

    json_key(&j, "verdict");
    json_begin_object(&j);
    json_key(&j, "software_engine_vmx"); json_bool(&j, true);
    json_key(&j, "kvm_engine_usable"); json_bool(&j, bad == NULL);
    json_key(&j, "kvm_engine_unusable_reason"); json_string(&j, bad);
    json_key(&j, "kvm_engine_nested_vmx"); json_bool(&j, nested);
    json_key(&j, "kvm_engine_nested_vmx_reason"); json_string(&j, nested ? NULL : why);
    json_key(&j, "fix_commands");
    json_begin_array(&j);
    if (fix == CHECK_FIX_RELOAD) json_string(&j, CHECK_CMD_RELOAD);
    if (fix == CHECK_FIX_LOAD) json_string(&j, CHECK_CMD_LOAD);
    if (fix != CHECK_FIX_NONE) json_string(&j, CHECK_CMD_PERSIST);
    json_end_array(&j);
    json_key(&j, "nested_virtualization_engine"); json_string(&j, nested ? "kvm" : "emu");
    json_end_object(&j);

    json_end_object(&j);
}

static const char check_help[] =
    "usage: nestvm check [--json] [--fix]\n"
    "\n"
    "Reports what this host offers for nested virtualization: CPU, hypervisor,\n"
    "/dev/kvm and its flavour (kvm_intel, kvm_amd, kvm_pvm), the kvm_intel parameters\n"
    "that matter, KVM_CAP_NESTED_STATE, VMX in KVM_GET_SUPPORTED_CPUID, and a verdict\n"
    "per engine.  The software engine always offers VMX to guests.\n"
    "\n"
    "  --json   the same facts as one JSON object\n"
    "  --fix    run the commands the verdict quotes to enable nested VMX in kvm_intel\n"
    "           (needs root; only when they can help), then check again\n"
    "\n"
    "NESTVM_KVM_DEV overrides the /dev/kvm path.  Exit status 0 when at least one\n"
    "engine can offer VMX to guests (always: the software engine can); 2 bad usage.\n";

static int run_cmd(const char *cmd)
{
    printf("nestvm check --fix: running: %s\n", cmd);
    fflush(stdout);
    int r = system(cmd);
    if (r != 0)
        printf("nestvm check --fix: command failed (status %d)\n", r);
    return r;
}

static int do_fix(void)
{
    struct check_facts f;
    char why[768];
    enum check_fix fix;
    check_gather(&f);
    if (check_kvm_nested(&f, why, sizeof why, &fix)) {
        printf("nestvm check --fix: nothing to fix, the KVM engine has nested VMX\n");
        return 0;
    }
    if (fix == CHECK_FIX_NONE) {
        printf("nestvm check --fix: no command can enable nested VMX for the KVM engine here: "
               "%s\nnestvm check --fix: use the software engine (--accel emu)\n", why);
        return 0;
    }
    if (geteuid() != 0) {
        printf("nestvm check --fix: loading kernel modules needs root (try: sudo nestvm check "
               "--fix)\n");
        return 0;
    }
    if (run_cmd(fix == CHECK_FIX_RELOAD ? CHECK_CMD_RELOAD : CHECK_CMD_LOAD) == 0)
        run_cmd(CHECK_CMD_PERSIST);
    printf("nestvm check --fix: checking again\n");
    check_gather(&f);
    check_print_text(stdout, &f);
    return 0;
}

int check_main(int argc, char **argv)
{
    bool json = false, fix = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--fix")) {
            fix = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(check_help, stdout);
            return 0;
        } else {
            fprintf(stderr, "nestvm: check: unknown option '%s' (see nestvm check --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (json && fix) {
        fprintf(stderr, "nestvm: check: --json and --fix do not go together\n");
        return 2;
    }
    struct check_facts f;
    check_gather(&f);
    if (json) {
        check_print_json(stdout, &f);
        return 0;
    }
    check_print_text(stdout, &f);
    if (fix) {
        fflush(stdout);
        return do_fix();
    }
    return 0;
}
