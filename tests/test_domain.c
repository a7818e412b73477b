/* Domains: create, attach, detach, destroy, names and topology, process
 * slots, the start gate, stop requests, stale-run removal, and every error a
 * creator or attacher can meet (bad config, existing run, missing domain,
 * layout version mismatch, truncated or foreign segments, busy slots). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(domain, .fini = mqst_teardown, .timeout = 60);

/* 3 processes, 2 pools, 2 outputs, 3 queues, every name set. */
static void full_topology(mqst_topo *t)
{
    mqst_topo_init(t, "domain", 3);
    t->procs[0] = (mqs_process_config){.name = "launcher"};
    t->procs[1] = (mqs_process_config){.name = "camera"};
    t->procs[2] = (mqs_process_config){.name = "sink"};
    mqst_add_pool(t, 1, 1000, 4);
    mqst_add_pool(t, 2, 64, 2);
    t->pools[0].name = "camera.out";
    t->pools[1].name = "sink.out";
    mqst_add_output(t, 1, 0);
    mqst_add_output(t, 2, 1);
    t->outputs[0].name = "camera.out";
    t->outputs[1].name = "sink.out";
    t->outputs[0].caps = (mqs_caps){.header_type = MQS_HEADER_VIDEO, .format = MQS_FORMAT_GRAY8, .width = 32,
                                    .height = 16, .slot_count = 4, .slot_size = 1000, .rate = 30.0};
    mqst_add_queue(t, 0, 2, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(t, 0, 0, 2, MQS_POLICY_DROP_OLDEST);
    mqst_add_queue(t, 1, 0, 8, MQS_POLICY_DROP_NEWEST);
    t->queues[0].name = "camera.out->sink.in";
    t->queues[1].name = "camera.out->launcher.mon";
    t->queues[2].name = "sink.out->launcher.in";
}

static mqs_domain *simple_domain(uint32_t processes)
{
    mqst_topo t;
    mqst_topo_init(&t, "domain", processes);
    mqst_add_pool(&t, 0, 64, 2);
    return mqst_create(&t);
}

/* ---- create ---- */

Test(domain, create_names_the_domain_and_its_objects)
{
    mqst_topo t;
    full_topology(&t);
    mqs_domain *d = mqst_create(&t);
    cr_expect(eq(str, (char *)mqs_last_error(), ""), "a successful create leaves no error message");

    char expected[200];
    snprintf(expected, sizeof expected, "/mqs.%u.mqstest_domain.%s", (unsigned)getuid(), t.run_id);
    cr_assert(eq(str, (char *)mqs_domain_name(d), expected));
    cr_assert(eq(u32, mqs_domain_process(d), 0), "the creator is process slot 0");

    /* One control object and one payload object per pool, all mode 0600. */
    cr_assert(eq(int, mqst_shm_count(expected), 3));
    char object[240];
    snprintf(object, sizeof object, "%s.ctl", expected);
    cr_assert(eq(int, mqst_shm_mode(object), 0600), "%s", object);
    for (int i = 0; i < 2; i++) {
        snprintf(object, sizeof object, "%s.pool%d", expected, i);
        cr_assert(eq(int, mqst_shm_mode(object), 0600), "%s", object);
    }
}

Test(domain, topology_and_names_read_back_as_configured)
{
    mqst_topo t;
    full_topology(&t);
    mqs_domain *d = mqst_create(&t);

    cr_assert(eq(u32, mqs_domain_process_count(d), 3));
    cr_assert(eq(u32, mqs_domain_pool_count(d), 2));
    cr_assert(eq(u32, mqs_domain_output_count(d), 2));
    cr_assert(eq(u32, mqs_domain_queue_count(d), 3));
    cr_assert(eq(str, (char *)mqs_process_name(d, 1), "camera"));
    cr_assert(eq(str, (char *)mqs_process_name(d, 2), "sink"));
    cr_assert(eq(str, (char *)mqs_pool_name(d, 0), "camera.out"));
    cr_assert(eq(str, (char *)mqs_output_name(d, 1), "sink.out"));
    cr_assert(eq(str, (char *)mqs_queue_name(d, 2), "sink.out->launcher.in"));

    cr_assert(eq(u32, mqs_output_pool(d, 0), 0));
    cr_assert(eq(u32, mqs_output_pool(d, 1), 1));
    cr_assert(eq(u32, mqs_output_owner(d, 0), 1));
    cr_assert(eq(u32, mqs_output_owner(d, 1), 2));
    cr_assert(eq(u32, mqs_queue_output(d, 0), 0));
    cr_assert(eq(u32, mqs_queue_output(d, 2), 1));
    cr_assert(eq(u32, mqs_queue_consumer(d, 0), 2));
    cr_assert(eq(u32, mqs_queue_consumer(d, 1), 0));

    const mqs_caps *caps = mqs_output_caps(d, 0);
    cr_assert(ne(ptr, (void *)caps, NULL));
    cr_assert(eq(u32, caps->header_type, MQS_HEADER_VIDEO));
    cr_assert(eq(u32, caps->format, MQS_FORMAT_GRAY8));
    cr_assert(eq(u32, caps->width, 32));
    cr_assert(eq(u32, caps->height, 16));
    cr_assert(eq(u64, caps->slot_size, 1000));
    cr_assert(eq(dbl, caps->rate, 30.0));
    cr_assert(eq(u32, mqs_output_caps(d, 1)->header_type, MQS_HEADER_NONE));

    /* Depths are rounded up to a power of two, at least 2. */
    cr_assert(eq(u32, mqst_queue_stats(d, 0).depth, 4));
    cr_assert(eq(u32, mqst_queue_stats(d, 1).depth, 2));
    cr_assert(eq(u32, mqst_queue_stats(d, 2).depth, 8));
}

Test(domain, topology_is_the_same_from_an_attached_handle)
{
    mqst_topo t;
    full_topology(&t);
    mqs_domain *d = mqst_create(&t);
    mqs_domain *a = mqst_attach(mqs_domain_name(d), 2);
    cr_assert(eq(u32, mqs_domain_process(a), 2));
    cr_assert(eq(str, (char *)mqs_domain_name(a), (char *)mqs_domain_name(d)));
    cr_assert(eq(u32, mqs_domain_queue_count(a), 3));
    cr_assert(eq(str, (char *)mqs_queue_name(a, 0), "camera.out->sink.in"));
    cr_assert(eq(u32, mqs_queue_consumer(a, 0), 2));
    cr_assert(eq(u32, mqs_output_caps(a, 0)->width, 32));
    cr_assert(eq(str, (char *)mqs_process_name(a, 0), "launcher"));
}

/* The header does not say what out-of-range lookups return; these are the
 * values the "NULL for a bad index" rule of mqs_output_caps suggests. */
Test(domain, lookups_out_of_range)
{
    mqst_topo t;
    full_topology(&t);
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(ptr, (void *)mqs_output_caps(d, 2), NULL));
    cr_assert(eq(ptr, (void *)mqs_output_name(d, 2), NULL));
    cr_assert(eq(ptr, (void *)mqs_queue_name(d, 3), NULL));
    cr_assert(eq(ptr, (void *)mqs_process_name(d, 3), NULL));
    cr_assert(eq(ptr, (void *)mqs_pool_name(d, 2), NULL));
    cr_assert(eq(u32, mqs_output_pool(d, 2), UINT32_MAX));
    cr_assert(eq(u32, mqs_output_owner(d, 2), UINT32_MAX));
    cr_assert(eq(u32, mqs_queue_output(d, 3), UINT32_MAX));
    cr_assert(eq(u32, mqs_queue_consumer(d, 3), UINT32_MAX));
}

