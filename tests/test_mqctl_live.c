/* mqctl on a running graph, end to end: `status --json` names every block,
 * connection and pool with counts that grow; `set` changes a live param and
 * the frames show it, while a param that is not live, a bad value or an
 * unknown block is refused and changes nothing; `stop` ends the run as
 * Ctrl-C would. And a reader taking snapshots in a tight loop next to a
 * full-speed pipeline sees counters that only grow, and the pipeline loses
 * and corrupts nothing. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"
#include "observe/snapshot.h"

#define GRAPH "mqstest_live"
#define W 64
#define H 48
#define FRAME (W * H)

TestSuite(mqctl_live, .init = make_workdir, .fini = remove_workdir, .timeout = 180);

static void mqctl(const char *const *args, run_result *r)
{
    run_mqrun_env(args, 0, r, MQS_TEST_MQCTL);
}

static const char *write_graph(const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s", tmp_path("live.yaml"));
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* `mqctl status GRAPH --json` once the graph runs with every block. */
static json_t *status(void)
{
    const char *args[] = {"status", GRAPH, "--json", "--interval", "200ms", NULL};
    run_result r;
    for (int i = 0; i < 200; i++, usleep(20000)) {
        mqctl(args, &r);
        if (r.status == 0)
            break;
    }
    cr_assert_eq(r.status, 0, "mqctl status: %d\n%s", r.status, r.err);
    json_t *o = json_loads(r.out, 0, NULL);
    cr_assert(json_is_object(o), "not JSON: %s", r.out);
    return o;
}

static json_t *named(json_t *array, const char *key, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(array, i, e) if (strcmp(json_string_value(json_object_get(e, key)), value) == 0) return e;
    cr_assert_fail("no %s '%s' in %s", key, value, json_dumps(array, 0));
    return NULL;
}

static long long report(json_t *block, const char *key)
{
    json_t *v = json_object_get(json_object_get(block, "reports"), key);
    return v ? (long long)json_number_value(v) : -1;
}

Test(mqctl_live, status_shows_every_part_with_counts_that_grow)
{
    const char *path = write_graph("name: " GRAPH "\nblocks:\n"
                                   "  cam: { type: pattern_source, params: { width: 64, height: 48, fps: 200 } }\n"
                                   "  copy: { type: passthrough, inputs: { in: cam.out } }\n"
                                   "  sink: { type: null_sink, inputs: { in: { from: copy.out, depth: 4 } } }\n");
    const char *args[] = {path, NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    json_t *first = status(), *second = status();
    const char *blocks[] = {"cam", "copy", "sink"};
    for (int i = 0; i < 3; i++) {
        json_t *a = named(json_object_get(first, "blocks"), "name", blocks[i]);
        json_t *b = named(json_object_get(second, "blocks"), "name", blocks[i]);
        cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "running");
        cr_expect_gt(field(b, "calls"), field(a, "calls"), "%s made calls between two reads", blocks[i]);
        cr_expect(json_is_real(json_object_get(b, "busy_percent")), "%s: %s", blocks[i], json_dumps(b, 0));
        cr_expect_gt(field(b, "rss_bytes"), 0);
    }
    cr_expect_gt(report(named(json_object_get(second, "blocks"), "name", "cam"), "frames"),
                 report(named(json_object_get(first, "blocks"), "name", "cam"), "frames"));
    cr_expect_eq(json_array_size(json_object_get(second, "connections")), 2);
    const char *into[] = {"copy.in", "sink.in"};
    for (int i = 0; i < 2; i++) {
        json_t *a = named(json_object_get(first, "connections"), "to", into[i]);
        json_t *b = named(json_object_get(second, "connections"), "to", into[i]);
        cr_expect_gt(field(b, "popped"), field(a, "popped"), "%s", into[i]);
        cr_expect_str_eq(json_string_value(json_object_get(b, "policy")), "block");
        cr_expect_gt(json_real_value(json_object_get(b, "rate")), 50);
    }
    cr_expect_eq(field(named(json_object_get(second, "connections"), "to", "sink.in"), "depth"), 4);
    json_t *pa = named(json_object_get(first, "pools"), "name", "cam.out");
    json_t *pb = named(json_object_get(second, "pools"), "name", "cam.out");
    cr_expect_gt(field(pb, "allocs"), field(pa, "allocs"));
    cr_expect_geq(field(pb, "high_water"), 1);
    json_decref(first);
    json_decref(second);

    const char *stop[] = {"stop", GRAPH, NULL};
    run_result r;
    mqctl(stop, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "stopped " GRAPH "/", strlen("stopped " GRAPH "/")) == 0, "%s", r.out);
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 0, "mqrun after mqctl stop: %d\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "interrupted"), "stopped as by Ctrl-C:\n%s", r.err);
    assert_nothing_left(GRAPH);
}

