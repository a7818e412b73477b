/* The kill storm (docs/fault-tolerance.md): a graph at full speed, with a
 * fan-out and drop_oldest inputs, has a random one of its non-source blocks
 * SIGKILLed at a random moment, again and again, at least 300 times. The
 * graph must flow the whole time; once it drains, every pool's free count
 * equals its capacity exactly; the two checksum sinks, the witnesses (never
 * killed: a killed sink's counts die with it), saw no corrupt frame and no
 * frame twice or out of order, and their gaps add up to exactly what the
 * chain lost; no stale ID was ever presented. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define MS 1000000LL
#define KILLS 300
#define GRAPH "mqstest_storm"

TestSuite(storm, .init = make_workdir, .fini = remove_workdir, .timeout = 600);

/* Victims: the passthroughs of both branches and a tap, a sink on a
 * drop_oldest input. Restarted at once, without limit. */
static const char *const victims[] = {"pass_a1", "pass_a2", "pass_b", "tap"};
#define VICTIMS (sizeof victims / sizeof victims[0])

static const char *write_graph(void)
{
    const char *path = tmp_path("storm.yaml");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    const char *restart = "    restart: always\n    max_restarts: 0\n    backoff: 1ms\n    max_backoff: 1ms\n";
    fprintf(f,
            "name: " GRAPH "\nblocks:\n"
            "  src:\n    type: pattern_source\n"
            "    params: { width: 64, height: 16, format: gray8, fps: 0, pattern: noise, verify: true }\n"
            "    outputs: { out: { slots: 16 } }\n"
            /* branch a: a chain of two, every queue `block`: nothing may be dropped */
            "  pass_a1:\n    type: passthrough\n%s    inputs: { in: src.out }\n"
            "  pass_a2:\n    type: passthrough\n%s    inputs: { in: pass_a1.out }\n"
            "  check_a:\n    type: checksum_sink\n    inputs: { in: pass_a2.out }\n"
            "    params: { report: %s }\n"
            /* branch b: a drop_oldest input that loses frames to the fan-out's pace */
            "  pass_b:\n    type: passthrough\n%s"
            "    inputs: { in: { from: src.out, depth: 4, policy: drop_oldest } }\n"
            "  check_b:\n    type: checksum_sink\n    inputs: { in: pass_b.out }\n"
            "    params: { report: %s }\n"
            "  tap:\n    type: null_sink\n%s"
            "    inputs: { in: { from: src.out, depth: 4, policy: drop_oldest } }\n",
            restart, restart, tmp_path("report.json"), restart, tmp_path("report.json"), restart);
    fclose(f);
    return path;
}

/* ---- the graph flows: its witnesses keep receiving ---- */

/* popped of the connection into `to` in every stats line, with its time. */
typedef struct flow_sample {
    long long t_ns, popped_a, popped_b;
} flow_sample;

static long long popped_into(json_t *line, const char *to)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(line, "connections"), i, c) if (strcmp(json_string_value(json_object_get(c, "to")), to) == 0) return field(c, "popped");
    cr_assert_fail("no connection into %s", to);
    return 0;
}

static size_t flow_samples(const char *stats, flow_sample *out, size_t cap)
{
    FILE *f = fopen(stats, "r");
    cr_assert(f, "no stats file %s", stats);
    static char line[1 << 16];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert(o, "a stats line is not JSON");
        out[n++] = (flow_sample){field(o, "t_ns"), popped_into(o, "check_a.in"), popped_into(o, "check_b.in")};
        json_decref(o);
    }
    fclose(f);
    return n;
}

/* Between `from` and `to`, every window of `window` ns saw both witnesses receive. */
static void expect_flowing(const flow_sample *s, size_t n, long long from, long long to, long long window)
{
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].t_ns < from || s[i].t_ns + window > to)
            continue;
        size_t j = i;
        while (j + 1 < n && s[j].t_ns < s[i].t_ns + window)
            j++;
        cr_expect_gt(s[j].popped_a, s[i].popped_a, "branch a stalled from %lld ms", (s[i].t_ns - from) / MS);
        cr_expect_gt(s[j].popped_b, s[i].popped_b, "branch b stalled from %lld ms", (s[i].t_ns - from) / MS);
        checked++;
    }
    cr_expect_gt(checked, 10, "only %zu stats lines fell into the storm", checked);
}

/* ---- the storm ---- */

/* The victim's current worker, if it runs and is not the one killed last. */
static pid_t live_worker(const char *victim, pid_t killed_last)
{
    pid_t pid = worker_pid(GRAPH, victim);
    return pid > 0 && pid != killed_last ? pid : -1;
}

/* Wait until every victim runs again (a fresh worker): at most 30 s. */
static void wait_all_back(const pid_t *killed_last)
{
    for (int64_t give_up = mqs_now_ns() + 30000 * MS; mqs_now_ns() < give_up;) {
        size_t up = 0;
        for (size_t v = 0; v < VICTIMS; v++)
            up += live_worker(victims[v], killed_last[v]) > 0;
        if (up == VICTIMS)
            return;
        usleep(2000);
    }
    cr_assert_fail("the victims did not all come back within 30 s");
}