Test(domain, unnamed_things_get_distinct_default_names)
{
    mqst_topo t;
    mqst_topo_init(&t, "domain", 2);
    mqst_add_pool(&t, 0, 64, 1);
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 2, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 1, 2, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    const char *p0 = mqs_process_name(d, 0), *p1 = mqs_process_name(d, 1);
    const char *q0 = mqs_queue_name(d, 0), *q1 = mqs_queue_name(d, 1);
    cr_assert(ne(ptr, (void *)p0, NULL));
    cr_assert(ne(ptr, (void *)q0, NULL));
    cr_assert(ne(str, (char *)p0, ""));
    cr_assert(ne(str, (char *)p0, (char *)p1));
    cr_assert(ne(str, (char *)q0, (char *)q1));
    cr_assert(ne(str, (char *)mqs_pool_name(d, 0), (char *)mqs_pool_name(d, 1)));
    cr_assert(ne(str, (char *)mqs_output_name(d, 0), ""));
}

Test(domain, destroy_removes_every_object)
{
    mqst_topo t;
    full_topology(&t);
    mqs_domain *d = mqst_create(&t);
    char name[200];
    snprintf(name, sizeof name, "%s", mqs_domain_name(d));
    mqs_domain *a = mqst_attach(name, 1);
    cr_assert(eq(int, mqst_shm_count(name), 3));
    mqst_release(d);
    cr_assert(eq(int, mqst_shm_count(name), 0), "objects left after mqs_domain_destroy");
    /* A process still attached keeps working on its mappings until it detaches. */
    cr_assert(eq(u32, mqs_domain_queue_count(a), 3));
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(a, 0, &id), 0));
    cr_assert(eq(int, mqs_buffer_unref(a, id), 0));
    mqst_release(a);
    mqs_domain *gone = NULL;
    cr_assert(eq(int, mqs_domain_attach(name, 1, &gone), -ENOENT));
}

