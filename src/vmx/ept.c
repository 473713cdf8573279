/*
 * ept.c — extended page tables (SDM Vol.3 28.2) and the guest-physical
 * access hook of a VMX non-root guest.
 *
 * Every guest-physical access of L2 — data, instruction fetch, and the
 * engine's reads of L2's own paging structures (ACC_PTWALK) — reaches
 * vmx_guest_phys_host() through cpu_gpa_host().  With "enable EPT" the
 * address is translated by L1's EPT; the result is an L1-physical address,
 * which is our RAM (bus_ram_ptr) or MMIO (NULL: the bus handles it at the
 * L1-physical address, see vmx_mmio_pa()).  Then the APIC-access page
 * (vmx_apic.c) is checked on that address (SDM 29.4.6.1).
 *
 * EPT paging-structure entry (4-level walk from the EPTP, SDM Tables 28-1..6):
 *   63 suppress #VE (ignored) | 62:52 ignored | 51:M reserved |
 *   M-1:12 address | 11 ignored | 10 user-execute (ignored, no MBEC) |
 *   9 dirty (leaf) | 8 accessed | 7 page size (levels 2-3; reserved at 4) |
 *   6 ignore PAT (leaf) | 5:3 memory type (leaf; reserved in non-leaves) |
 *   2 X | 1 W | 0 R
 * An entry with bits 2:0 = 0 is not present: EPT violation.  A present entry
 * that is W without R, execute-only (not advertised in IA32_VMX_EPT_VPID_CAP),
 * has reserved bits set, or is a leaf with memory type 2, 3 or 7 is an EPT
 * misconfiguration (SDM 28.2.3.1).  Access rights are the AND over all levels
 * (28.2.3.2).  The walk is always exactly four reads, so hostile tables
 * (loops, pointers outside RAM — they read as all-ones, i.e. reserved bits)
 * cannot hang or escape.
 *
 * Accessed and dirty flags (SDM 28.2.4) when EPTP bit 6 is 1: A in every
 * entry used, D in the leaf for writes, set with atomic ORs.  With them
 * enabled, accesses to guest paging structures count as writes (28.2.4.1):
 * the engine's walker sets L2's own A/D bits through the same pointers.
 *
 * EPT-violation exit qualification (SDM Table 27-7): bits 2:0 the access
 * (read / write / fetch; a paging-structure access with A/D enabled sets
 * both 0 and 1), bits 5:3 the AND of R/W/X over the entries used, bit 7
 * guest-linear-address valid, bit 8 set for the access to the translation of
 * that linear address and clear for an access to a guest paging-structure
 * entry.  Bit 12 (NMI unblocking due to IRET) is always 0: the engine's IRET
 * commits its NMI unblocking only after its last memory access, so an EPT
 * violation during IRET leaves NMIs blocked — the state bit 12 would tell L1
 * to re-establish.
 */
#include "cpu/mem.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

#define EPT_R 1ull
#define EPT_W 2ull
#define EPT_X 4ull
#define EPT_RWX 7ull
#define EPT_MT(e) ((unsigned)((e) >> 3) & 7)
#define EPT_PS (1ull << 7)
#define EPT_A (1ull << 8)
#define EPT_D (1ull << 9)
#define EPT_ADDR IX_PA_MASK
/* bits 51:MAXPHYADDR */
#define EPT_RSVD_HI (((1ull << 52) - 1) & ~((1ull << CPUID_MAXPHYADDR) - 1))
#define EPTP_AD (1ull << 6)

#define QUAL_LINEAR_VALID (1ull << 7)
#define QUAL_LINEAR_XLATE (1ull << 8)

/* SDM 28.2.3.1: is this present entry (bits 2:0 != 0) misconfigured? */
static bool ept_misconfigured(uint64_t e, unsigned level, bool leaf)
{
    if ((e & (EPT_R | EPT_W)) == EPT_W)
        return true; /* write without read */
    if ((e & EPT_RWX) == EPT_X && !(vmx_ept_vpid_caps() & VMX_EPT_EXEC_ONLY))
        return true; /* execute-only, not supported */
    if (e & EPT_RSVD_HI)
        return true;
    if (!leaf)
        return (e & (level == 4 ? 0xf8ull : 0x78ull)) != 0; /* bits 7:3 / 6:3 */
    if (level == 3 && (e & 0x3ffff000ull))
        return true; /* 1 GiB page: bits 29:12 */
    if (level == 2 && (e & 0x1ff000ull))
        return true; /* 2 MiB page: bits 20:12 */
    unsigned mt = EPT_MT(e);
    return mt == 2 || mt == 3 || mt == 7;
}

