/* Taps on a running graph, with real processes: mqrun runs a source into a
 * checksum sink while taps attach to the source's output and leave. The
 * sink must get every frame intact however the taps come and go, a tap
 * must see the frames as sent, a tap killed with SIGKILL must get its
 * references back by the launcher, and a `block` tap that reads nothing
 * holds the graph until it leaves. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define GRAPH "mqstest_tap"
#define W 64
#define H 48

TestSuite(tap, .init = make_workdir, .fini = remove_workdir, .timeout = 180);

static const char *graph_file(int frames, int fps)
{
    static char path[512];
    snprintf(path, sizeof path, "%s", tmp_path("tap.yaml"));
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f,
            "name: " GRAPH "\n"
            "blocks:\n"
            "  src: { type: pattern_source, params: { width: %d, height: %d, format: gray8, fps: %d, count: %d,"
            " verify: true } }\n"
            "  check: { type: checksum_sink, inputs: { in: src.out }, params: { report: %s } }\n",
            W, H, fps, frames, tmp_path("report.json"));
    fclose(f);
    return path;
}

static pid_t start(int frames, int fps)
{
    const char *args[] = {"-q", graph_file(frames, fps), NULL};
    pid_t pid = start_mqrun(args, MQS_TEST_MQRUN_PATH);
    wait_until_running(GRAPH, 2);
    return pid;
}

static const char *domain_name(void)
{
    static mqs_run_info run;
    cr_assert_eq(mqs_runs_list(GRAPH, &run, 1), 1, "one run of " GRAPH);
    return run.domain;
}

static void expect_clean_end(pid_t pid, long long frames)
{
    run_result r;
    finish_mqrun(pid, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    json_t *rep = report_of(tmp_path("report.json"), "check");
    cr_expect_eq(field(rep, "frames"), frames);
    cr_expect_eq(field(rep, "gaps"), 0);
    cr_expect_eq(field(rep, "corrupt"), 0);
    json_decref(rep);
    assert_nothing_left(GRAPH);
}

/* Receive `n` frames and check what a tap sees: the output's frames, in order. */
static void receive_frames(mqs_tap *t, int n)
{
    mqs_domain *d = mqs_tap_domain(t);
    uint64_t last_seq = 0;
    for (int i = 0; i < n; i++) {
        mqs_buffer_id id;
        int rc = mqs_tap_receive(t, &id, 5000000000LL);
        cr_assert_eq(rc, 0, "tap receive: %s", mqs_strerror(rc));
        const mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
        cr_assert(m && mqs_buffer_data(d, id));
        cr_expect_eq(m->header_type, MQS_HEADER_VIDEO);
        cr_expect_eq(m->header.video.width, W);
        cr_expect_eq(m->header.video.height, H);
        cr_expect_eq(m->length, W * H);
        cr_expect(i == 0 || m->seq > last_seq, "seq %llu after %llu", (unsigned long long)m->seq,
                  (unsigned long long)last_seq);
        last_seq = m->seq;
        cr_assert_eq(mqs_buffer_unref(d, id), 0);
    }
}

static uint32_t taps_attached(const char *domain)
{
    mqs_domain *d;
    cr_assert_eq(mqs_domain_observe(domain, &d), 0);
    uint32_t n = 0;
    for (uint32_t q = 0; q < mqs_domain_queue_count(d); q++)
        n += mqs_queue_is_tap(d, q) && mqs_queue_attached(d, q);
    mqs_domain_detach(d);
    return n;
}

Test(tap, attached_and_detached_100_times_loses_nothing)
{
    pid_t pid = start(3000, 500);
    const char *domain = domain_name();
    mqs_tap_config c = mqs_tap_config_default();
    c.name = "test";
    for (int i = 0; i < 100; i++) {
        mqs_tap *t;
        int rc = mqs_tap_open(domain, "src.out", &c, &t);
        cr_assert_eq(rc, 0, "open %d: %s", i, mqs_last_error());
        receive_frames(t, 2);
        mqs_tap_close(t);
    }
    cr_expect_eq(taps_attached(domain), 0);
    expect_clean_end(pid, 3000);
}