Test(domain, null_run_id_makes_a_unique_one)
{
    mqst_topo t;
    mqst_topo_init(&t, "domain", 1);
    t.cfg.run_id = NULL;
    mqs_domain *a = mqst_create(&t);
    mqs_domain *b = mqst_create(&t);
    char prefix[100];
    snprintf(prefix, sizeof prefix, "/mqs.%u.mqstest_domain.", (unsigned)getuid());
    cr_assert(eq(int, strncmp(mqs_domain_name(a), prefix, strlen(prefix)), 0), "%s", mqs_domain_name(a));
    cr_assert(gt(sz, strlen(mqs_domain_name(a)), strlen(prefix)));
    cr_assert(ne(str, (char *)mqs_domain_name(a), (char *)mqs_domain_name(b)));
}

Test(domain, longest_names_are_accepted)
{
    mqst_topo t;
    mqst_topo_init(&t, "domain", 1);
    /* MQS_NAME_MAX - 1 = 47 bytes of graph, MQS_RUN_ID_MAX - 1 = 23 of run id. */
    snprintf(t.graph, sizeof t.graph, "mqstest_%039d", 7);
    cr_assert(eq(sz, strlen(t.graph), MQS_NAME_MAX - 1));
    char run[MQS_RUN_ID_MAX];
    mqst_make_run_id(run, sizeof run);
    /* Pad the unique run id with 'x' up to the limit. */
    memset(t.run_id, 'x', MQS_RUN_ID_MAX - 1);
    t.run_id[MQS_RUN_ID_MAX - 1] = '\0';
    memcpy(t.run_id, run, strlen(run));
    cr_assert(eq(sz, strlen(t.run_id), MQS_RUN_ID_MAX - 1));
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(int, mqst_shm_count(mqs_domain_name(d)), 1));
}

/* ---- create errors ---- */

typedef void (*config_breaker)(mqst_topo *t);

static void no_graph(mqst_topo *t) { t->cfg.graph = NULL; }
static void empty_graph(mqst_topo *t) { t->graph[0] = '\0'; }
static void slash_in_graph(mqst_topo *t) { strcpy(t->graph, "mqstest/x"); }
static void dot_in_graph(mqst_topo *t) { strcpy(t->graph, "mqstest.x"); }
static void long_graph(mqst_topo *t) { t->cfg.graph = "mqstest_0123456789012345678901234567890123456789"; }
static void dot_in_run_id(mqst_topo *t) { strcat(t->run_id, ".x"); }
static void empty_run_id(mqst_topo *t) { t->run_id[0] = '\0'; }
static void long_run_id(mqst_topo *t) { t->cfg.run_id = "r01234567890123456789012"; }
static void no_processes(mqst_topo *t) { t->cfg.process_count = 0; }
static void zero_slots(mqst_topo *t) { t->pools[0].slot_count = 0; }
static void too_many_slots(mqst_topo *t) { t->pools[0].slot_count = MQS_MAX_SLOTS + 1; }
static void zero_slot_size(mqst_topo *t) { t->pools[0].slot_size = 0; }
static void pool_owner_missing(mqst_topo *t) { t->pools[0].owner = 2; }
static void pools_null(mqst_topo *t) { t->cfg.pools = NULL; }
static void output_owner_missing(mqst_topo *t) { t->outputs[0].owner = 2; }
static void output_pool_missing(mqst_topo *t) { t->outputs[0].pool = 1; }
static void outputs_null(mqst_topo *t) { t->cfg.outputs = NULL; }
static void queue_output_missing(mqst_topo *t) { t->queues[0].output = 1; }
static void queue_consumer_missing(mqst_topo *t) { t->queues[0].consumer = 2; }
static void queue_depth_zero(mqst_topo *t) { t->queues[0].depth = 0; }
static void queue_policy_unknown(mqst_topo *t) { t->queues[0].policy = (mqs_queue_policy)7; }
static void queues_null(mqst_topo *t) { t->cfg.queues = NULL; }
static void wait_mode_unknown(mqst_topo *t) { t->cfg.wait_mode = (mqs_wait_mode)9; }

