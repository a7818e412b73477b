/* Observers and what they read: a handle that takes no slot and is refused
 * every change; each process's waits, reports and exit in the domain; the
 * pools' high water; and commands posted to a process (mqctl set), with a
 * real process answering them. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

TestSuite(observe, .fini = mqst_teardown, .timeout = 60);

enum { LAUNCHER = 0, PRODUCER = 1, CONSUMER = 2 };

/* Slot 1 allocates from pool 0 and sends on output 0 to slot 2 (queue 0, depth 4). */
static mqs_domain *make_pipe(mqst_topo *t)
{
    mqst_topo_init(t, "observe", 3);
    mqst_add_pool(t, PRODUCER, 64, 4);
    mqst_add_output(t, PRODUCER, 0);
    mqst_add_queue(t, 0, CONSUMER, 4, MQS_POLICY_BLOCK);
    return mqst_create(t);
}

static mqs_domain *observe(const mqs_domain *d)
{
    mqs_domain *o = NULL;
    int rc = mqs_domain_observe(mqs_domain_name(d), &o);
    cr_assert(eq(int, rc, 0), "observe: %s", mqs_last_error());
    mqst_track_domain(o); /* "destroyed" at teardown: for an observer, let go */
    return o;
}

Test(observe, an_observer_reads_everything_and_changes_nothing)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqs_domain *producer = mqst_attach(mqs_domain_name(d), PRODUCER);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(producer, 0, &id), 0));
    mqs_domain *o = observe(d);
    cr_expect(eq(u32, mqs_domain_process(o), MQS_OBSERVER));
    cr_expect(eq(u32, mqs_domain_process_count(o), 3));
    cr_expect(eq(str, (char *)mqs_queue_name(o, 0), (char *)mqs_queue_name(d, 0)));
    cr_expect(eq(u32, mqst_pool_stats(o, 0).in_use, 1));
    cr_expect(eq(u32, mqst_process_stats(o, PRODUCER).state, MQS_PROCESS_ATTACHED));

    mqs_buffer_id other;
    cr_expect(eq(int, mqs_buffer_alloc(o, 0, &other), -EPERM));
    cr_expect(eq(int, mqs_buffer_ref(o, id), -EPERM));
    cr_expect(eq(int, mqs_buffer_unref(o, id), -EPERM));
    cr_expect(eq(int, mqs_output_send(o, 0, id, 0), -EPERM));
    cr_expect(eq(int, mqs_queue_receive(o, 0, &other, 0), -EPERM));
    cr_expect(eq(int, mqs_queue_push(o, 0, 7, 0), -EPERM));
    uint32_t q = 0;
    cr_expect(eq(int, mqs_wait_any(o, &q, 1, 0), -EPERM));
    cr_expect(eq(int, mqs_output_close(o, 0), -EPERM));
    cr_expect(eq(int, mqs_reclaim(o, PRODUCER), -EPERM));
    cr_expect(eq(int, mqs_process_disconnect(o, CONSUMER), -EPERM));
    cr_expect(eq(int, mqs_domain_wait_started(o, 0), -EPERM));
    cr_expect(eq(int, mqs_process_report(o, "frames", 1), -EINVAL));
    cr_expect(eq(ptr, mqs_buffer_data(o, id), NULL));
    cr_expect(eq(ptr, mqs_buffer_meta_of(o, id), NULL));
    cr_expect(eq(u32, mqs_held_count(o), 0));
    mqs_domain_request_stop(o);
    mqs_domain_start(o);
    mqs_domain_heartbeat(o);
    mqs_process_activity(o, MQS_ACTIVITY_CALL, 0);
    cr_expect(eq(int, mqs_domain_stop_requested(d), 0), "an observer cannot stop a graph");
    cr_expect(eq(i64, mqs_domain_start_time(d), 0), "nor open its start gate");
    cr_expect(eq(u32, mqst_pool_stats(d, 0).in_use, 1), "the producer's buffer is untouched");
    cr_expect(eq(u32, mqst_pool_stats(d, 0).rejected_ids, 0));
    mqst_release(o); /* destroys it: for an observer, that only lets go */
    cr_expect(eq(int, mqst_shm_count(mqs_domain_name(d)), 2), "the control and pool objects are still there");
    cr_expect(eq(int, mqs_buffer_unref(producer, id), 0));
}

