/* start.S — entry of the benchmark guest: RDI = rounds (set by the host),
 * call perf_main, leave the checksum in RAX and halt. */
    .section .note.GNU-stack, "", @progbits
    .text
    .globl _start
_start:
    call perf_main
    hlt