static const struct {
    const char *what;
    config_breaker brk;
} bad_configs[] = {
    {"graph NULL", no_graph},
    {"graph empty", empty_graph},
    {"graph with /", slash_in_graph},
    {"graph with .", dot_in_graph},
    {"graph of 48 bytes", long_graph},
    {"run id with .", dot_in_run_id},
    {"run id empty", empty_run_id},
    {"run id of 24 bytes", long_run_id},
    {"process_count 0", no_processes},
    {"pool slot_count 0", zero_slots},
    {"pool slot_count above MQS_MAX_SLOTS", too_many_slots},
    {"pool slot_size 0", zero_slot_size},
    {"pool owner not a process", pool_owner_missing},
    {"pools NULL with pool_count 1", pools_null},
    {"output owner not a process", output_owner_missing},
    {"output pool missing", output_pool_missing},
    {"outputs NULL with output_count 1", outputs_null},
    {"queue output missing", queue_output_missing},
    {"queue consumer not a process", queue_consumer_missing},
    {"queue depth 0", queue_depth_zero},
    {"queue policy unknown", queue_policy_unknown},
    {"queues NULL with queue_count 1", queues_null},
    {"wait mode unknown", wait_mode_unknown},
};

/* A valid 2-process config: pool 0 and output 0 owned by 1, one queue to 0. */
static void valid_small(mqst_topo *t)
{
    mqst_topo_init(t, "domain", 2);
    mqst_add_pool(t, 1, 64, 2);
    mqst_add_output(t, 1, 0);
    mqst_add_queue(t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_config(t);
}

Test(domain, create_rejects_every_bad_config)
{
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        mqst_topo t;
        valid_small(&t);
        char run[MQS_RUN_ID_MAX];
        snprintf(run, sizeof run, "%s", t.run_id);
        bad_configs[i].brk(&t);
        mqs_domain *d = NULL;
        int rc = mqs_domain_create(&t.cfg, &d);
        if (rc == 0)
            mqst_track_domain(d);
        cr_assert(eq(int, rc, -EINVAL), "%s: got %s", bad_configs[i].what, mqs_strerror(rc));
        cr_assert(ne(str, (char *)mqs_last_error(), ""), "%s: no error message", bad_configs[i].what);
        cr_assert(eq(int, mqst_shm_count_containing(run), 0), "%s: objects left behind", bad_configs[i].what);
    }
    /* The unbroken config works: the breakers above were the only fault. */
    mqst_topo t;
    valid_small(&t);
    mqst_create(&t);
}

Test(domain, create_rejects_null_arguments)
{
    mqs_domain *d = NULL;
    cr_assert(eq(int, mqs_domain_create(NULL, &d), -EINVAL));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    mqst_topo t;
    valid_small(&t);
    cr_assert(eq(int, mqs_domain_create(&t.cfg, NULL), -EINVAL));
    cr_assert(eq(int, mqst_shm_count_containing(t.run_id), 0));
}

Test(domain, create_twice_fails_with_eexist_and_keeps_the_first)
{
    mqst_topo t;
    valid_small(&t);
    mqs_domain *d = mqst_create(&t);
    mqs_domain *again = NULL;
    int rc = mqs_domain_create(&t.cfg, &again);
    if (rc == 0)
        mqst_track_domain(again);
    cr_assert(eq(int, rc, -EEXIST), "got %s", mqs_strerror(rc));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    /* The first run is untouched: all its objects are there and attachable. */
    cr_assert(eq(int, mqst_shm_count(mqs_domain_name(d)), 2));
    mqs_domain *a = mqst_attach(mqs_domain_name(d), 1);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(a, 0, &id), 0));
    cr_assert(eq(int, mqs_output_send(a, 0, id, 0), 1));
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), 0));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
}

