/* Unit tests of the "reported once" memory (src/lib/warn_once.c): a key is new once, the
 * set stops growing when full, and a reset forgets everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmemu/warn_once.h"

static void test_warn_once_first_time_only(void **state)
{
    (void)state;
    static struct warn_once w;
    assert_true(warn_once(&w, 42));
    assert_false(warn_once(&w, 42));
    assert_true(warn_once(&w, UINT64_MAX));
    assert_false(warn_once(&w, UINT64_MAX));
}

static void test_warn_once_full_set_stops_reporting(void **state)
{
    (void)state;
    static struct warn_once w;
    for (uint64_t k = 0; k < WARN_ONCE_KEYS; k++)
        assert_true(warn_once(&w, k));
    assert_false(warn_once(&w, WARN_ONCE_KEYS)); /* new, but the set is full */
    assert_false(warn_once(&w, 7));
    warn_once_reset(&w);
    assert_true(warn_once(&w, 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warn_once_first_time_only),
        cmocka_unit_test(test_warn_once_full_set_stops_reporting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
