/* The launcher's supervision decisions: the restart policy (never,
 * on-failure, always; max_restarts, restart_window, the doubling backoff and
 * its cap up to INT64_MAX) and the watchdog (judging samples, how often to
 * sample, and mqs_watchdog_sample on a real domain with the process slot
 * played by this test: when a hung block is killed). Times are virtual:
 * every function is given `now`, nothing sleeps. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <stdint.h>

#include "launch/supervisor_internal.h"
#include "test_util.h"

#define MS MQST_MS
#define SEC MQST_SEC

/* ---- stubs of the supervisor's other files, which watchdog.c calls ---- */

static uint32_t signals_sent, signalled_block;
static int signal_sent;

void mqs_say(const supervisor *s, int level, const char *fmt, ...)
{
    (void)s, (void)level, (void)fmt;
}

void mqs_child_signal(supervisor *s, uint32_t i, int sig)
{
    (void)s;
    signals_sent++;
    signalled_block = i;
    signal_sent = sig;
}

TestSuite(restart_backoff, .timeout = 60);
TestSuite(restart_decide, .timeout = 60);
TestSuite(watch_judge, .timeout = 60);
TestSuite(watch_period, .timeout = 60);
TestSuite(watch_sample, .fini = mqst_teardown, .timeout = 60);

static mqs_graph_supervision backoff_only(int64_t backoff, int64_t max_backoff)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.backoff_ns = backoff;
    s.max_backoff_ns = max_backoff;
    return s;
}

/* ---- mqs_restart_backoff ---- */

Test(restart_backoff, defaults_double_from_100ms_up_to_5s)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    const int64_t expected[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS, 3200 * MS, 5 * SEC, 5 * SEC};
    for (uint32_t in_row = 0; in_row < sizeof expected / sizeof expected[0]; in_row++)
        cr_assert(eq(i64, mqs_restart_backoff(&s, in_row), expected[in_row]), "in_row %u", in_row);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1000), 5 * SEC));
    cr_assert(eq(i64, mqs_restart_backoff(&s, UINT32_MAX), 5 * SEC));
}

Test(restart_backoff, a_cap_that_is_no_power_of_two_is_reached_exactly)
{
    mqs_graph_supervision s = backoff_only(3, 10);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 0), 3));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), 6));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 2), 10), "12 is capped to 10");
    cr_assert(eq(i64, mqs_restart_backoff(&s, 3), 10));
    s = backoff_only(3, 7);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), 6));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 2), 7));
    s = backoff_only(3, 6);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), 6), "doubling onto the cap exactly");
    cr_assert(eq(i64, mqs_restart_backoff(&s, 2), 6));
}

Test(restart_backoff, zero_backoff_stays_zero_and_equal_bounds_stay_put)
{
    mqs_graph_supervision s = backoff_only(0, 5 * SEC);
    for (uint32_t in_row = 0; in_row < 70; in_row++)
        cr_assert(eq(i64, mqs_restart_backoff(&s, in_row), 0), "in_row %u", in_row);
    cr_assert(eq(i64, mqs_restart_backoff(&s, UINT32_MAX), 0));
    s = backoff_only(2 * SEC, 2 * SEC);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 0), 2 * SEC));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), 2 * SEC));
    cr_assert(eq(i64, mqs_restart_backoff(&s, UINT32_MAX), 2 * SEC));
}