Test(domain, create_failing_half_way_leaves_nothing)
{
    /* A payload object that already exists makes the create fail after the
     * control object and the first payload were made: both must go again. */
    mqst_topo t;
    mqst_topo_init(&t, "domain", 1);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_pool(&t, 0, 64, 2);
    char prefix[200], blocker[240];
    snprintf(prefix, sizeof prefix, "/mqs.%u.%s.%s", (unsigned)getuid(), t.graph, t.run_id);
    snprintf(blocker, sizeof blocker, "%s.pool1", prefix);
    mqst_track_prefix(prefix);
    int fd = shm_open(blocker, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert(ge(int, fd, 0), "shm_open %s: %s", blocker, strerror(errno));
    close(fd);

    mqs_domain *d = NULL;
    int rc = mqs_domain_create(mqst_config(&t), &d);
    if (rc == 0)
        mqst_track_domain(d);
    cr_assert(eq(int, rc, -EEXIST), "got %s", mqs_strerror(rc));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    char object[260];
    snprintf(object, sizeof object, "%s.ctl", prefix);
    cr_assert(eq(int, mqst_shm_mode(object), -ENOENT), "control object left behind");
    snprintf(object, sizeof object, "%s.pool0", prefix);
    cr_assert(eq(int, mqst_shm_mode(object), -ENOENT), "payload object left behind");
}

/* ---- attach ---- */

Test(domain, attach_and_detach_track_the_process_slot)
{
    mqs_domain *d = simple_domain(3);
    mqs_process_stats s = mqst_process_stats(d, 0);
    cr_assert(eq(int, s.state, MQS_PROCESS_ATTACHED));
    cr_assert(eq(u32, s.pid, (uint32_t)getpid()));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_FREE));
    cr_assert(eq(u32, mqst_process_stats(d, 1).pid, 0));

    mqs_domain *a = mqst_attach(mqs_domain_name(d), 1);
    cr_expect(eq(str, (char *)mqs_last_error(), ""), "a successful attach leaves no error message");
    s = mqst_process_stats(d, 1);
    cr_assert(eq(int, s.state, MQS_PROCESS_ATTACHED));
    cr_assert(eq(u32, s.pid, (uint32_t)getpid()));
    cr_assert(eq(u32, s.held, 0));

    mqst_release(a);
    s = mqst_process_stats(d, 1);
    cr_assert(eq(int, s.state, MQS_PROCESS_EXITED));
    cr_assert(eq(u32, s.pid, 0));
    /* An exited slot may be attached again. */
    a = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_ATTACHED));
}

Test(domain, attach_to_a_missing_domain_is_enoent)
{
    char name[200], run[MQS_RUN_ID_MAX];
    mqst_make_run_id(run, sizeof run);
    snprintf(name, sizeof name, "/mqs.%u.mqstest_domain.%s", (unsigned)getuid(), run);
    mqs_domain *d = NULL;
    cr_assert(eq(int, mqs_domain_attach(name, 0, &d), -ENOENT));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
}

Test(domain, attach_to_a_missing_slot_is_erange)
{
    mqs_domain *d = simple_domain(3);
    mqs_domain *a = NULL;
    cr_assert(eq(int, mqs_domain_attach(mqs_domain_name(d), 3, &a), -ERANGE));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    cr_assert(eq(int, mqs_domain_attach(mqs_domain_name(d), UINT32_MAX, &a), -ERANGE));
}

Test(domain, attach_to_a_slot_held_by_a_live_process_is_ebusy)
{
    mqs_domain *d = simple_domain(2);
    mqs_domain *a = NULL;
    /* Slot 0 is ours (the creator), and we are alive. */
    cr_assert(eq(int, mqs_domain_attach(mqs_domain_name(d), 0, &a), -EBUSY));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_domain_attach(mqs_domain_name(d), 1, &a), -EBUSY));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_ATTACHED));
}

Test(domain, attach_rejects_null_arguments)
{
    mqs_domain *d = simple_domain(2);
    mqs_domain *a = NULL;
    cr_assert(lt(int, mqs_domain_attach(NULL, 1, &a), 0));
    cr_assert(lt(int, mqs_domain_attach(mqs_domain_name(d), 1, NULL), 0));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_FREE), "a failed attach took the slot");
}

/* Map the control object of domain `d` read-write, the way a tool or an
 * attacker could, to corrupt it on purpose. */
static void *map_control(const mqs_domain *d, size_t *size)
{
    char name[240];
    snprintf(name, sizeof name, "%s.ctl", mqs_domain_name(d));
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(ge(int, fd, 0), "shm_open %s: %s", name, strerror(errno));
    struct stat st;
    cr_assert(eq(int, fstat(fd, &st), 0));
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert(ne(ptr, p, MAP_FAILED));
    *size = (size_t)st.st_size;
    return p;
}