/* Frames of a gray (Cmono) y4m file after its header: how many, and how
 * many differ from the first (bars frames are all alike). */
static void count_frames(const char *path, int *frames, int *changed, int *first_changed)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "no %s", path);
    char header[256];
    cr_assert(fgets(header, sizeof header, f));
    cr_expect(strstr(header, "W64 H48"), "the width did not change: %s", header);
    static unsigned char first[FRAME], frame[FRAME];
    char tag[16];
    *frames = *changed = 0;
    *first_changed = -1;
    while (fgets(tag, sizeof tag, f) && fread(frame, 1, FRAME, f) == FRAME) {
        cr_assert_str_eq(tag, "FRAME\n");
        if (*frames == 0)
            memcpy(first, frame, FRAME);
        bool differs = memcmp(first, frame, FRAME) != 0;
        if (differs && *first_changed < 0)
            *first_changed = *frames;
        *changed += differs;
        (*frames)++;
    }
    fclose(f);
}

static void expect_refused(const char *assignment, const char *message)
{
    const char *args[] = {"set", GRAPH, assignment, NULL};
    run_result r;
    mqctl(args, &r);
    cr_expect_eq(r.status, 1, "set %s: %d", assignment, r.status);
    cr_expect(strstr(r.err, message), "set %s: %s", assignment, r.err);
}