Test(restart_backoff, a_cap_of_int64_max_doubles_to_2_pow_62_then_caps)
{
    mqs_graph_supervision s = backoff_only(1, INT64_MAX);
    for (uint32_t in_row = 0; in_row <= 62; in_row++)
        cr_assert(eq(i64, mqs_restart_backoff(&s, in_row), (int64_t)1 << in_row), "in_row %u", in_row);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 63), INT64_MAX), "2^63 does not fit: the cap");
    cr_assert(eq(i64, mqs_restart_backoff(&s, 64), INT64_MAX));
    cr_assert(eq(i64, mqs_restart_backoff(&s, UINT32_MAX), INT64_MAX));

    s = backoff_only(INT64_MAX / 2 + 1, INT64_MAX);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 0), INT64_MAX / 2 + 1));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), INT64_MAX), "doubling would overflow");
    s = backoff_only(INT64_MAX, INT64_MAX);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 0), INT64_MAX));
    cr_assert(eq(i64, mqs_restart_backoff(&s, UINT32_MAX), INT64_MAX));
    s = backoff_only(INT64_MAX / 3, INT64_MAX - 1);
    cr_assert(eq(i64, mqs_restart_backoff(&s, 1), INT64_MAX / 3 * 2));
    cr_assert(eq(i64, mqs_restart_backoff(&s, 2), INT64_MAX - 1));
}

/* min(backoff * 2^in_row, max_backoff), computed without overflow. */
static int64_t reference_backoff(int64_t backoff, int64_t max_backoff, uint32_t in_row)
{
    unsigned __int128 delay = (unsigned __int128)backoff << (in_row > 64 ? 64 : in_row);
    return delay < (unsigned __int128)max_backoff ? (int64_t)delay : max_backoff;
}

Test(restart_backoff, every_delay_is_the_doubling_capped_never_negative_or_past_the_cap)
{
    const int64_t values[] = {0, 1, 2, 3, 7, 10, 100 * MS, 5 * SEC, INT64_MAX / 3, INT64_MAX / 2,
                              INT64_MAX / 2 + 1, INT64_MAX - 1, INT64_MAX};
    const size_t n = sizeof values / sizeof values[0];
    unsigned checked = 0;
    for (size_t b = 0; b < n; b++) {
        for (size_t m = 0; m < n; m++) {
            if (values[m] <= 0 || values[m] < values[b])
                continue; /* the graph checker refuses these: max_backoff > 0 and >= backoff */
            mqs_graph_supervision s = backoff_only(values[b], values[m]);
            int64_t before = 0;
            for (uint32_t r = 0; r < 72; r++) {
                uint32_t in_row = r < 71 ? r : UINT32_MAX;
                int64_t delay = mqs_restart_backoff(&s, in_row);
                cr_assert(eq(i64, delay, reference_backoff(values[b], values[m], in_row)),
                          "backoff %lld, max_backoff %lld, in_row %u", (long long)values[b], (long long)values[m],
                          in_row);
                cr_assert(delay >= before && delay <= values[m], "never negative, never shorter, never past the cap");
                before = delay;
                checked++;
            }
        }
    }
    cr_assert(eq(u32, checked, 90 * 72), "90 valid (backoff, max_backoff) pairs, 72 in_row values each");
}

/* ---- mqs_restart_decide ---- */

typedef struct decision {
    mqs_restart_verdict verdict;
    int64_t delay_ns;
} decision;

static decision decide(const mqs_graph_supervision *s, mqs_restart_state *st, bool clean, int64_t ran_ns)
{
    decision d = {.delay_ns = -12345}; /* decide must overwrite it */
    d.verdict = mqs_restart_decide(s, st, clean, ran_ns, &d.delay_ns);
    return d;
}

static void assert_state(const mqs_restart_state *st, uint32_t in_row, uint32_t total)
{
    cr_assert(eq(u32, st->in_row, in_row));
    cr_assert(eq(u32, st->total, total));
}

Test(restart_decide, never_restarts_nothing_and_leaves_the_count)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.restart = MQS_RESTART_NEVER;
    mqs_restart_state st = {.in_row = 3, .total = 7};
    const bool clean[] = {false, true, false, true};
    const int64_t ran[] = {0, 0, 10 * SEC, INT64_MAX};
    for (int i = 0; i < 4; i++) {
        decision d = decide(&s, &st, clean[i], ran[i]);
        cr_assert(eq(int, d.verdict, MQS_RESTART_NOT), "case %d", i);
        cr_assert(eq(i64, d.delay_ns, 0), "case %d", i);
        assert_state(&st, 3, 7);
    }
}