Test(tap, errors_name_the_fix)
{
    pid_t pid = start(2000, 500);
    const char *domain = domain_name();
    mqs_tap *t[MQS_DEFAULT_TAPS + 1];
    cr_expect_eq(mqs_tap_open(domain, "nosuch.out", NULL, &t[0]), -ENOENT);
    cr_expect(strstr(mqs_last_error(), "src.out"), "lists the outputs: %s", mqs_last_error());
    mqs_tap_config bad = mqs_tap_config_default();
    bad.depth = MQS_TAP_DEPTH_MAX + 1;
    cr_expect_eq(mqs_tap_open(domain, "src.out", &bad, &t[0]), -EINVAL);
    for (uint32_t i = 0; i < MQS_DEFAULT_TAPS; i++)
        cr_assert_eq(mqs_tap_open(domain, "src.out", NULL, &t[i]), 0, "tap %u: %s", i, mqs_last_error());
    cr_expect_eq(mqs_tap_open(domain, "src.out", NULL, &t[MQS_DEFAULT_TAPS]), -EBUSY);
    cr_expect(strstr(mqs_last_error(), "tap slots"), "%s", mqs_last_error());
    cr_expect_eq(taps_attached(domain), MQS_DEFAULT_TAPS);
    for (uint32_t i = 0; i < MQS_DEFAULT_TAPS; i++) /* slow taps: the graph keeps its pace */
        mqs_tap_close(t[i]);
    expect_clean_end(pid, 2000);
}

/* A child opens a tap, holds three frames and signals; we kill it. */
static pid_t holding_child(const char *domain, int ready_fd)
{
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        mqs_tap *t;
        if (mqs_tap_open(domain, "src.out", NULL, &t) != 0)
            _exit(1);
        mqs_buffer_id id;
        for (int i = 0; i < 3; i++)
            if (mqs_tap_receive(t, &id, 5000000000LL) != 0)
                _exit(2);
        if (write(ready_fd, "r", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    return child;
}

static uint32_t tap_slots_taken(const char *domain)
{
    mqs_domain *d;
    cr_assert_eq(mqs_domain_observe(domain, &d), 0);
    uint32_t n = 0;
    for (uint32_t p = 0; p < mqs_domain_process_count(d); p++) {
        mqs_process_stats s;
        if (mqs_process_is_tap(d, p) && mqs_process_stats_get(d, p, &s) == 0)
            n += s.state == MQS_PROCESS_ATTACHED;
    }
    mqs_domain_detach(d);
    return n;
}

Test(tap, killed_tap_is_reclaimed_and_the_graph_runs_on)
{
    pid_t pid = start(2500, 500);
    const char *domain = domain_name();
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t child = holding_child(domain, ready[1]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "the tap child got its frames");
    cr_expect_eq(tap_slots_taken(domain), 1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    int waited = 0;
    while (tap_slots_taken(domain) != 0 && waited++ < 200)
        usleep(10000);
    cr_expect_eq(tap_slots_taken(domain), 0, "the launcher freed the dead tap's slot");
    cr_expect_eq(taps_attached(domain), 0);
    /* The slot can be taken again at once. */
    mqs_tap *t;
    cr_assert_eq(mqs_tap_open(domain, "src.out", NULL, &t), 0, "%s", mqs_last_error());
    receive_frames(t, 3);
    mqs_tap_close(t);
    expect_clean_end(pid, 2500);
}

Test(tap, block_tap_holds_the_graph_until_it_leaves)
{
    pid_t pid = start(400, 200);
    const char *domain = domain_name();
    mqs_tap_config c = mqs_tap_config_default();
    c.policy = MQS_POLICY_BLOCK;
    c.depth = 2;
    mqs_tap *t;
    cr_assert_eq(mqs_tap_open(domain, "src.out", &c, &t), 0, "%s", mqs_last_error());
    usleep(300000);
    cr_expect_eq(mqs_tap_length(t), 2, "full, and the source waits for it");
    mqs_queue_stats qs;
    cr_assert_eq(mqs_queue_stats_get(mqs_tap_domain(t), mqs_tap_queue(t), &qs), 0);
    cr_expect_eq(qs.dropped, 0, "a block tap drops nothing");
    cr_expect(waitpid(pid, NULL, WNOHANG) == 0, "the graph is held, not ended");
    receive_frames(t, 2);
    mqs_tap_close(t);
    expect_clean_end(pid, 400);
}
