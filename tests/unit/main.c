/* main.c — runs every TEST() linked into the unit-test binary. */
#include "test.h"

#include <string.h>

static struct test_case *head, **tail = &head;
int test_failed_checks;

void test_register(struct test_case *t)
{
    *tail = t;
    tail = &t->next;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (struct test_case *t = head; t; t = t->next) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        int before = test_failed_checks;
        t->fn();
        if (test_failed_checks != before) {
            printf("FAIL %s\n", t->name);
            failed++;
        } else {
            printf("ok   %s\n", t->name);
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