Test(restart_decide, on_failure_restarts_a_failure_but_not_a_clean_end)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    mqs_restart_state st = {0};
    decision d = decide(&s, &st, true, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_NOT));
    cr_assert(eq(i64, d.delay_ns, 0));
    assert_state(&st, 0, 0);

    d = decide(&s, &st, false, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
    cr_assert(eq(i64, d.delay_ns, 100 * MS), "in_row 0: the plain backoff");
    assert_state(&st, 1, 1);

    st = (mqs_restart_state){.in_row = 4, .total = 9};
    d = decide(&s, &st, true, 10 * SEC);
    cr_assert(eq(int, d.verdict, MQS_RESTART_NOT));
    assert_state(&st, 4, 9); /* a clean end is no restart: the count stays */
}

Test(restart_decide, defaults_restart_five_times_in_a_row_then_give_up)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    mqs_restart_state st = {0};
    const int64_t delays[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS};
    for (uint32_t i = 0; i < 5; i++) {
        decision d = decide(&s, &st, false, 10 * MS);
        cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER), "failure %u", i + 1);
        cr_assert(eq(i64, d.delay_ns, delays[i]), "failure %u", i + 1);
        assert_state(&st, i + 1, i + 1);
    }
    for (int again = 0; again < 2; again++) {
        decision d = decide(&s, &st, false, 10 * MS);
        cr_assert(eq(int, d.verdict, MQS_RESTART_GIVE_UP));
        cr_assert(eq(i64, d.delay_ns, 0));
        assert_state(&st, 5, 5);
    }
}

Test(restart_decide, max_restarts_one_allows_exactly_one)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.max_restarts = 1;
    mqs_restart_state st = {0};
    cr_assert(eq(int, decide(&s, &st, false, 0).verdict, MQS_RESTART_AFTER));
    assert_state(&st, 1, 1);
    cr_assert(eq(int, decide(&s, &st, false, 0).verdict, MQS_RESTART_GIVE_UP));
    assert_state(&st, 1, 1);
}

Test(restart_decide, always_restarts_a_clean_end_and_leaves_it_done_when_used_up)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.restart = MQS_RESTART_ALWAYS;
    s.max_restarts = 2;
    mqs_restart_state st = {0};
    decision d = decide(&s, &st, true, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
    cr_assert(eq(i64, d.delay_ns, 100 * MS));
    d = decide(&s, &st, true, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
    cr_assert(eq(i64, d.delay_ns, 200 * MS));
    assert_state(&st, 2, 2);
    d = decide(&s, &st, true, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_NOT), "a clean end is left done, not given up on");
    cr_assert(eq(i64, d.delay_ns, 0));
    d = decide(&s, &st, false, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_GIVE_UP), "a failure is given up on");
    assert_state(&st, 2, 2);
    d = decide(&s, &st, true, s.restart_window_ns);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER), "a clean end after a full window starts a new row");
    cr_assert(eq(i64, d.delay_ns, 100 * MS));
    assert_state(&st, 1, 3);
}

Test(restart_decide, zero_max_restarts_means_no_limit_with_the_delay_capped)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.max_restarts = 0;
    mqs_restart_state st = {0};
    for (uint32_t i = 0; i < 1000; i++) {
        decision d = decide(&s, &st, false, 0);
        cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER), "failure %u", i + 1);
        cr_assert(eq(i64, d.delay_ns, reference_backoff(100 * MS, 5 * SEC, i)), "failure %u", i + 1);
    }
    assert_state(&st, 1000, 1000);

    st = (mqs_restart_state){.in_row = UINT32_MAX - 1, .total = UINT32_MAX - 1};
    decision d = decide(&s, &st, false, 0);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
    cr_assert(eq(i64, d.delay_ns, 5 * SEC));
    assert_state(&st, UINT32_MAX, UINT32_MAX);
}