Test(observe, attach_refuses_the_observer_slot)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqs_domain *o = NULL;
    cr_expect(eq(int, mqs_domain_attach(mqs_domain_name(d), MQS_OBSERVER, &o), -ERANGE));
    cr_expect(eq(int, mqs_domain_observe("/mqs.0.nosuchgraph.x", &o), -ENOENT));
}

Test(observe, waits_for_input_are_counted_and_starvation_shows)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqs_domain *producer = mqst_attach(mqs_domain_name(d), PRODUCER);
    mqs_domain *consumer = mqst_attach(mqs_domain_name(d), CONSUMER);
    mqs_domain *o = observe(d);
    mqs_process_counters_info c;
    cr_assert(eq(int, mqs_process_counters_get(o, CONSUMER, &c), 0));
    cr_expect(eq(u64, c.waited_ns[MQS_WAIT_FOR_INPUT], 0));
    cr_expect(gt(i64, c.attached_ns, 0));

    mqs_buffer_id id;
    int64_t began = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_receive(consumer, 0, &id, 50 * MQST_MS), -ETIMEDOUT));
    int64_t took = mqs_now_ns() - began;
    mqs_process_counters_get(o, CONSUMER, &c);
    cr_expect(ge(u64, c.waited_ns[MQS_WAIT_FOR_INPUT], 50 * MQST_MS));
    cr_expect(le(u64, c.waited_ns[MQS_WAIT_FOR_INPUT], (uint64_t)took));
    cr_expect(eq(u64, c.waited_ns[MQS_WAIT_FOR_OUTPUT] + c.waited_ns[MQS_WAIT_FOR_SLOT], 0));
    cr_expect(eq(i64, c.wait_began_ns, 0), "the wait is over");
    cr_expect(ge(i64, c.input_wait_since_ns, began), "still starved: nothing came");

    cr_assert(eq(int, mqs_buffer_alloc(producer, 0, &id), 0));
    cr_assert(eq(int, mqs_output_send(producer, 0, id, 0), 1));
    mqs_buffer_id got;
    cr_assert(eq(int, mqs_queue_receive(consumer, 0, &got, 0), 0));
    mqs_process_counters_get(o, CONSUMER, &c);
    cr_expect(eq(i64, c.input_wait_since_ns, 0), "fed again");
    cr_expect(eq(int, mqs_buffer_unref(consumer, got), 0));
}

Test(observe, reports_live_in_the_domain_and_survive_a_restart)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqs_domain *p = mqst_attach(mqs_domain_name(d), PRODUCER);
    cr_assert(eq(int, mqs_process_report(p, "frames", 10), 0));
    cr_assert(eq(int, mqs_process_report(p, "gaps", 1), 0));
    cr_assert(eq(int, mqs_process_report(p, "frames", 12.5), 0));
    cr_expect(eq(int, mqs_process_report(p, "", 1), -EINVAL));
    cr_expect(eq(int, mqs_process_report(p, "a_key_far_too_long_for_a_report_of_forty_bytes", 1), -EINVAL));
    mqs_domain *o = observe(d);
    mqs_process_counters_info c;
    mqs_process_counters_get(o, PRODUCER, &c);
    cr_assert(eq(u32, c.report_count, 2));
    cr_expect(eq(str, c.reports[0].key, "frames"));
    cr_expect(eq(dbl, c.reports[0].value, 12.5));
    cr_expect(eq(str, c.reports[1].key, "gaps"));
    cr_expect(eq(dbl, c.reports[1].value, 1));

    mqst_release(p); /* the block restarts: the keys stay, the values go on */
    p = mqst_attach(mqs_domain_name(d), PRODUCER);
    cr_assert(eq(int, mqs_process_report(p, "frames", 13), 0));
    for (int i = 2; i < MQS_REPORTS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        cr_assert(eq(int, mqs_process_report(p, key, i), 0));
    }
    cr_expect(eq(int, mqs_process_report(p, "one_too_many", 1), -ENOSPC));
    mqs_process_counters_get(o, PRODUCER, &c);
    cr_expect(eq(u32, c.report_count, MQS_REPORTS_MAX));
    cr_expect(eq(dbl, c.reports[0].value, 13));
    cr_expect(eq(str, c.reports[MQS_REPORTS_MAX - 1].key, "k15"));
}

