/* mqctl end to end: the real mqctl against runs of the real mqrun. `ls`
 * lists a running graph with its launcher, blocks and uptime, then the same
 * run as dead once mqrun is killed; `clean` removes it; `blocks` lists what
 * `mqrun --list-blocks` lists and describes one type; usage errors say what
 * is wrong and exit 2. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define GRAPH "mqstest_ctl"
#define MS 1000000LL

TestSuite(mqctl, .init = make_workdir, .fini = remove_workdir, .timeout = 120);

static void mqctl(const char *const *args, run_result *r)
{
    run_mqrun_env(args, 0, r, MQS_TEST_MQCTL);
}

/* `mqctl ls GRAPH --json`: the array of its runs. */
static json_t *runs_of_graph(void)
{
    const char *args[] = {"ls", GRAPH, "--json", NULL};
    run_result r;
    mqctl(args, &r);
    cr_assert_eq(r.status, 0, "mqctl ls: status %d\n%s", r.status, r.err);
    json_t *a = json_loads(r.out, 0, NULL);
    cr_assert(json_is_array(a), "not a JSON array: %s", r.out);
    return a;
}

static json_t *the_one_run(void)
{
    json_t *a = runs_of_graph();
    cr_assert_eq(json_array_size(a), 1, "runs of %s: %s", GRAPH, json_dumps(a, 0));
    json_t *run = json_incref(json_array_get(a, 0));
    json_decref(a);
    return run;
}

static const char *string_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert(s, "no string %s", key);
    return s;
}

Test(mqctl, ls_shows_a_run_live_then_dead_and_clean_removes_it)
{
    json_t *none = runs_of_graph();
    cr_assert_eq(json_array_size(none), 0);
    json_decref(none);

    const char *path = tmp_path("ctl.yaml");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: " GRAPH "\nblocks:\n"
               "  cam: { type: pattern_source, params: { width: 64, height: 48, fps: 100 } }\n"
               "  sink: { type: null_sink, inputs: { in: cam.out } }\n");
    fclose(f);
    const char *args[] = {"-q", path, NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    json_t *run = NULL;
    for (int i = 0; i < 500; i++, usleep(10000)) { /* until both blocks run */
        json_t *a = runs_of_graph();
        json_t *r = json_array_get(a, 0);
        if (r && strcmp(string_of(r, "state"), "running") == 0 && field(r, "running") == 2)
            run = json_incref(r);
        json_decref(a);
        if (run)
            break;
    }
    cr_assert(run, "the run never showed as running with both blocks");
    cr_expect_eq(field(run, "launcher_pid"), mqrun);
    cr_expect_eq(field(run, "blocks"), 2);
    cr_expect_gt(field(run, "uptime_ns"), 0);
    char domain[200];
    snprintf(domain, sizeof domain, "/mqs.%u." GRAPH ".%s", (unsigned)getuid(), string_of(run, "run"));
    cr_expect_str_eq(string_of(run, "domain"), domain);
    json_decref(run);

    const char *table[] = {"ls", NULL};
    run_result r;
    mqctl(table, &r);
    cr_assert_eq(r.status, 0);
    cr_expect(strstr(r.out, "GRAPH                    RUN "), "%s", r.out);
    cr_expect(strstr(r.out, GRAPH " "), "%s", r.out);

    /* mqrun dies outright: its run is dead, until cleaned. */
    cr_assert_eq(kill(mqrun, SIGKILL), 0);
    waitpid(mqrun, NULL, 0);
    run = the_one_run();
    cr_expect_str_eq(string_of(run, "state"), "dead");
    cr_expect_eq(field(run, "uptime_ns"), -1);
    json_decref(run);
    mqctl(table, &r);
    cr_expect(strstr(r.out, "dead runs: their mqrun is gone; `mqctl clean` (or the next mqrun of the graph) "
                            "removes them\n"), "%s", r.out);
    usleep(1200 * 1000); /* its workers follow it within a second */
    const char *clean[] = {"clean", GRAPH, NULL};
    mqctl(clean, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "removed 1 dead run of graph " GRAPH "\n");
    json_t *after = runs_of_graph();
    cr_expect_eq(json_array_size(after), 0);
    json_decref(after);
    assert_nothing_left(GRAPH);
}

Test(mqctl, usage_errors_say_what_is_wrong)
{
    run_result r;
    const char *nothing[] = {NULL};
    mqctl(nothing, &r);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "usage: mqctl COMMAND [options]"), "%s", r.err);
    const char *unknown[] = {"lss", NULL};
    mqctl(unknown, &r);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "mqctl: unknown command 'lss' (commands: ls status top dot set stop clean blocks; mqctl --help)\n");
    const char *extra[] = {"ls", "a", "b", NULL};
    mqctl(extra, &r);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "mqctl ls: unexpected argument 'b' (usage: mqctl ls [GRAPH] [--json])\n");
    const char *help[] = {"ls", "--help", NULL};
    mqctl(help, &r);
    cr_expect_eq(r.status, 0);
    cr_expect(strncmp(r.out, "usage: mqctl ls [GRAPH] [--json]\n", 33) == 0, "%s", r.out);
    const char *none[] = {"ls", GRAPH, NULL};
    mqctl(none, &r);
    cr_expect_eq(r.status, 0);
    cr_expect_str_eq(r.out, "no run of graph '" GRAPH "'\n");
}

Test(mqctl, blocks_lists_the_types_as_mqrun_does_and_shows_one)
{
    const char *list[] = {"blocks", NULL};
    run_result r;
    mqctl(list, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "passthrough      forwards every buffer unchanged (zero copy)\n"), "%s", r.out);
    static run_result m;
    const char *mqrun_list[] = {"--list-blocks", NULL};
    run_mqrun(mqrun_list, 0, &m);
    cr_assert_eq(m.status, 0);
    cr_expect_str_eq(r.out, m.out, "mqctl blocks and mqrun --list-blocks disagree");

    const char *scale[] = {"blocks", "scale", NULL};
    mqctl(scale, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "scale: resizes video (bilinear)\n  kind: filter, SDK 1.", 52) == 0, "%s", r.out);
    cr_expect(strstr(r.out, "\ninputs:\n  in             gray8, rgb24 or i420\n"), "%s", r.out);
    cr_expect(strstr(r.out, "\noutputs:\n  out            the same format at width x height\n"), "%s", r.out);
    cr_expect(strstr(r.out, "  width          int       default (required), 1 to 7680\n"
                            "                 output width in pixels\n"), "%s", r.out);

    const char *typo[] = {"blocks", "pattern_sorce", NULL};
    mqctl(typo, &r);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "mqctl blocks: unknown block type 'pattern_sorce' (hint: did you mean 'pattern_source'?"),
              "%s", r.err);
}