Test(mqctl_live, set_changes_a_live_param_and_refuses_the_rest)
{
    char text[1024];
    snprintf(text, sizeof text,
             "name: " GRAPH "\nblocks:\n"
             "  cam: { type: pattern_source, params: { width: 64, height: 48, format: gray8, fps: 100 } }\n"
             "  rec: { type: y4m_sink, inputs: { in: cam.out }, params: { file: %s, chroma: mono } }\n",
             tmp_path("out.y4m"));
    const char *path = write_graph(text);
    const char *args[] = {"-q", path, NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    json_decref(status()); /* running */
    usleep(300 * 1000);
    expect_refused("cam.width=32", "param 'width' of pattern_source cannot change while the graph runs");
    expect_refused("cam.pattern=boxx", "param 'pattern' = 'boxx' is not one of bars|box|noise");
    expect_refused("cam.fps=5000", "fps");
    expect_refused("cam.colour=red", "unknown param 'colour'");
    expect_refused("camera.pattern=box", "graph has no block 'camera'; its blocks: cam, rec");
    usleep(200 * 1000);

    const char *set[] = {"set", GRAPH, "cam.pattern=box", NULL};
    run_result r;
    mqctl(set, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "cam.pattern = box\n");
    usleep(300 * 1000);
    const char *stop[] = {"stop", GRAPH, NULL};
    mqctl(stop, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    assert_nothing_left(GRAPH);

    int frames, changed, first_changed;
    count_frames(tmp_path("out.y4m"), &frames, &changed, &first_changed);
    cr_expect_gt(first_changed, 30, "bars until the change (~0.5 s at 100 fps): first box frame %d", first_changed);
    cr_expect_gt(changed, 10, "box frames after it: %d of %d", changed, frames);
    cr_expect_eq(changed, frames - first_changed, "every frame after the change shows the box");
}

/* A camera off real time has its frame times on the fps grid: a new fps
 * would move them, so it is refused, and the run goes on. */
Test(mqctl_live, fps_of_a_camera_off_realtime_is_refused)
{
    const char *path = write_graph("name: " GRAPH "\nblocks:\n"
                                   "  cam: { type: pattern_source, params: { width: 64, height: 48, format: gray8, "
                                   "fps: 30, realtime: false } }\n"
                                   "  sink: { type: null_sink, inputs: { in: cam.out } }\n");
    const char *args[] = {"-q", path, NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    json_decref(status()); /* running */
    expect_refused("cam.fps=5", "fps cannot change with realtime: false");
    const char *stop[] = {"stop", GRAPH, NULL};
    run_result r;
    mqctl(stop, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    assert_nothing_left(GRAPH);
}

/* ---- reading in a tight loop ---- */

#define COUNT 20000

static void expect_grows(uint64_t before, uint64_t now, const char *what)
{
    cr_assert_geq(now, before, "%s went back from %llu to %llu", what, (unsigned long long)before,
                  (unsigned long long)now);
}

static void compare(const mqs_stats_snapshot *a, const mqs_stats_snapshot *b)
{
    for (uint32_t q = 0; q < b->queues; q++) {
        expect_grows(a->queue[q].pushed, b->queue[q].pushed, "pushed");
        expect_grows(a->queue[q].popped, b->queue[q].popped, "popped");
        cr_assert_leq(b->queue[q].length, b->queue[q].depth);
        cr_assert_leq(a->queue[q].popped, b->queue[q].pushed);
    }
    for (uint32_t p = 0; p < b->pools; p++) {
        expect_grows(a->pool[p].allocs, b->pool[p].allocs, "allocs");
        cr_assert_leq(b->pool[p].in_use, b->pool[p].slot_count);
    }
    for (uint32_t p = 0; p < b->processes; p++) {
        expect_grows(a->proc[p].calls, b->proc[p].calls, "calls");
        for (int k = 0; k < MQS_WAIT_KINDS; k++)
            expect_grows(a->counters[p].waited_ns[k], b->counters[p].waited_ns[k], "waited");
    }
}

/* Snapshots back to back until the run's control object is gone. */
static int read_in_a_loop(const char *domain)
{
    mqs_domain *d;
    int rc = mqs_domain_observe(domain, &d);
    cr_assert_eq(rc, 0, "%s", mqs_last_error());
    mqs_stats_snapshot *last = mqs_stats_take(d);
    int reads = 0;
    char ctl[256];
    snprintf(ctl, sizeof ctl, "/dev/shm%s.ctl", domain);
    for (struct stat st; stat(ctl, &st) == 0; reads++) {
        mqs_stats_snapshot *now = mqs_stats_take(d);
        cr_assert(now);
        compare(last, now);
        mqs_stats_free(last);
        last = now;
    }
    mqs_stats_free(last);
    mqs_domain_detach(d);
    return reads;
}

Test(mqctl_live, reading_in_a_tight_loop_disturbs_nothing)
{
    char text[1024];
    snprintf(text, sizeof text,
             "name: " GRAPH "\nblocks:\n"
             "  cam: { type: pattern_source, params: { width: 64, height: 48, format: gray8, fps: 0, count: %d, "
             "verify: true } }\n"
             "  copy: { type: passthrough, inputs: { in: cam.out } }\n"
             "  check: { type: checksum_sink, inputs: { in: copy.out }, params: { expect: %d, report: %s } }\n",
             COUNT, COUNT, tmp_path("report.jsonl"));
    const char *path = write_graph(text);
    const char *args[] = {"-q", path, NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    mqs_run_info run;
    int n = 0;
    for (int i = 0; i < 500 && (n = mqs_runs_list(GRAPH, &run, 1)) < 1; i++)
        usleep(5000);
    cr_assert_eq(n, 1, "the run never showed");
    int reads = read_in_a_loop(run.domain);
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_gt(reads, 10, "snapshots taken while it ran: %d", reads);
    json_t *rep = report_of(tmp_path("report.jsonl"), "check");
    cr_expect_eq(field(rep, "frames"), COUNT);
    cr_expect_eq(field(rep, "gaps"), 0);
    cr_expect_eq(field(rep, "corrupt"), 0);
    json_decref(rep);
    assert_nothing_left(GRAPH);
}
