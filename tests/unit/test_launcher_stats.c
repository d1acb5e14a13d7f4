/* test_launcher_stats.c: median, min and max over repeated boots, missing values left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "launcher/stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_odd_count_is_the_middle_value(void **state)
{
    (void)state;
    const int64_t v[] = {900, 100, 500, 300, 700};
    struct launcher_stats st;
    launcher_stats_compute(v, N(v), &st);
    assert_int_equal(st.n, 5);
    assert_int_equal(st.median, 500);
    assert_int_equal(st.min, 100);
    assert_int_equal(st.max, 900);
}

static void test_even_count_is_the_mean_of_the_middle_two(void **state)
{
    (void)state;
    const int64_t v[] = {40, 10, 30, 20};
    struct launcher_stats st;
    launcher_stats_compute(v, N(v), &st);
    assert_int_equal(st.median, 25);
    const int64_t w[] = {4, 1}; /* (1 + 4) / 2, rounded down */
    launcher_stats_compute(w, N(w), &st);
    assert_int_equal(st.median, 2);
    assert_int_equal(st.min, 1);
    assert_int_equal(st.max, 4);
}

static void test_missing_values_are_left_out(void **state)
{
    (void)state;
    /* runs 2 and 4 failed before the boot timer */
    const int64_t v[] = {800, -1, 1000, -1, 900};
    struct launcher_stats st;
    launcher_stats_compute(v, N(v), &st);
    assert_int_equal(st.n, 3);
    assert_int_equal(st.median, 900);
    assert_int_equal(st.min, 800);
    assert_int_equal(st.max, 1000);
    /* the input is not reordered */
    assert_int_equal(v[0], 800);
    assert_int_equal(v[1], -1);
}

static void test_nothing_measured(void **state)
{
    (void)state;
    const int64_t v[] = {-1, -1};
    struct launcher_stats st;
    launcher_stats_compute(v, N(v), &st);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.median, -1);
    assert_int_equal(st.min, -1);
    assert_int_equal(st.max, -1);
    launcher_stats_compute(NULL, 0, &st);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.median, -1);
}

static void test_single_and_huge_values(void **state)
{
    (void)state;
    const int64_t one[] = {1234};
    struct launcher_stats st;
    launcher_stats_compute(one, 1, &st);
    assert_int_equal(st.median, 1234);
    assert_int_equal(st.min, 1234);
    assert_int_equal(st.max, 1234);
    /* the mean of the middle two must not overflow */
    const int64_t big[] = {INT64_MAX, INT64_MAX - 2};
    launcher_stats_compute(big, N(big), &st);
    assert_true(st.median == INT64_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_count_is_the_middle_value),
        cmocka_unit_test(test_even_count_is_the_mean_of_the_middle_two),
        cmocka_unit_test(test_missing_values_are_left_out),
        cmocka_unit_test(test_nothing_measured),
        cmocka_unit_test(test_single_and_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