Test(restart_decide, running_exactly_the_window_clears_the_row_one_ns_less_does_not)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    mqs_restart_state st = {.in_row = 5, .total = 5};
    decision d = decide(&s, &st, false, SEC - 1);
    cr_assert(eq(int, d.verdict, MQS_RESTART_GIVE_UP), "999999999 ns is short of the 1 s window");
    assert_state(&st, 5, 5);

    d = decide(&s, &st, false, SEC);
    cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER), "a full window clears the row");
    cr_assert(eq(i64, d.delay_ns, 100 * MS), "the row starts over at the plain backoff");
    assert_state(&st, 1, 6);

    st = (mqs_restart_state){.in_row = 3, .total = 40};
    d = decide(&s, &st, false, INT64_MAX);
    cr_assert(eq(i64, d.delay_ns, 100 * MS));
    assert_state(&st, 1, 41);
    d = decide(&s, &st, false, 0);
    cr_assert(eq(i64, d.delay_ns, 200 * MS), "a short run after that keeps doubling");
    assert_state(&st, 2, 42);
}

Test(restart_decide, a_crash_every_few_seconds_restarts_for_ever_after_the_plain_backoff)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    mqs_restart_state st = {0};
    for (uint32_t i = 0; i < 100; i++) {
        decision d = decide(&s, &st, false, 3 * SEC);
        cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
        cr_assert(eq(i64, d.delay_ns, 100 * MS));
    }
    assert_state(&st, 1, 100);
}

Test(restart_decide, a_cap_near_int64_max_gives_a_delay_of_at_most_the_cap)
{
    mqs_graph_supervision s = backoff_only(INT64_MAX / 4 + 1, INT64_MAX - 1);
    s.max_restarts = 0;
    mqs_restart_state st = {0};
    const int64_t expected[] = {INT64_MAX / 4 + 1, INT64_MAX / 2 + 1, INT64_MAX - 1, INT64_MAX - 1};
    for (uint32_t i = 0; i < 4; i++) {
        decision d = decide(&s, &st, false, 0);
        cr_assert(eq(int, d.verdict, MQS_RESTART_AFTER));
        cr_assert(eq(i64, d.delay_ns, expected[i]), "restart %u", i + 1);
    }
    assert_state(&st, 4, 4);
}

/* ---- mqs_watch_judge ---- */

static mqs_graph_supervision limits(int64_t watchdog_ns, int64_t init_timeout_ns)
{
    mqs_graph_supervision s = mqs_graph_supervision_default();
    s.watchdog_ns = watchdog_ns;
    s.init_timeout_ns = init_timeout_ns;
    return s;
}

static mqs_watch_verdict judge(mqs_watch *w, const mqs_graph_supervision *s, mqs_activity a, uint64_t calls,
                               int64_t now)
{
    mqs_process_stats ps = {.state = MQS_PROCESS_ATTACHED, .activity = a, .calls = calls};
    return mqs_watch_judge(w, &ps, s, now);
}

Test(watch_judge, start_knows_nothing_and_the_first_sample_is_never_hung)
{
    mqs_watch w = {.activity = MQS_ACTIVITY_CALL, .calls = 9, .since_ns = 77};
    mqs_watch_start(&w, 42);
    cr_assert(eq(u64, w.calls_at_start, 42));
    cr_assert(eq(i64, w.since_ns, 0));
    cr_assert(eq(u64, w.calls, 0));
    cr_assert(eq(int, w.activity, MQS_ACTIVITY_IDLE));
    cr_assert(eq(i64, mqs_watch_stuck_ns(&w, 5 * SEC), 0), "not sampled: stuck for 0");

    mqs_graph_supervision s = limits(1, 1);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 42, 5 * SEC), MQS_WATCH_OK));
    cr_assert(eq(i64, w.since_ns, 5 * SEC));
    cr_assert(eq(i64, mqs_watch_stuck_ns(&w, 5 * SEC + 7), 7));
}

