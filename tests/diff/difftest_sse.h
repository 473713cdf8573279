/*
 * difftest_sse.h — the differential tester's MMX/SSE template set
 * (difftest_sse.c), registered into the generator through this table:
 * dt_gen.c appends dt_sse_templates[] to its own templates (name + emit
 * function with the same signature as its static tmpl_fn).
 *
 * Wiring in dt_gen_seq() (owner of dt_gen.c): treat indices
 * dt_ntemplates .. dt_ntemplates + dt_sse_ntemplates - 1 as SSE templates,
 *     name = i < dt_ntemplates ? dt_template_names[i]
 *                              : dt_sse_templates[i - dt_ntemplates].name;
 *     ... k >= dt_ntemplates ? dt_sse_templates[k - dt_ntemplates].fn(&g)
 *                            : templates[k](&g);
 * and size allowed[] for both sets.  Verified with exactly that change:
 * `difftest --only sse` / `--only mmx`, 64- and 32-bit, 0 mismatches.
 */
#ifndef NESTVM_DIFFTEST_SSE_H
#define NESTVM_DIFFTEST_SSE_H

#include "dt_gen_priv.h"

struct dt_sse_template {
    const char *name;
    void (*fn)(struct g *g);
};

extern const struct dt_sse_template dt_sse_templates[];
extern const unsigned dt_sse_ntemplates;

#endif
