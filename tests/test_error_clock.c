/* Error texts (mqs_strerror, mqs_last_error) and time (mqs_now_ns,
 * mqs_sleep_ns). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <time.h>

#include "test_util.h"

TestSuite(error_clock, .fini = mqst_teardown, .timeout = 30);

Test(error_clock, strerror_names_every_code_the_api_returns)
{
    static const int codes[] = {EINVAL,  ENOMEM, ENOSPC, EEXIST,    EACCES, ENOENT,    EPROTO,
                                EBADMSG, ERANGE, EBUSY,  ESTALE,    EPERM,  EAGAIN,    ETIMEDOUT,
                                EPIPE,   ECANCELED, EOVERFLOW, ENAMETOOLONG};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = mqs_strerror(-codes[i]);
        cr_assert(ne(ptr, (void *)s, NULL));
        cr_assert(ne(str, (char *)s, ""), "code %d", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert(ne(str, (char *)s, (char *)mqs_strerror(-codes[j])), "codes %d and %d read the same", codes[i],
                      codes[j]);
    }
}

Test(error_clock, strerror_never_returns_null)
{
    static const int odd[] = {0, 1, 12345, -12345, -1000000, 2147483647, -2147483647 - 1};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = mqs_strerror(odd[i]);
        cr_assert(ne(ptr, (void *)s, NULL), "mqs_strerror(%d)", odd[i]);
    }
}

Test(error_clock, last_error_is_set_by_failures_and_cleared_by_success)
{
    mqs_domain *d = NULL;
    cr_assert(eq(int, mqs_domain_attach("/mqs.0.mqstest_nothing.here", 0, &d), -ENOENT));
    const char *msg = mqs_last_error();
    cr_assert(ne(ptr, (void *)msg, NULL));
    cr_assert(ne(str, (char *)msg, ""));

    mqst_topo t;
    mqst_topo_init(&t, "error", 1);
    mqst_create(&t);
    cr_assert(eq(str, (char *)mqs_last_error(), ""), "success leaves \"\"");
}

Test(error_clock, now_is_monotonic_and_matches_clock_monotonic)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t prev = mqs_now_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t now = mqs_now_ns();
        cr_assert(ge(i64, now, prev));
        prev = now;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    cr_assert(ge(i64, prev, before));
    cr_assert(le(i64, prev, after));
}

Test(error_clock, sleep_sleeps_at_least_as_asked)
{
    int64_t t0 = mqs_now_ns();
    mqs_sleep_ns(20 * MQST_MS);
    int64_t slept = mqs_now_ns() - t0;
    cr_assert(ge(i64, slept, 20 * MQST_MS));
    cr_assert(lt(i64, slept, 2 * MQST_SEC));
    t0 = mqs_now_ns();
    mqs_sleep_ns(0);
    mqs_sleep_ns(-5);
    cr_assert(lt(i64, mqs_now_ns() - t0, 100 * MQST_MS), "zero and negative sleeps return at once");
}
