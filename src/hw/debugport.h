/*
 * debugport.h — the two emulator debug ports test guests rely on:
 *
 *  - isa-debug-exit at 0xf4 (4 bytes wide): writing v ends the machine with
 *    exit status (v << 1) | 1, as QEMU's device does, so a guest can report
 *    pass/fail (kvm-unit-tests writes its exit code there with outl).
 *  - the Bochs/QEMU "port e9 hack" debug console at 0xe9: each byte written
 *    is output; reading the port returns 0xe9 so a guest can detect it.
 */
#ifndef NESTVM_HW_DEBUGPORT_H
#define NESTVM_HW_DEBUGPORT_H

#include <stdint.h>

#include "hw/bus.h"

#define DEBUGPORT_EXIT_PORT 0xf4
#define DEBUGPORT_CONSOLE_PORT 0xe9

struct debugport {
    void (*exit_fn)(void *ctx, int status);
    void (*tx_fn)(void *ctx, uint8_t byte);
    void *ctx;
};

/* Registers both ports; both callbacks get ctx.  Either callback may be
 * NULL (writes to its port then do nothing). */
void debugport_init(struct debugport *d, struct bus *bus, void (*exit_fn)(void *ctx, int status),
                    void (*tx)(void *ctx, uint8_t byte), void *ctx);

#endif
