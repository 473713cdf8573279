/*
 * vmx_state.c — lifetime of the per-vCPU VMX state (struct vmx), the
 * statistics printed with --stats, the --trace-vmx log and the record of the
 * last failed VM-entry check (VMX_CC()).
 *
 * The machine sets cpu->vmx->trace after vmx_cpu_init() when --trace-vmx is
 * given; the log goes to cpu->vmx->trace_file (stderr when NULL).
 */
#include <stdarg.h>
#include <stdlib.h>

#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"

int vmx_cpu_init(struct cpu *cpu)
{
    if (cpu->vmx)
        return 0;
    struct vmx *v = calloc(1, sizeof(*v));
    if (!v)
        return -1;
    /* Outside VMX operation, no current VMCS (SDM 23.7, 24.1). */
    v->vmxon = false;
    v->vmxon_ptr = VMX_NO_VMCS;
    v->current = VMX_NO_VMCS;
    cpu->vmx = v;
    return 0;
}

void vmx_cpu_destroy(struct cpu *cpu)
{
    free(cpu->vmx);
    cpu->vmx = NULL;
}

void vmx_print_stats(struct cpu *cpu, FILE *f)
{
    const struct vmx *v = cpu->vmx;
    if (!v)
        return;
    const struct vmx_stats *s = &v->stats;
    fprintf(f, "nestvm: stats: vCPU %d VMX: %llu VM entries, %llu entry failures\n",
            cpu->index, (unsigned long long)s->entries,
            (unsigned long long)s->entry_failures);
    for (int r = 0; r < EXIT_REASON_MAX; r++)
        if (s->exits_by_reason[r])
            fprintf(f, "nestvm: stats: vCPU %d VM exits reason %d: %llu\n", cpu->index, r,
                    (unsigned long long)s->exits_by_reason[r]);
    if (s->last_failed_check[0])
        fprintf(f, "nestvm: stats: vCPU %d last failed VM-entry check: %s\n", cpu->index,
                s->last_failed_check);
}

void vmx_trace(struct cpu *cpu, const char *fmt, ...)
{
    struct vmx *v = cpu->vmx;
    if (!v || !v->trace)
        return;
    FILE *f = v->trace_file ? v->trace_file : stderr;
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "vmx[%d] ", cpu->index);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
}

void vmx_record_failed_check(struct cpu *cpu, const char *expr, const char *sdm)
{
    struct vmx *v = cpu->vmx;
    if (!v)
        return;
    snprintf(v->stats.last_failed_check, sizeof(v->stats.last_failed_check), "%s (%s)",
             expr, sdm);
    vmx_trace(cpu, "VM-entry check failed: %s (%s)", expr, sdm);
}
