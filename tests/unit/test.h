/*
 * test.h — the project's tiny unit-test harness.
 *
 *   TEST(uart_fifo_overrun) { ... CHECK(x == 3); CHECK_EQ(a, b); }
 *
 * Every test file is linked into one runner (tests/unit/main.c), which runs
 * each registered test (or those whose name contains argv[1]) and ends with
 * the line "N passed, N failed".  A failed CHECK prints file:line and the
 * expression, marks the test failed and continues.
 */
#ifndef NESTVM_TEST_H
#define NESTVM_TEST_H

#include <inttypes.h>
#include <stdio.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
};

void test_register(struct test_case *t);
extern int test_failed_checks;

#define TEST(name)                                                              \
    static void test_##name(void);                                              \
    static struct test_case test_case_##name = { #name, test_##name, 0 };       \
    __attribute__((constructor)) static void test_reg_##name(void)              \
    {                                                                           \
        test_register(&test_case_##name);                                       \
    }                                                                           \
    static void test_##name(void)

#define CHECK(e)                                                                \
    do {                                                                        \
        if (!(e)) {                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,  \
                    #e);                                                        \
            test_failed_checks++;                                               \
        }                                                                       \
    } while (0)

#define CHECK_EQ(a, b)                                                          \
    do {                                                                        \
        unsigned long long va_ = (unsigned long long)(a);                       \
        unsigned long long vb_ = (unsigned long long)(b);                       \
        if (va_ != vb_) {                                                       \
            fprintf(stderr, "  %s:%d: %s == %s failed: 0x%llx != 0x%llx\n",     \
                    __FILE__, __LINE__, #a, #b, va_, vb_);                      \
            test_failed_checks++;                                               \
        }                                                                       \
    } while (0)

#endif
