/*
 * l2main.c — C side of the L2 benchmark image bench/l2bench.bin: runs
 * bench_work(rounds) (bench/work.c, the same object as L1's cpubench) and
 * prints "L2BENCH: rounds N hash H" on COM1 (one OUT per byte: each is a VM
 * exit to l2launch, a few dozen in all).  Freestanding, called from
 * bench/l2entry.S in 64-bit mode; returns to it, which HLTs.
 */
#include <stdint.h>

#include "work.h"

#define COM1 0x3f8

void l2main(uint32_t rounds);

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void puts_com1(const char *s)
{
    while (*s)
        outb(COM1, (uint8_t)*s++);
}

static void put_dec(uint32_t v)
{
    char b[11];
    int i = sizeof b;
    b[--i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_com1(&b[i]);
}

static void put_hex64(uint64_t v)
{
    char b[17];
    for (int i = 15; i >= 0; i--, v >>= 4)
        b[i] = "0123456789abcdef"[v & 15];
    b[16] = 0;
    puts_com1(b);
}

void l2main(uint32_t rounds)
{
    uint64_t h = bench_work(rounds);
    puts_com1("L2BENCH: rounds ");
    put_dec(rounds);
    puts_com1(" hash ");
    put_hex64(h);
    puts_com1("\n");
}