Test(domain, attach_to_another_layout_version_is_eproto)
{
    mqs_domain *d = simple_domain(2);
    size_t size;
    uint8_t *ctl = map_control(d, &size);
    uint32_t version;
    memcpy(&version, ctl + 8, sizeof version); /* mqs_segment_header.layout_version */
    uint32_t other = version + 1;
    memcpy(ctl + 8, &other, sizeof other);

    mqs_domain *a = NULL;
    int rc = mqs_domain_attach(mqs_domain_name(d), 1, &a);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mqs_last_error());
    memcpy(ctl + 8, &version, sizeof version); /* restore before asserting */
    if (rc == 0)
        mqs_domain_detach(a);
    cr_assert(eq(int, rc, -EPROTO), "got %s", mqs_strerror(rc));
    cr_assert(ne(str, msg, ""));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_FREE), "a failed attach took the slot");

    /* With the version restored the same attach works. */
    mqst_attach(mqs_domain_name(d), 1);
    munmap(ctl, size);
}

Test(domain, attach_to_a_segment_with_bad_magic_is_eproto)
{
    mqs_domain *d = simple_domain(2);
    size_t size;
    uint8_t *ctl = map_control(d, &size);
    ctl[0] ^= 0xff; /* mqs_segment_header.magic */
    mqs_domain *a = NULL;
    int rc = mqs_domain_attach(mqs_domain_name(d), 1, &a);
    ctl[0] ^= 0xff;
    if (rc == 0)
        mqs_domain_detach(a);
    munmap(ctl, size);
    cr_assert(eq(int, rc, -EPROTO), "got %s", mqs_strerror(rc));
}

/* Shrink the control object, try to attach, then put size and contents back
 * (truncation zeroes what it cuts, and the creator's own mapping and its
 * teardown still need them). */
static int attach_truncated(mqs_domain *d, off_t new_size, char *msg, size_t msg_size)
{
    char name[240];
    snprintf(name, sizeof name, "%s.ctl", mqs_domain_name(d));
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(ge(int, fd, 0));
    struct stat st;
    cr_assert(eq(int, fstat(fd, &st), 0));
    size_t size = (size_t)st.st_size;
    uint8_t *saved = malloc(size);
    cr_assert(ne(ptr, saved, NULL));
    cr_assert(eq(sz, (size_t)pread(fd, saved, size, 0), size));
    cr_assert(eq(int, ftruncate(fd, new_size), 0));

    mqs_domain *a = NULL;
    int rc = mqs_domain_attach(mqs_domain_name(d), 1, &a);
    snprintf(msg, msg_size, "%s", mqs_last_error());
    if (rc == 0)
        mqs_domain_detach(a);

    bool restored = ftruncate(fd, st.st_size) == 0 && pwrite(fd, saved, size, 0) == (ssize_t)size;
    free(saved);
    close(fd);
    cr_assert(restored, "could not restore %s", name);
    return rc;
}

Test(domain, attach_to_a_truncated_segment_is_ebadmsg)
{
    mqs_domain *d = simple_domain(2);
    char msg[512];
    int rc = attach_truncated(d, 4096, msg, sizeof msg);
    cr_assert(eq(int, rc, -EBADMSG), "cut to one page: got %s", mqs_strerror(rc));
    cr_assert(ne(str, msg, ""));
    rc = attach_truncated(d, 16, msg, sizeof msg);
    cr_assert(eq(int, rc, -EBADMSG), "cut below the header: got %s", mqs_strerror(rc));
    rc = attach_truncated(d, 0, msg, sizeof msg);
    cr_assert(eq(int, rc, -EBADMSG), "cut to nothing: got %s", mqs_strerror(rc));
}

/* Payload segments carry the same header and are checked the same way. */
Test(domain, attach_checks_payload_segments_too)
{
    mqs_domain *d = simple_domain(2);
    char name[240];
    snprintf(name, sizeof name, "%s.pool0", mqs_domain_name(d));
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(ge(int, fd, 0), "shm_open %s: %s", name, strerror(errno));
    uint32_t version, other;
    cr_assert(eq(int, (int)pread(fd, &version, sizeof version, 8), 4));
    other = version + 1;
    cr_assert(eq(int, (int)pwrite(fd, &other, sizeof other, 8), 4));
    mqs_domain *a = NULL;
    int rc_version = mqs_domain_attach(mqs_domain_name(d), 1, &a);
    if (rc_version == 0)
        mqs_domain_detach(a);
    cr_assert(eq(int, (int)pwrite(fd, &version, sizeof version, 8), 4));

    struct stat st;
    cr_assert(eq(int, fstat(fd, &st), 0));
    cr_assert(eq(int, ftruncate(fd, st.st_size + 4096), 0));
    int rc_size = mqs_domain_attach(mqs_domain_name(d), 1, &a);
    if (rc_size == 0)
        mqs_domain_detach(a);
    cr_assert(eq(int, ftruncate(fd, st.st_size), 0));
    close(fd);

    cr_assert(eq(int, rc_version, -EPROTO), "payload of another layout version: %s", mqs_strerror(rc_version));
    cr_assert(eq(int, rc_size, -EBADMSG), "payload of the wrong size: %s", mqs_strerror(rc_size));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_FREE), "a failed attach took the slot");
    mqst_attach(mqs_domain_name(d), 1);
}