Test(watch_judge, a_call_without_progress_is_hung_at_exactly_the_watchdog)
{
    mqs_graph_supervision s = limits(2 * SEC, 0);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    const int64_t t0 = 1 * SEC;
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 5, t0), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 5, t0 + 2 * SEC - 1), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 5, t0 + 2 * SEC), MQS_WATCH_HUNG_CALL));
    cr_assert(eq(i64, mqs_watch_stuck_ns(&w, t0 + 2 * SEC), 2 * SEC));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 5, t0 + 60 * SEC), MQS_WATCH_HUNG_CALL));
    cr_assert(eq(i64, w.since_ns, t0), "judging hung changes nothing");
}

Test(watch_judge, progress_or_a_new_activity_restarts_the_clock)
{
    mqs_graph_supervision s = limits(2 * SEC, 0);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    const int64_t t0 = 1 * SEC;
    judge(&w, &s, MQS_ACTIVITY_CALL, 5, t0);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 6, t0 + 1500 * MS), MQS_WATCH_OK), "the counter moved");
    cr_assert(eq(i64, w.since_ns, t0 + 1500 * MS));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 6, t0 + 3 * SEC), MQS_WATCH_OK), "1.5 s since the move");
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 6, t0 + 3500 * MS), MQS_WATCH_HUNG_CALL));

    /* The same count in another activity: waiting, then in a call again. */
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_WAIT_SEND, 6, t0 + 4 * SEC), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 6, t0 + 5 * SEC), MQS_WATCH_OK));
    cr_assert(eq(i64, w.since_ns, t0 + 5 * SEC));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 6, t0 + 7 * SEC), MQS_WATCH_HUNG_CALL));
}

Test(watch_judge, waiting_is_never_hung)
{
    mqs_graph_supervision s = limits(1, 1);
    const mqs_activity waits[] = {MQS_ACTIVITY_IDLE, MQS_ACTIVITY_WAIT_INPUT, MQS_ACTIVITY_WAIT_ALLOC,
                                  MQS_ACTIVITY_WAIT_SEND};
    for (int i = 0; i < 4; i++) {
        mqs_watch w;
        mqs_watch_start(&w, 0);
        cr_assert(eq(int, judge(&w, &s, waits[i], 3, 1), MQS_WATCH_OK));
        cr_assert(eq(int, judge(&w, &s, waits[i], 3, 2), MQS_WATCH_OK), "activity %d", (int)waits[i]);
        cr_assert(eq(int, judge(&w, &s, waits[i], 3, INT64_MAX), MQS_WATCH_OK), "activity %d", (int)waits[i]);
        cr_assert(eq(i64, mqs_watch_stuck_ns(&w, INT64_MAX), INT64_MAX - 1));
    }
}

Test(watch_judge, watchdog_off_never_judges_a_call_hung)
{
    mqs_graph_supervision s = limits(0, 1);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, 1), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, 3600 * SEC), MQS_WATCH_OK),
              "init_timeout is not the limit of a call");
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, INT64_MAX), MQS_WATCH_OK));
}

Test(watch_judge, init_is_hung_at_exactly_init_timeout_and_watchdog_does_not_apply)
{
    mqs_graph_supervision s = limits(1 * SEC, 10 * SEC);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    const int64_t t0 = 3 * SEC;
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, t0), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, t0 + 5 * SEC), MQS_WATCH_OK), "past the watchdog");
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, t0 + 10 * SEC - 1), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, t0 + 10 * SEC), MQS_WATCH_HUNG_INIT));
    cr_assert(eq(i64, mqs_watch_stuck_ns(&w, t0 + 10 * SEC), 10 * SEC));
}