int ept_walk(const struct bus *bus, uint64_t eptp, uint64_t gpa, unsigned acc,
             struct ept_result *r)
{
    uint64_t *ent[4];
    unsigned n = 0, perm = EPT_RWX;
    uint64_t table = eptp & EPT_ADDR;
    memset(r, 0, sizeof(*r));
    if (gpa >> 48)
        return EPT_VIOLATION; /* beyond what a 4-level walk translates */
    for (unsigned level = 4;; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t *p = (uint64_t *)bus_ram_ptr(bus, table + (((gpa >> shift) & 0x1ff) << 3), 8);
        uint64_t e = p ? __atomic_load_n(p, __ATOMIC_RELAXED) : ~0ull;
        ent[n++] = p;
        if (!(e & EPT_RWX))
            return EPT_VIOLATION; /* not present: r->perm stays 0 */
        bool leaf = level == 1 || (level <= 3 && (e & EPT_PS));
        if (ept_misconfigured(e, level, leaf))
            return EPT_MISCONFIG;
        perm &= (unsigned)(e & EPT_RWX);
        if (leaf) {
            uint64_t off = (1ull << shift) - 1;
            r->pa = (e & EPT_ADDR & ~off) | (gpa & off);
            r->leaf = e;
            r->level = level;
            r->memtype = EPT_MT(e);
            break;
        }
        table = e & EPT_ADDR;
    }
    r->perm = perm;
    if (acc & ~perm & EPT_RWX)
        return EPT_VIOLATION;
    if (eptp & EPTP_AD) {
        for (unsigned i = 0; i < n; i++) {
            uint64_t bits = EPT_A | ((i == n - 1 && (acc & EPT_ACC_WRITE)) ? EPT_D : 0);
            if (ent[i])
                __atomic_fetch_or(ent[i], bits, __ATOMIC_RELAXED);
        }
    }
    return EPT_OK;
}

/* Engine access kind → EPT access kind. */
static unsigned ept_acc(unsigned acc, uint64_t eptp)
{
    if (acc & ACC_FETCH)
        return EPT_ACC_FETCH;
    /* With A/D flags, every paging-structure access is treated as a write
     * (28.2.4.1); without them only the update of a guest A/D flag is,
     * and that read-modify-write reports both bits. */
    if ((acc & ACC_PTWALK) && ((eptp & EPTP_AD) || (acc & ACC_WRITE)))
        return EPT_ACC_READ | EPT_ACC_WRITE;
    return (acc & ACC_WRITE) ? EPT_ACC_WRITE : EPT_ACC_READ;
}

/* Translate or VM-exit.  'linear': the access has a guest linear address
 * (cpu->vmx->ix.last_linear): either the translation of it, or (ACC_PTWALK)
 * a paging-structure access made to translate it. */
static uint64_t ept_xlate(struct cpu *cpu, uint64_t gpa, unsigned acc, bool linear)
{
    struct vmx *v = cpu->vmx;
    uint64_t eptp = vmcs_get(&v->vmcs, VMCS_EPT_POINTER);
    unsigned eacc = ept_acc(acc, eptp);
    struct ept_result r;
    int rc = ept_walk(cpu->bus, eptp, gpa, eacc, &r);
    if (likely(rc == EPT_OK))
        return r.pa;
    struct vmx_exit_info ei = { .guest_phys = gpa };
    if (rc == EPT_MISCONFIG) {
        ei.reason = EXIT_REASON_EPT_MISCONFIG; /* qualification 0 (SDM 27.2.1) */
    } else {
        ei.reason = EXIT_REASON_EPT_VIOLATION;
        ei.qual = eacc | (uint64_t)r.perm << 3;
        if (linear) {
            ei.qual |= QUAL_LINEAR_VALID | ((acc & ACC_PTWALK) ? 0 : QUAL_LINEAR_XLATE);
            ei.guest_linear = v->ix.last_linear;
        }
    }
    vmx_trace(cpu, "EPT %s gpa %#llx qual %#llx", rc == EPT_MISCONFIG ? "misconfig" : "violation",
              (unsigned long long)gpa, (unsigned long long)ei.qual);
    vmx_vmexit(cpu, &ei);
}

uint64_t ept_translate(struct cpu *cpu, uint64_t gpa, unsigned acc)
{
    return ept_xlate(cpu, gpa, acc, false);
}

/* mmu_translate() announces the linear address it translates (non-root). */
void vmx_note_linear(struct cpu *cpu, uint64_t lin)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    x->last_linear = lin;
    x->linear_valid = true;
    x->cr2_before = cpu->cr2;
}

uint64_t vmx_mmio_pa(struct cpu *cpu)
{
    return cpu->vmx->ix.mmio_pa;
}

uint8_t *vmx_guest_phys_host(struct cpu *cpu, uint64_t gpa, unsigned len, unsigned acc)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    bool linear = x->linear_valid;
    if (!(acc & ACC_PTWALK))
        x->linear_valid = false; /* consumed: the final access of that translation */
    uint32_t proc2 = ix_proc2(cpu);
    uint64_t pa = gpa;
    if (proc2 & VMX_PROC2_EPT)
        pa = ept_xlate(cpu, gpa, acc, linear);
    x->mmio_pa = pa;
    if ((proc2 & VMX_PROC2_VIRT_APIC_ACCESS) &&
        (pa & ~0xfffull) == (ix_field(cpu, VMCS_APIC_ACCESS_ADDR) & ~0xfffull)) {
        ix_apic_access(cpu, pa, len, acc, linear && !(acc & ACC_PTWALK));
        return NULL; /* virtualised: mem.c's MMIO path calls vmx_apic_mmio() */
    }
    return bus_ram_ptr(cpu->bus, pa, len);
}