/* A reader that finds a run a moment before its creator marked it ready
 * (mqs_segment_header.ready, at byte 40) waits for it, up to a second; then
 * "still being created" is its answer. */
static void set_ready(const char *domain, uint32_t ready)
{
    char name[240];
    snprintf(name, sizeof name, "%s.ctl", domain);
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(ge(int, fd, 0), "shm_open %s: %s", name, strerror(errno));
    cr_assert(eq(int, (int)pwrite(fd, &ready, sizeof ready, 40), 4));
    close(fd);
}

Test(domain, observe_waits_for_a_run_being_created)
{
    mqs_domain *d = simple_domain(2);
    set_ready(mqs_domain_name(d), 0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(150 * 1000);
        set_ready(mqs_domain_name(d), 1);
        _exit(0);
    }
    mqs_domain *o = NULL;
    int rc = mqs_domain_observe(mqs_domain_name(d), &o);
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    cr_assert(eq(int, rc, 0), "observe: %s", mqs_last_error());
    mqs_domain_detach(o);

    set_ready(mqs_domain_name(d), 0);
    rc = mqs_domain_observe(mqs_domain_name(d), &o);
    set_ready(mqs_domain_name(d), 1);
    cr_assert(eq(int, rc, -EAGAIN), "never ready: %s", mqs_strerror(rc));
    cr_assert(strstr(mqs_last_error(), "still being created") != NULL, "%s", mqs_last_error());
}

/* A control object someone else made under a domain's name. */
static int attach_foreign(const void *bytes, size_t size)
{
    char run[MQS_RUN_ID_MAX], prefix[200], name[240];
    mqst_make_run_id(run, sizeof run);
    snprintf(prefix, sizeof prefix, "/mqs.%u.mqstest_domain.%s", (unsigned)getuid(), run);
    snprintf(name, sizeof name, "%s.ctl", prefix);
    mqst_track_prefix(prefix);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert(ge(int, fd, 0), "shm_open %s: %s", name, strerror(errno));
    cr_assert(eq(int, ftruncate(fd, (off_t)size), 0));
    cr_assert(eq(sz, (size_t)pwrite(fd, bytes, size, 0), size));
    close(fd);
    mqs_domain *a = NULL;
    int rc = mqs_domain_attach(prefix, 0, &a);
    if (rc == 0)
        mqs_domain_detach(a);
    shm_unlink(name);
    return rc;
}

Test(domain, attach_to_a_foreign_object_fails_cleanly)
{
    static uint8_t zeros[8192];
    cr_assert(eq(int, attach_foreign(zeros, sizeof zeros), -EPROTO), "a page of zeros is no segment");
    static uint8_t text[4096];
    memset(text, 'x', sizeof text);
    cr_assert(eq(int, attach_foreign(text, sizeof text), -EPROTO));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    cr_assert(eq(int, attach_foreign(text, 8), -EBADMSG), "8 bytes cannot hold a header");
}

/* ---- process stats, heartbeat ---- */

Test(domain, process_stats_errors)
{
    mqs_domain *d = simple_domain(2);
    mqs_process_stats s;
    cr_assert(eq(int, mqs_process_stats_get(d, 2, &s), -ERANGE));
    cr_assert(lt(int, mqs_process_stats_get(d, 0, NULL), 0));
}

Test(domain, heartbeat_moves_forward)
{
    mqs_domain *d = simple_domain(2);
    int64_t first = mqst_process_stats(d, 0).heartbeat_ns;
    cr_assert(le(i64, first, mqs_now_ns()));
    mqs_sleep_ns(2 * MQST_MS);
    int64_t before = mqs_now_ns();
    mqs_domain_heartbeat(d);
    int64_t second = mqst_process_stats(d, 0).heartbeat_ns;
    cr_assert(ge(i64, second, before));
    cr_assert(le(i64, second, mqs_now_ns()));
    /* Visible from another handle: it lives in shared memory. */
    mqs_domain *a = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(i64, mqst_process_stats(a, 0).heartbeat_ns, second));
}