Test(watch_judge, init_timeout_off_never_judges_init_hung)
{
    mqs_graph_supervision s = limits(1 * MS, 0);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, 1), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, INT64_MAX), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, INT64_MAX - 1 * MS), MQS_WATCH_OK));
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, INT64_MAX), MQS_WATCH_HUNG_CALL), "the watchdog still works");
}

Test(watch_judge, huge_limits_compare_without_overflow)
{
    mqs_graph_supervision s = limits(INT64_MAX, INT64_MAX);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    judge(&w, &s, MQS_ACTIVITY_CALL, 1, 1);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, INT64_MAX), MQS_WATCH_OK), "stuck INT64_MAX - 1");
    s.watchdog_ns = INT64_MAX - 1;
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_CALL, 1, INT64_MAX), MQS_WATCH_HUNG_CALL));
    mqs_watch_start(&w, 0);
    judge(&w, &s, MQS_ACTIVITY_INIT, 0, 1);
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, INT64_MAX), MQS_WATCH_OK));
    s.init_timeout_ns = INT64_MAX - 1;
    cr_assert(eq(int, judge(&w, &s, MQS_ACTIVITY_INIT, 0, INT64_MAX), MQS_WATCH_HUNG_INIT));
}

/* ---- mqs_watch_period ---- */

static int64_t period_of_call(int64_t watchdog_ns)
{
    mqs_graph_supervision s = limits(watchdog_ns, 0);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    return mqs_watch_period(&w, &s);
}

Test(watch_period, a_quarter_of_the_watchdog_between_5_and_500_ms)
{
    const int64_t watchdog[] = {1, 10 * MS, 20 * MS - 1, 20 * MS, 100 * MS, 1 * SEC, 2 * SEC, 2 * SEC + 4,
                                60 * SEC, INT64_MAX};
    const int64_t period[] = {5 * MS, 5 * MS, 5 * MS, 5 * MS, 25 * MS, 250 * MS, 500 * MS, 500 * MS, 500 * MS,
                              500 * MS};
    for (int i = 0; i < 10; i++)
        cr_assert(eq(i64, period_of_call(watchdog[i]), period[i]), "watchdog %lld ns", (long long)watchdog[i]);
    cr_assert(eq(i64, period_of_call(20 * MS + 4), 5 * MS + 1));
    cr_assert(eq(i64, period_of_call(2 * SEC - 4), 500 * MS - 1));
}

Test(watch_period, init_timeout_is_watched_until_the_first_call_after_start)
{
    mqs_graph_supervision s = limits(0, MQS_DEFAULT_INIT_TIMEOUT_NS);
    mqs_watch w;
    mqs_watch_start(&w, 42); /* a restart: the slot counted 42 calls before */
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 500 * MS), "10 s / 4, capped");
    judge(&w, &s, MQS_ACTIVITY_INIT, 42, 1 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 500 * MS), "still in init");
    judge(&w, &s, MQS_ACTIVITY_WAIT_INPUT, 42, 2 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 500 * MS), "no call yet");
    judge(&w, &s, MQS_ACTIVITY_CALL, 43, 3 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 0), "init is over and there is no watchdog: nothing to watch");

    mqs_watch_start(&w, 42);
    w.calls = 43; /* not sampled (since_ns 0): nothing is known to be over */
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 500 * MS));
}

Test(watch_period, the_shorter_limit_sets_the_period_while_init_may_run)
{
    mqs_graph_supervision s = limits(1 * SEC, 100 * MS);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 25 * MS), "init_timeout / 4");
    judge(&w, &s, MQS_ACTIVITY_CALL, 1, 1 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 250 * MS), "after init: watchdog / 4");

    s = limits(100 * MS, 10 * SEC);
    mqs_watch_start(&w, 0);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 25 * MS), "the watchdog is the shorter");
    s = limits(1 * SEC, 1 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 250 * MS));
}

