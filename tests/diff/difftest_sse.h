/*
 * difftest_sse.h — the differential tester's MMX/SSE template set
 * (difftest_sse.c), registered into the generator through this table:
 * dt_gen.c appends dt_sse_templates[] to its own templates (name + emit
 * function with the same signature as its static tmpl_fn).
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
