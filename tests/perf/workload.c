/*
 * workload.c — the guest side of the engine microbenchmark (tests/perf/).
 *
 * Freestanding 64-bit code, built twice by run.sh: as a flat binary that the
 * CPU harness runs on the engine (CPL 0, long mode, identity-mapped), and
 * natively, so the checksum the engine computes can be compared with the
 * host's.  The mix imitates what a Linux boot spends its time on: 64-bit
 * multiply/add-with-carry hashing, an LZ-style byte decoder (loads, shifts,
 * MOVZX, stores), sorting through a function pointer (CALL/RET, PUSH/POP,
 * compares and conditional branches), a switch-based interpreter (indirect
 * jumps), list walking, SETcc/CMOVcc and block copies.
 *
 * Entry: perf_main(rounds) returns a checksum.
 */
#include <stddef.h>
#include <stdint.h>

#define NSORT 2048
#define NBUF 16384
#define NLIST 1024

static uint32_t sort_v[NSORT];
static uint8_t src_buf[NBUF], enc_buf[NBUF * 2], dec_buf[NBUF];
struct node {
    struct node *next;
    uint64_t key;
    uint32_t w;
    uint16_t tag;
    uint8_t kind;
};
static struct node nodes[NLIST];

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *dp = d;
    while (n--)
        *dp++ = (uint8_t)c;
    return d;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 64x64 -> 128 multiply-and-fold hashing (IMUL, MUL, ADC, shifts). */
static __attribute__((noinline)) uint64_t mix_hash(const uint64_t *p, size_t n, uint64_t seed)
{
    uint64_t h = seed, acc_lo = 0, acc_hi = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned __int128 m = (unsigned __int128)(p[i] ^ h) * 0xff51afd7ed558ccdull;
        uint64_t lo = (uint64_t)m, hi = (uint64_t)(m >> 64);
        unsigned __int128 acc = ((unsigned __int128)acc_hi << 64 | acc_lo) + lo;
        acc_lo = (uint64_t)acc;
        acc_hi = (uint64_t)(acc >> 64) + hi;
        h = (h ^ hi) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        h += (uint64_t)i * 31;
    }
    return h ^ acc_lo ^ (acc_hi << 1);
}

/* A byte-oriented LZ77 encoder and decoder. */
static __attribute__((noinline)) size_t lz_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t best = 0, dist = 0;
        long lim = i > 64 ? (long)i - 64 : 0;
        for (long j = (long)i - 4; j > lim; j -= 3) {
            size_t l = 0;
            while (l < 15 && i + l < n && in[j + l] == in[i + l])
                l++;
            if (l > best) {
                best = l;
                dist = i - j;
            }
        }
        if (best >= 3) {
            out[o++] = (uint8_t)(0x80 | best);
            out[o++] = (uint8_t)dist;
            i += best;
        } else {
            size_t run = 1;
            while (run < 127 && i + run < n && run < 8)
                run++;
            out[o++] = (uint8_t)run;
            for (size_t k = 0; k < run; k++)
                out[o++] = in[i + k];
            i += run;
        }
    }
    return o;
}

static __attribute__((noinline)) size_t lz_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned c = in[i++];
        if (c & 0x80) {
            unsigned len = c & 0x7f, dist = in[i++];
            const uint8_t *s = out + o - dist;
            for (unsigned k = 0; k < len; k++)
                out[o + k] = s[k];
            o += len;
        } else {
            memcpy(out + o, in + i, c);
            i += c;
            o += c;
        }
    }
    return o;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Quicksort with an indirect comparison, insertion sort for short ranges. */
static __attribute__((noinline)) void sort_u32(uint32_t *v, long lo, long hi,
                                               int (*cmp)(const void *, const void *))
{
    while (hi - lo > 12) {
        uint32_t pivot = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (cmp(&v[i], &pivot) < 0)
                i++;
            while (cmp(&v[j], &pivot) > 0)
                j--;
            if (i <= j) {
                uint32_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            sort_u32(v, lo, j, cmp);
            lo = i;
        } else {
            sort_u32(v, i, hi, cmp);
            hi = j;
        }
    }
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t x = v[i];
        long j = i - 1;
        while (j >= lo && cmp(&v[j], &x) > 0) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

/* A tiny bytecode interpreter: switch dispatch through a jump table. */
static __attribute__((noinline)) uint64_t interp(const uint8_t *code, size_t n, uint64_t x)
{
    uint64_t a = x, b = 1, c = 0;
    for (size_t pc = 0; pc < n; pc++) {
        switch (code[pc] % 10) {
        case 0: a += b; break;
        case 1: b ^= a >> 3; break;
        case 2: c = c * 5 + a; break;
        case 3: a = (a << 7) | (a >> 57); break;
        case 4: b -= c; break;
        case 5: if ((int64_t)a < 0) c++; break;
        case 6: a = a > b ? a - b : b - a; break;
        case 7: c ^= (uint32_t)(b * 3); break;
        case 8: b = (uint16_t)a + (uint8_t)c; break;
        default: a = ~a; break;
        }
    }
    return a ^ b ^ c;
}

/* Linked-list walk with byte/word fields, SETcc and CMOVcc. */
static __attribute__((noinline)) uint64_t walk(struct node *head)
{
    uint64_t s = 0;
    unsigned odd = 0, big = 0;
    for (struct node *p = head; p; p = p->next) {
        odd += (p->key & 1) != 0;
        big += p->w > 0x80000000u;
        uint64_t k = p->kind > 100 ? p->key : p->w;
        s += k + p->tag;
        s = (s >> 1) | (s << 63);
    }
    return s + odd * 3 + big;
}

static void setup(void)
{
    for (int i = 0; i < NLIST; i++) {
        int j = (i * 389 + 17) % NLIST;
        nodes[i].next = i + 1 < NLIST ? &nodes[(j * 7 + 1) % NLIST] : NULL;
        nodes[i].key = next_rand();
        nodes[i].w = (uint32_t)next_rand();
        nodes[i].tag = (uint16_t)i;
        nodes[i].kind = (uint8_t)next_rand();
    }
    /* Break cycles: a plain chain through a permutation. */
    for (int i = 0; i < NLIST; i++)
        nodes[i].next = i + 1 < NLIST ? &nodes[i + 1] : NULL;
}

uint64_t perf_main(uint64_t rounds)
{
    uint64_t sum = 0;
    setup();
    for (uint64_t r = 0; r < rounds; r++) {
        for (int i = 0; i < NBUF; i++) {
            uint64_t x = next_rand();
            src_buf[i] = (uint8_t)((x & 7) < 5 ? 'a' + (x >> 8) % 4 : x >> 16);
        }
        for (int k = 0; k < 8; k++)
            sum += mix_hash((const uint64_t *)src_buf, NBUF / 8, r + k);
        size_t e = lz_encode(src_buf, 4096, enc_buf), d = 0;
        for (int k = 0; k < 4; k++)
            d += lz_decode(enc_buf, e, dec_buf);
        sum += e * 7 + d;
        for (int i = 0; i < 4096; i++)
            sum += dec_buf[i] != src_buf[i];
        for (int i = 0; i < NSORT; i++)
            sort_v[i] = (uint32_t)next_rand();
        sort_u32(sort_v, 0, NSORT - 1, cmp_u32);
        for (int i = 0; i < NSORT; i += 64)
            sum = sum * 3 + sort_v[i];
        sum += interp(src_buf, 4096, sum);
        for (int k = 0; k < 4; k++)
            sum += walk(&nodes[k]);
        memcpy(dec_buf, src_buf, 4096);
        sum += dec_buf[r % NBUF];
    }
    return sum;
}