Test(watch_period, no_limits_need_no_samples)
{
    mqs_graph_supervision s = limits(0, 0);
    mqs_watch w;
    mqs_watch_start(&w, 0);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 0));
    judge(&w, &s, MQS_ACTIVITY_INIT, 0, 1 * SEC);
    cr_assert(eq(i64, mqs_watch_period(&w, &s), 0));
}

/* ---- mqs_watchdog_sample: one block, its slot played by this test ---- */

typedef struct watched {
    mqs_domain *launcher, *worker; /* slot 0 and the block's slot 1 */
    mqs_launch_block block;
    child child;
    supervisor s;
} watched;

static void watched_init(watched *w, int64_t watchdog_ns, int64_t init_timeout_ns, bool attach)
{
    mqst_topo t;
    mqst_topo_init(&t, "supervision", 2);
    *w = (watched){.launcher = mqst_create(&t)};
    if (attach)
        w->worker = mqst_attach(mqs_domain_name(w->launcher), 1);
    w->block = (mqs_launch_block){.instance = "track", .supervision = limits(watchdog_ns, init_timeout_ns)};
    w->child = (child){.pid = 4250, .state = CHILD_RUNNING, .killed_for = MQS_WATCH_OK};
    mqs_watch_start(&w->child.watch, mqst_process_stats(w->launcher, 1).calls);
    w->s = (supervisor){.domain = w->launcher, .blocks = &w->block, .count = 1, .children = &w->child};
    signals_sent = 0;
    signalled_block = UINT32_MAX;
    signal_sent = 0;
}

/* Detach the block's slot and destroy the domain now, not at teardown. */
static void watched_fini(watched *w)
{
    if (w->worker)
        mqst_release(w->worker);
    mqst_release(w->launcher);
}

/* Sample at the times the sampler asks for, from `now`, until it kills or
 * `limit`; returns the time of the kill (0: none). */
static int64_t sample_until_kill(watched *w, int64_t now, int64_t limit)
{
    while (now <= limit) {
        int64_t next = mqs_watchdog_sample(&w->s, now);
        if (signals_sent)
            return now;
        cr_assert(next > now && next < INT64_MAX, "a watched block is sampled again (at %lld)", (long long)next);
        now = next;
    }
    return 0;
}

Test(watch_sample, a_hung_call_is_killed_once_at_the_first_sample_past_the_watchdog)
{
    watched w;
    watched_init(&w, 2 * SEC, 0, true);
    mqs_process_activity(w.worker, MQS_ACTIVITY_CALL, 0);
    cr_assert(eq(i64, mqs_watchdog_sample(&w.s, 1 * SEC), 1500 * MS), "first seen; again in 2 s / 4");
    cr_assert(eq(i64, sample_until_kill(&w, 1500 * MS, 60 * SEC), 3 * SEC));
    cr_assert(eq(u32, signals_sent, 1));
    cr_assert(eq(u32, signalled_block, 0));
    cr_assert(eq(int, signal_sent, SIGKILL));
    cr_assert(eq(int, w.child.killed_for, MQS_WATCH_HUNG_CALL));
    cr_assert(eq(i64, mqs_watchdog_sample(&w.s, 4 * SEC), INT64_MAX), "a killed block is no longer watched");
    cr_assert(eq(u32, signals_sent, 1));
}

Test(watch_sample, a_waiting_block_is_never_killed)
{
    watched w;
    watched_init(&w, 20 * MS, 0, true);
    mqs_process_activity(w.worker, MQS_ACTIVITY_CALL, 0);
    mqs_process_activity(w.worker, MQS_ACTIVITY_WAIT_SEND, 0);
    cr_assert(eq(i64, sample_until_kill(&w, 1 * SEC, 1 * SEC + 10 * SEC), 0), "2000 samples, no kill");
    cr_assert(eq(u32, signals_sent, 0));
    cr_assert(eq(int, w.child.killed_for, MQS_WATCH_OK));
}