Test(observe, exits_and_pool_high_water)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqs_domain *p = mqst_attach(mqs_domain_name(d), PRODUCER);
    mqs_domain *o = observe(d);
    mqs_process_counters_info c;
    mqs_process_counters_get(o, CONSUMER, &c);
    cr_expect(eq(u32, c.exits, 0));
    cr_expect(eq(i32, c.exit_code, -1));
    mqs_process_set_exit(d, CONSUMER, 3, 0);
    mqs_process_set_exit(d, CONSUMER, -1, 9);
    mqs_process_set_exit(p, CONSUMER, 0, 0); /* only the launcher records exits */
    mqs_process_counters_get(o, CONSUMER, &c);
    cr_expect(eq(u32, c.exits, 2));
    cr_expect(eq(i32, c.exit_code, -1));
    cr_expect(eq(i32, c.exit_signal, 9));

    mqs_buffer_id ids[3];
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, mqs_buffer_alloc(p, 0, &ids[i]), 0));
    mqs_pools_sample(d);
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, mqs_buffer_unref(p, ids[i]), 0));
    mqs_pool_stats s = mqst_pool_stats(o, 0);
    cr_expect(eq(u32, s.in_use, 0));
    cr_expect(eq(u32, s.high_water, 3));
}

/* ---- commands ---- */

/* A process answering `count` commands as a worker would: "good" is taken,
 * anything else refused. */
static int answer_commands(void *arg)
{
    const char *name = arg;
    mqs_domain *d = mqst_child_attach(name, CONSUMER);
    MQST_REQUIRE(d, 10);
    for (int answered = 0; answered < 2;) {
        mqs_command cmd;
        if (!mqs_command_take(d, &cmd)) {
            mqs_sleep_ns(MQST_MS);
            continue;
        }
        MQST_REQUIRE(cmd.kind == MQS_COMMAND_SET_PARAM, 11);
        char reply[256];
        snprintf(reply, sizeof reply, "got %.60s=%.60s", cmd.key, cmd.value);
        mqs_command_finish(d, strcmp(cmd.value, "good") == 0 ? 0 : -EINVAL, reply);
        answered++;
    }
    mqs_domain_detach(d);
    return 0;
}

Test(observe, a_command_is_answered_by_its_process)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    static char name[200];
    snprintf(name, sizeof name, "%s", mqs_domain_name(d));
    mqs_domain *o = observe(d);
    char reply[MQS_COMMAND_REPLY_MAX];
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "k", "good", MQST_SEC, reply, sizeof reply), -ESRCH),
              "nobody in the slot");
    pid_t child = mqst_spawn(answer_commands, name);
    while (mqst_process_stats(d, CONSUMER).state != MQS_PROCESS_ATTACHED)
        mqs_sleep_ns(MQST_MS);
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "pattern", "good", MQST_PATIENCE, reply, sizeof reply), 0));
    cr_expect(eq(str, reply, "got pattern=good"));
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "pattern", "bad", MQST_PATIENCE, reply, sizeof reply),
                 -EINVAL));
    cr_expect(eq(str, reply, "got pattern=bad"));
    cr_expect(eq(int, mqst_join(child, MQST_PATIENCE), 0));
}

Test(observe, a_command_nobody_takes_is_withdrawn)
{
    mqst_topo t;
    mqs_domain *d = make_pipe(&t);
    mqst_attach(mqs_domain_name(d), CONSUMER); /* attached, but never looks at its commands */
    mqs_domain *o = observe(d);
    char reply[64], long_value[MQS_COMMAND_VALUE_MAX + 1];
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "k", "v", 30 * MQST_MS, reply, sizeof reply), -ETIMEDOUT));
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "k", "v", 30 * MQST_MS, reply, sizeof reply), -ETIMEDOUT),
              "the slot was free again: not -EBUSY");
    memset(long_value, 'x', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    cr_expect(eq(int, mqs_command_set_param(o, CONSUMER, "k", long_value, MQST_SEC, reply, sizeof reply),
                 -ENAMETOOLONG));
    cr_expect(eq(int, mqs_command_set_param(o, 9, "k", "v", MQST_SEC, reply, sizeof reply), -ERANGE));
}
