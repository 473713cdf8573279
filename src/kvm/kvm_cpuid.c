/*
 * kvm_cpuid.c — the CPUID table a KVM vCPU gets (KVM_SET_CPUID2): what
 * KVM_GET_SUPPORTED_CPUID offers, with this vCPU's APIC ID and the
 * NestedVirtualization choice applied.
 *
 * Bits (Intel SDM Vol. 2A, CPUID): leaf 1 ECX[5] VMX, EBX[31:24] initial
 * APIC ID, EBX[23:16] maximum logical processor IDs per package, EDX[28]
 * HTT; leaves 0xB/0x1F EDX x2APIC ID; leaf 0x80000001 ECX[2] SVM (AMD APM
 * Vol. 3, CPUID Fn8000_0001).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_priv.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_CX16 (1u << 13)
#define CPUID1_EDX_HTT (1u << 28)
#define CPUID81_ECX_SVM (1u << 2)

struct kvm_cpuid2 *kvm_cpuid_supported(int sys_fd)
{
    /* api.rst 4.46: E2BIG when nent is too small; grow and retry. */
    for (unsigned nent = 128; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c =
            calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
        if (!c)
            return NULL;
        c->nent = nent;
        if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int e = errno;
        free(c);
        if (e != E2BIG) {
            errno = e;
            return NULL;
        }
    }
    errno = E2BIG;
    return NULL;
}

struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function != fn)
            continue;
        if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
            continue;
        return e;
    }
    return NULL;
}

bool kvm_cpuid_has_vmx(struct kvm_cpuid2 *c)
{
    struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c, 1, 0);
    return e && (e->ecx & CPUID1_ECX_VMX);
}

bool kvm_cpuid_has_svm(struct kvm_cpuid2 *c)
{
    struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c, 0x80000001, 0);
    return e && (e->ecx & CPUID81_ECX_SVM);
}

void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus, bool nested)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1: {
            unsigned count = ncpus < 2 ? 1 : ncpus;
            e->ebx = (e->ebx & 0x0000ffffu) | (apic_id & 0xffu) << 24 | (count & 0xffu) << 16;
            if (ncpus > 1)
                e->edx |= CPUID1_EDX_HTT;
            if (!nested)
                e->ecx &= ~CPUID1_ECX_VMX;
            break;
        }
        case 0xb:
        case 0x1f:
            e->edx = apic_id;
            break;
        case 0x80000001:
            e->ecx &= ~CPUID81_ECX_SVM;
            break;
        default:
            break;
        }
    }
}

void kvm_cpuid_pvm_quirks(struct kvm_cpuid2 *c)
{
    /* kvm_pvm emulates guest kernel code instruction by instruction, and
     * its emulator fails on LOCK CMPXCHG16B (KVM_EXIT_INTERNAL_ERROR,
     * emulation failure: the Debian kernel stops early in SLUB's
     * cmpxchg_double).  Without CPUID.1:ECX[13] guests take other paths.
     * (Its emulator also fails on XRSTOR, but kvm_pvm reports the host's
     * XSAVE/AVX bits to the guest whatever KVM_SET_CPUID2 says, so that
     * one cannot be hidden here: a Linux guest needs "noxsave".) */
    struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c, 1, 0);
    if (e)
        e->ecx &= ~CPUID1_ECX_CX16;
}