Test(watch_sample, a_slot_not_attached_yet_is_not_judged)
{
    watched w;
    watched_init(&w, 2 * SEC, 0, false);
    cr_assert(eq(i64, sample_until_kill(&w, 1 * SEC, 100 * SEC), 0));
    cr_assert(eq(u32, signals_sent, 0));
    cr_assert(eq(i64, w.child.watch.since_ns, 0), "nothing sampled");
}

Test(watch_sample, a_hung_init_is_killed_at_init_timeout_and_a_finished_one_is_left_alone)
{
    watched w;
    watched_init(&w, 0, 10 * SEC, true);
    mqs_process_activity(w.worker, MQS_ACTIVITY_INIT, 0);
    cr_assert(eq(i64, sample_until_kill(&w, 1 * SEC, 60 * SEC), 11 * SEC));
    cr_assert(eq(int, w.child.killed_for, MQS_WATCH_HUNG_INIT));
    cr_assert(eq(int, signal_sent, SIGKILL));

    watched_init(&w, 0, 10 * SEC, true);
    mqs_process_activity(w.worker, MQS_ACTIVITY_CALL, 0);
    cr_assert(eq(i64, mqs_watchdog_sample(&w.s, 1 * SEC), 1500 * MS), "the first sample sees the first call");
    cr_assert(eq(i64, mqs_watchdog_sample(&w.s, 1500 * MS), INT64_MAX), "init is over: nothing to watch");
    cr_assert(eq(u32, signals_sent, 0));
}

/* The block progresses `after` past a sample, then hangs in its call: how
 * long after that progress the sampler kills it. */
static int64_t kill_latency(int64_t watchdog_ns, int64_t after)
{
    watched w;
    watched_init(&w, watchdog_ns, 0, true);
    mqs_process_activity(w.worker, MQS_ACTIVITY_CALL, 0);
    const int64_t t0 = 1 * SEC;
    int64_t next = mqs_watchdog_sample(&w.s, t0);
    cr_assert(t0 + after < next, "the progress falls between two samples");
    mqs_process_activity(w.worker, MQS_ACTIVITY_CALL, 0);
    int64_t killed = sample_until_kill(&w, next, t0 + 100 * watchdog_ns);
    cr_assert(killed > 0, "watchdog %lld ns: never killed", (long long)watchdog_ns);
    watched_fini(&w);
    return killed - (t0 + after);
}

/* docs/running.md: "killed between T and T plus one sample after it stopped
 * making progress, never before" (fault-tolerance.md: plus a quarter of T,
 * at most 500 ms). Watchdogs that are no multiple of their period too. */
Test(watch_sample, a_hung_call_is_killed_between_t_and_t_plus_one_period_after_its_last_progress)
{
    const int64_t watchdog[] = {2 * SEC, 1 * SEC, 20 * MS, 10 * MS, 2100 * MS, 1 * SEC + 3, 7 * MS};
    int late = 0;
    for (int i = 0; i < 7; i++) {
        int64_t period = period_of_call(watchdog[i]);
        const int64_t after[] = {1, period / 2, period - 1};
        for (int a = 0; a < 3; a++) {
            int64_t latency = kill_latency(watchdog[i], after[a]);
            cr_expect(latency >= watchdog[i], "watchdog %lld ns, progress %lld ns after a sample: killed %lld ns "
                      "after it, before the watchdog", (long long)watchdog[i], (long long)after[a], (long long)latency);
            bool in_time = latency <= watchdog[i] + period;
            late += !in_time;
            cr_expect(in_time, "watchdog %lld ns (period %lld ns), progress %lld ns after a sample: killed %lld ns "
                      "after it, more than watchdog + one period", (long long)watchdog[i], (long long)period,
                      (long long)after[a], (long long)latency);
        }
    }
    cr_assert(eq(int, late, 0));
}
