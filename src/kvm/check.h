/*
 * check.h — `nestvm check`: what this host offers for nested
 * virtualization, and a verdict per engine.
 */
#ifndef NESTVM_KVM_CHECK_H
#define NESTVM_KVM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kvm/kvm_priv.h"

#define CHECK_NPARAMS 8

struct check_param {
    const char *name;
    bool present;
    char value[32];
};

/* How `--fix` could make nested VMX available on the KVM engine. */
enum check_fix {
    CHECK_FIX_NONE,    /* nothing commands can change */
    CHECK_FIX_RELOAD,  /* kvm_intel loaded with nested off: reload with nested=1 */
    CHECK_FIX_LOAD,    /* VT-x CPU without kvm_intel: load it with nested=1 */
};

struct check_facts {
    char cpu_vendor[13];
    char cpu_brand[49];
    unsigned family, model, stepping;
    bool cpuinfo_vmx, cpuinfo_svm;
    bool hypervisor;        /* CPUID.1:ECX[31] */
    char hv_signature[13];  /* CPUID 0x40000000 EBX,ECX,EDX ("" if none) */
    char dmi_vendor[128], dmi_product[128]; /* "" if unreadable */
    struct kvm_host_info kvm;
    struct check_param intel[CHECK_NPARAMS]; /* /sys/module/kvm_intel/parameters */
    int nintel;
    struct check_param amd[CHECK_NPARAMS];   /* /sys/module/kvm_amd/parameters */
    int namd;
};

/* The commands `--fix` runs (and the verdict quotes). */
#define CHECK_CMD_RELOAD "modprobe -r kvm_intel && modprobe kvm_intel nested=1"
#define CHECK_CMD_LOAD "modprobe kvm_intel nested=1"
#define CHECK_CMD_PERSIST "echo 'options kvm_intel nested=1' > /etc/modprobe.d/kvm-nested.conf"

void check_gather(struct check_facts *f);
/* Verdict for the KVM engine's nested VMX: true if available; otherwise
 * reason says why (and *fix what commands could change it). */
bool check_kvm_nested(const struct check_facts *f, char *reason, size_t n, enum check_fix *fix);
void check_print_text(FILE *out, const struct check_facts *f);
void check_print_json(FILE *out, const struct check_facts *f);
/* `nestvm check [--json] [--fix]`; returns the exit status. */
int check_main(int argc, char **argv);

#endif
