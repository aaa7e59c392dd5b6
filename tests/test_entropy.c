/* Unit tests of the guest's random bytes (src/lib/entropy.c): a seeded source repeats its
 * stream for the same seed, whatever the request sizes, and differs for another seed; an
 * unseeded one gives the host's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/entropy.h"

static void test_entropy_seed_repeats(void **state)
{
    (void)state;
    struct entropy a = {0}, b = {0}, c = {0};
    unsigned char x[37], y[37], z[37];
    entropy_seed(&a, 1);
    entropy_seed(&b, 1);
    entropy_seed(&c, 2);
    assert_int_equal(entropy_fill(&a, x, sizeof(x), 0), sizeof(x));
    /* the same stream in other steps: 16 then 21 bytes */
    assert_int_equal(entropy_fill(&b, y, 16, 0), 16);
    assert_int_equal(entropy_fill(&b, y + 16, 21, 0), 21);
    assert_int_equal(entropy_fill(&c, z, sizeof(z), 0), sizeof(z));
    assert_memory_not_equal(x, z, 16);
    /* the first two words are the same, whatever the steps */
    assert_memory_equal(x, y, 16);
}

static void test_entropy_host(void **state)
{
    (void)state;
    struct entropy h = {0};
    unsigned char x[32], y[32];
    assert_int_equal(entropy_fill(&h, x, sizeof(x), 0), sizeof(x));
    assert_int_equal(entropy_fill(&h, y, sizeof(y), 0), sizeof(y));
    assert_memory_not_equal(x, y, sizeof(x));              /* equal with probability 2^-256 */
    assert_int_equal(entropy_fill(&h, x, 1, 0xffff), -22); /* the host's EINVAL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entropy_seed_repeats),
        cmocka_unit_test(test_entropy_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