/* Kill a random live victim every 2 to 30 ms until `KILLS` kills landed. */
static unsigned storm(unsigned seed, int per_victim[VICTIMS])
{
    pid_t killed_last[VICTIMS] = {0};
    unsigned kills = 0;
    while (kills < KILLS) {
        usleep(2000 + (unsigned)rand_r(&seed) % 28000);
        size_t v = (size_t)rand_r(&seed) % VICTIMS;
        pid_t pid = live_worker(victims[v], killed_last[v]);
        if (pid < 0)
            continue; /* still being restarted: another moment, maybe another victim */
        cr_assert_eq(kill(pid, SIGKILL), 0, "kill %d (%s)", (int)pid, victims[v]);
        killed_last[v] = pid;
        per_victim[v]++;
        kills++;
    }
    wait_all_back(killed_last);
    return kills;
}

static void witness(const char *block, long long *frames, long long *missing, long long *corrupt)
{
    json_t *rep = report_of(tmp_path("report.json"), block);
    *frames = field(rep, "frames");
    *missing = field(rep, "missing");
    *corrupt = field(rep, "corrupt");
    json_decref(rep);
}

/* What mqrun said besides the kills, restarts and stats: on stderr, to explain a failure. */
static void say_unexpected(const char *err)
{
    int shown = 0;
    for (const char *p = err; *p && shown < 40;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        bool table = line[0] == ' ' || strncmp(line, "--", 2) == 0; /* --stats */
        if (!table && !strstr(line, ") was killed by signal 9 (Killed)") && !strstr(line, "mqrun: restarting block '")) {
            fprintf(stderr, "mqrun said: %s", line);
            shown++;
        }
        p += len;
    }
}

Test(storm, three_hundred_kills_lose_nothing_but_what_the_killed_held)
{
    unsigned seed = (unsigned)time(NULL);
    cr_log_info("kill storm seed %u", seed);
    char stats[300]; /* tmp_path's buffers rotate */
    snprintf(stats, sizeof stats, "%s", tmp_path("stats.jsonl"));
    const char *args[] = {"-q", "--stats=100ms", "--stats-json", stats, write_graph(), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    pid_t none[VICTIMS] = {0};
    wait_all_back(none);
    usleep(300 * 1000); /* flowing before the first kill */
    int per_victim[VICTIMS] = {0};
    int64_t from = mqs_now_ns();
    unsigned kills = storm(seed, per_victim);
    int64_t to = mqs_now_ns();
    usleep(300 * 1000); /* every victim is back: the graph flows once more */
    kill(mqrun, SIGINT);
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_log_info("%u kills in %lld ms (pass_a1 %d, pass_a2 %d, pass_b %d, tap %d)", kills, (long long)((to - from) / MS),
                per_victim[0], per_victim[1], per_victim[2], per_victim[3]);
    cr_assert_eq(kills, KILLS);
    say_unexpected(r.err);
    /* Stopped by SIGINT after blocks failed: 1, never 4 (gave up) or 3 (killed at the end). */
    cr_expect_eq(r.status, 1, "mqrun status %d:\n%.4000s", r.status, r.err);

    static flow_sample s[4096];
    size_t n = flow_samples(stats, s, 4096);
    expect_flowing(s, n, from, to, 1000 * MS);

    /* Every frame the source made reached each witness intact, or is counted
     * missing there: never twice, never out of order. */
    long long produced = final_field(stats, "pools", "src.out", "allocs"), frames, missing, corrupt;
    witness("check_a", &frames, &missing, &corrupt);
    cr_log_info("check_a: %lld frames, %lld missing, %lld corrupt of %lld made", frames, missing, corrupt, produced);
    cr_expect_eq(corrupt, 0, "check_a: %lld corrupt frames", corrupt);
    cr_expect_gt(frames, 0);
    cr_expect_eq(frames + missing, produced, "check_a: %lld frames + %lld missing, %lld produced", frames, missing,
                 produced);
    witness("check_b", &frames, &missing, &corrupt);
    cr_log_info("check_b: %lld frames, %lld missing, %lld corrupt of %lld made", frames, missing, corrupt, produced);
    cr_expect_eq(corrupt, 0, "check_b: %lld corrupt frames", corrupt);
    cr_expect_gt(frames, 0);
    cr_expect_eq(frames + missing, produced, "check_b: %lld frames + %lld missing, %lld produced", frames, missing,
                 produced);

    /* Drained: every pool's free count is its capacity; no ID was ever refused. */
    json_t *all = final_stats(stats);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(all, "pools"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        cr_expect_eq(field(p, "in_use"), 0, "pool %s: %lld of %lld slots never came back", name, field(p, "in_use"),
                     field(p, "slots"));
        cr_expect_eq(field(p, "rejected_ids"), 0, "pool %s refused %lld IDs", name, field(p, "rejected_ids"));
    }
    long long restarts = 0;
    json_t *b;
    json_array_foreach(json_object_get(all, "blocks"), i, b) restarts += field(b, "restarts");
    cr_expect_eq(restarts, KILLS, "restarts %lld for %d kills", restarts, KILLS);
    json_decref(all);
    assert_nothing_left(GRAPH);
}