/* ---- start gate and stop ---- */

Test(domain, start_gate_opens_for_every_handle)
{
    mqs_domain *d = simple_domain(2);
    mqs_domain *a = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_domain_wait_started(a, 0), -ETIMEDOUT));
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_domain_wait_started(a, 30 * MQST_MS), -ETIMEDOUT));
    int64_t waited = mqs_now_ns() - t0;
    cr_assert(ge(i64, waited, 30 * MQST_MS), "returned early: %lld ns", (long long)waited);
    cr_assert(lt(i64, waited, 30 * MQST_MS + 2 * MQST_SEC), "returned late: %lld ns", (long long)waited);

    mqs_domain_start(d);
    cr_assert(eq(int, mqs_domain_wait_started(a, 0), 0));
    cr_assert(eq(int, mqs_domain_wait_started(a, MQS_FOREVER), 0));
    cr_assert(eq(int, mqs_domain_wait_started(d, 0), 0));
}

Test(domain, stop_request_is_seen_everywhere_and_cancels_the_start_wait)
{
    mqs_domain *d = simple_domain(2);
    mqs_domain *a = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_domain_stop_requested(a), 0));
    mqs_domain_request_stop(d);
    cr_assert(ne(int, mqs_domain_stop_requested(a), 0));
    cr_assert(ne(int, mqs_domain_stop_requested(d), 0));
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_domain_wait_started(a, 5 * MQST_SEC), -ECANCELED));
    cr_assert(lt(i64, mqs_now_ns() - t0, 2 * MQST_SEC), "the wait did not notice the stop at once");
}

/* ---- stale runs ---- */

struct stale_args {
    char graph[MQS_NAME_MAX];
    char *name_out; /* shared page */
};

/* Create a domain and die without destroying it, like a crashed launcher. */
static int create_and_abandon(void *arg)
{
    struct stale_args *s = arg;
    mqst_topo t;
    memset(&t, 0, sizeof t);
    snprintf(t.graph, sizeof t.graph, "%s", s->graph);
    mqst_make_run_id(t.run_id, sizeof t.run_id);
    t.cfg = (mqs_domain_config){.graph = t.graph, .run_id = t.run_id, .process_count = 1};
    t.pools[0] = (mqs_pool_config){.slot_size = 64, .slot_count = 1};
    t.cfg.pools = t.pools;
    t.cfg.pool_count = 1;
    mqs_domain *d = NULL;
    int rc = mqs_domain_create(&t.cfg, &d);
    MQST_REQUIRE(rc == 0, 10);
    snprintf(s->name_out, 200, "%s", mqs_domain_name(d));
    return 0; /* no destroy, no detach: _exit leaves everything behind */
}

Test(domain, remove_stale_removes_only_runs_whose_creator_is_gone)
{
    struct stale_args s;
    snprintf(s.graph, sizeof s.graph, "mqstest_stale_%d", (int)getpid());
    s.name_out = mqst_shared(4096);
    char live_prefix[200];
    snprintf(live_prefix, sizeof live_prefix, "/mqs.%u.%s", (unsigned)getuid(), s.graph);
    mqst_track_prefix(live_prefix); /* any run of this graph, should the test fail */

    cr_assert(eq(int, mqst_join(mqst_spawn(create_and_abandon, &s), MQST_PATIENCE), 0));
    cr_assert(eq(int, mqst_shm_count(s.name_out), 2), "the dead run's objects should exist now");

    /* A live run of the same graph must survive. */
    mqst_topo t;
    mqst_topo_init(&t, "domain", 1);
    snprintf(t.graph, sizeof t.graph, "%s", s.graph);
    mqst_add_pool(&t, 0, 64, 1);
    mqs_domain *live = mqst_create(&t);

    cr_assert(eq(int, mqs_domain_remove_stale("mqstest_no_such_graph"), 0));
    cr_assert(eq(int, mqs_domain_remove_stale(s.graph), 1));
    cr_assert(eq(int, mqst_shm_count(s.name_out), 0), "the dead run's objects are still there");
    cr_assert(eq(int, mqst_shm_count(mqs_domain_name(live)), 2), "the live run lost objects");
    cr_assert(eq(int, mqs_domain_remove_stale(s.graph), 0));
}
