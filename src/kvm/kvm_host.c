/*
 * kvm_host.c — what this host's KVM offers: device node, API version,
 * whether a VM can be created, the capabilities the engine needs, VMX/SVM
 * in KVM_GET_SUPPORTED_CPUID, and which KVM module is loaded (kvm_intel,
 * kvm_amd or kvm_pvm).  Used by the engine (--accel kvm|auto) and by
 * `nestvm check`.  KVM API: Documentation/virt/kvm/api.rst, sections 4.1
 * (KVM_GET_API_VERSION, must be 12), 4.2 (KVM_CREATE_VM), 4.4
 * (KVM_CHECK_EXTENSION), 4.46 (KVM_GET_SUPPORTED_CPUID).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/kvm_priv.h"

const char *kvm_device_path(void)
{
    const char *p = getenv("NESTVM_KVM_DEV");
    return p && *p ? p : "/dev/kvm";
}

int kvm_open_device(const char *path)
{
    int fd;
    do
        fd = open(path, O_RDWR | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static bool dir_exists(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *kvm_host_flavour(const char *sysfs_module_dir, bool *intel, bool *amd, bool *pvm)
{
    *intel = dir_exists(sysfs_module_dir, "kvm_intel");
    *amd = dir_exists(sysfs_module_dir, "kvm_amd");
    *pvm = dir_exists(sysfs_module_dir, "kvm_pvm");
    /* PVM first: it can be loaded next to a vendor module, and then it is
     * the one /dev/kvm's VMs use on a host without VT-x/AMD-V passed in. */
    if (*pvm)
        return "pvm";
    if (*intel)
        return "intel";
    if (*amd)
        return "amd";
    return "none";
}

void kvm_host_probe(const char *path, struct kvm_host_info *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->path, sizeof h->path, "%s", path);
    h->api_version = -1;
    h->cap_nested_state = h->cap_irqchip = h->cap_user_memory = h->cap_immediate_exit = -1;
    h->cap_ext_cpuid = h->cap_irq_routing = h->cap_set_tss_addr = h->max_vcpus = -1;
    h->flavour = kvm_host_flavour("/sys/module", &h->mod_intel, &h->mod_amd, &h->mod_pvm);
    struct stat st;
    h->present = stat(path, &st) == 0;
    int fd = kvm_open_device(path);
    if (fd < 0) {
        h->open_errno = errno;
        return;
    }
    h->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (h->api_version != KVM_API_VERSION) {
        close(fd);
        return;
    }
    h->cap_nested_state = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
    h->cap_irqchip = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP);
    h->cap_user_memory = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
    h->cap_immediate_exit = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT);
    h->cap_ext_cpuid = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID);
    h->cap_irq_routing = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
    h->cap_set_tss_addr = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR);
    /* api.rst 4.4: KVM_CAP_MAX_VCPUS, falling back to KVM_CAP_NR_VCPUS, then 4 */
    h->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (h->max_vcpus <= 0)
        h->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (h->max_vcpus <= 0)
        h->max_vcpus = 4;
    int vm;
    do
        vm = ioctl(fd, KVM_CREATE_VM, 0);
    while (vm < 0 && errno == EINTR);
    if (vm >= 0) {
        h->vm_ok = true;
        close(vm);
    } else {
        h->vm_errno = errno;
    }
    struct kvm_cpuid2 *c = kvm_cpuid_supported(fd);
    if (c) {
        h->cpuid_ok = true;
        h->vmx_in_cpuid = kvm_cpuid_has_vmx(c);
        h->svm_in_cpuid = kvm_cpuid_has_svm(c);
        free(c);
    } else {
        h->cpuid_errno = errno;
    }
    close(fd);
}

const char *kvm_host_unusable_reason(const struct kvm_host_info *h, unsigned ncpus, bool nested,
                                     char *buf, size_t n)
{
    if (h->open_errno) {
        snprintf(buf, n, "cannot open %s: %s", h->path, strerror(h->open_errno));
        return buf;
    }
    if (h->api_version != KVM_API_VERSION) {
        snprintf(buf, n, "%s speaks KVM API %d, not %d", h->path, h->api_version,
                 KVM_API_VERSION);
        return buf;
    }
    if (!h->vm_ok) {
        snprintf(buf, n, "KVM_CREATE_VM on %s failed: %s", h->path, strerror(h->vm_errno));
        return buf;
    }
    static const struct { const char *name; size_t off; } need[] = {
        { "KVM_CAP_USER_MEMORY", offsetof(struct kvm_host_info, cap_user_memory) },
        { "KVM_CAP_IRQCHIP", offsetof(struct kvm_host_info, cap_irqchip) },
        { "KVM_CAP_IRQ_ROUTING", offsetof(struct kvm_host_info, cap_irq_routing) },
        { "KVM_CAP_IMMEDIATE_EXIT", offsetof(struct kvm_host_info, cap_immediate_exit) },
        { "KVM_CAP_EXT_CPUID", offsetof(struct kvm_host_info, cap_ext_cpuid) },
        { "KVM_CAP_SET_TSS_ADDR", offsetof(struct kvm_host_info, cap_set_tss_addr) },
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        int v;
        memcpy(&v, (const char *)h + need[i].off, sizeof v);
        if (v <= 0) {
            snprintf(buf, n, "%s lacks %s", h->path, need[i].name);
            return buf;
        }
    }
    if (!h->cpuid_ok) {
        snprintf(buf, n, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(h->cpuid_errno));
        return buf;
    }
    if ((int)ncpus > h->max_vcpus) {
        snprintf(buf, n, "%s allows %d vCPUs, %u requested", h->path, h->max_vcpus, ncpus);
        return buf;
    }
    if (nested && !h->vmx_in_cpuid) {
        snprintf(buf, n, "NestedVirtualization=enabled needs nested VMX, and this host's KVM "
                         "(%s) has no VMX in KVM_GET_SUPPORTED_CPUID (see nestvm check)",
                 h->flavour);
        return buf;
    }
    if (nested && h->cap_nested_state <= 0) {
        snprintf(buf, n, "NestedVirtualization=enabled needs KVM_CAP_NESTED_STATE, which this "
                         "host's KVM (%s) lacks (see nestvm check)", h->flavour);
        return buf;
    }
    return NULL;
}

int kvm_engine_probe(const struct machine_config *cfg, char *why, size_t n)
{
    struct kvm_host_info h;
    kvm_host_probe(kvm_device_path(), &h);
    if (kvm_host_unusable_reason(&h, cfg->ncpus, cfg->nested, why, n))
        return -1;
    /* kvm_pvm can run guests, but it emulates guest kernel code about 40
     * times slower than the software engine runs it, and its emulator
     * fails on instructions Linux uses (XRSTOR): auto never prefers it. */
    if (!strcmp(h.flavour, "pvm")) {
        snprintf(why, n, "%s is PVM-backed (kvm_pvm), which emulates guest kernel code "
                         "slower than the software engine; --accel kvm forces it", h.path);
        return -1;
    }
    snprintf(why, n, "%s, KVM flavour %s%s", h.path, h.flavour,
             cfg->nested ? ", nested VMX" : "");
    return 0;
}
