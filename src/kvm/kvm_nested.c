/*
 * kvm_nested.c — nested VMX on the KVM engine (NestedVirtualization=
 * enabled): the VMX capability MSRs (IA32_VMX_BASIC 0x480 ..
 * IA32_VMX_VMFUNC 0x491, Intel SDM Vol. 3D appendix A) that the host's KVM
 * offers as feature MSRs (api.rst 4.3 KVM_GET_MSR_FEATURE_INDEX_LIST and
 * KVM_GET_MSRS on the system fd) are handed to each vCPU with KVM_SET_MSRS,
 * and KVM_GET_NESTED_STATE (api.rst 4.114) saves a vCPU's nested state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_priv.h"

#define MSR_VMX_FIRST 0x480u
#define MSR_VMX_LAST 0x491u
#define MAX_FEATURE_MSRS 256

int kvm_nested_set_vmx_msrs(struct kvm_engine *k, struct kvm_vcpu *v)
{
    struct {
        struct kvm_msr_list l;
        uint32_t idx[MAX_FEATURE_MSRS];
    } list;
    list.l.nmsrs = MAX_FEATURE_MSRS;
    if (ioctl(k->sys_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &list) != 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_GET_MSR_FEATURE_INDEX_LIST failed: %s\n",
                strerror(errno));
        return -1;
    }
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[MSR_VMX_LAST - MSR_VMX_FIRST + 1];
    } msrs;
    memset(&msrs, 0, sizeof msrs);
    unsigned n = 0;
    for (uint32_t i = 0; i < list.l.nmsrs && i < MAX_FEATURE_MSRS; i++)
        if (list.idx[i] >= MSR_VMX_FIRST && list.idx[i] <= MSR_VMX_LAST &&
            n < sizeof msrs.e / sizeof msrs.e[0])
            msrs.e[n++].index = list.idx[i];
    if (n == 0)
        return 0;
    msrs.h.nmsrs = n;
    /* KVM_GET_MSRS on the system fd returns how many it read. */
    int got = ioctl(k->sys_fd, KVM_GET_MSRS, &msrs);
    if (got < 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_GET_MSRS (VMX feature MSRs) failed: %s\n",
                strerror(errno));
        return -1;
    }
    msrs.h.nmsrs = (uint32_t)got;
    int set = ioctl(v->fd, KVM_SET_MSRS, &msrs);
    if (set != got) {
        unsigned bad = set >= 0 && set < got ? msrs.e[set].index : 0;
        fprintf(stderr, "nestvm: --accel kvm: KVM_SET_MSRS on vCPU %d rejected VMX MSR 0x%x\n",
                v->index, bad);
        return -1;
    }
    return set;
}

long kvm_nested_state_size(struct kvm_engine *k, struct kvm_vcpu *v)
{
    if (k->nested_state_cap <= 0) {
        errno = ENOTSUP;
        return -1;
    }
    /* api.rst: KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE) is the maximum
     * size; the ioctl stores the size it used in the header. */
    size_t max = (size_t)k->nested_state_cap;
    if (max < sizeof(struct kvm_nested_state))
        max = sizeof(struct kvm_nested_state);
    struct kvm_nested_state *s = calloc(1, max);
    if (!s)
        return -1;
    s->size = (uint32_t)max;
    long r = -1;
    if (ioctl(v->fd, KVM_GET_NESTED_STATE, s) == 0)
        r = (long)s->size;
    int e = errno;
    free(s);
    errno = e;
    return r;
}
