/* mqctl top end to end: the real mqctl against a run of the real mqrun
 * (pattern_source -> passthrough -> null_sink). Through a pipe it prints one
 * plain block per interval, no escape anywhere, and stops after
 * --iterations; the busiest block and the fullest connection are marked '*'
 * (a hung block makes both certain). In a terminal (tmux) it redraws in
 * place, changes the sort column on s and S, quits on q and on Ctrl-C with
 * status 0 and the terminal as it was. Bad usage exits 2 naming what is
 * wrong, an unknown graph 1. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define GRAPH "mqstest_top"
#define HUNG_GRAPH "mqstest_top_hung"
#define BLOCKS 3
#define PROGRAM_TIMEOUT_MS 30000
#define PANE_TIMEOUT_MS 10000

static pid_t mqrun = -1;      /* the run under test, until stopped */
static char tmux_socket[320]; /* the tmux server of this test: its socket, in the work directory */

static void setup(void)
{
    make_workdir();
    snprintf(tmux_socket, sizeof tmux_socket, "%s", tmp_path("tmux.socket"));
}

static void run_program(const char *const *argv, run_result *r);

/* Whatever a failed test left: its tmux server, its mqrun. */
static void teardown(void)
{
    const char *kill_server[] = {"tmux", "-S", tmux_socket, "kill-server", NULL};
    run_result r;
    run_program(kill_server, &r);
    if (mqrun > 0) {
        kill(mqrun, SIGKILL);
        waitpid(mqrun, NULL, 0);
        mqs_domain_remove_stale(GRAPH);
        mqs_domain_remove_stale(HUNG_GRAPH);
    }
    remove_workdir();
}

TestSuite(mqctl_top, .init = setup, .fini = teardown, .timeout = 120);

/* ---- running programs ---- */

/* Run argv (argv[0] looked up in PATH) with stdout and stderr to files,
 * stdin from /dev/null; killed after PROGRAM_TIMEOUT_MS (a failure). */
static void run_program(const char *const *argv, run_result *r)
{
    const char *out = tmp_path("program.out"), *err = tmp_path("program.err");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(open("/dev/null", O_RDONLY), 0);
        dup2(open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
        dup2(open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0, waited_ms = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (waited_ms > PROGRAM_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s %s did not finish within %d ms", argv[0], argv[1], PROGRAM_TIMEOUT_MS);
        }
        usleep(10000);
        waited_ms += 10;
    }
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    read_file(out, r->out, sizeof r->out);
    read_file(err, r->err, sizeof r->err);
}

static void mqctl_top(const char *const *args, run_result *r)
{
    const char *argv[16] = {MQS_TEST_MQCTL, "top"};
    for (int i = 0; args[i] && i < 13; i++)
        argv[i + 2] = args[i];
    run_program(argv, r);
}

static void start_graph(const char *graph, const char *middle)
{
    const char *path = tmp_path("top.yaml");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: %s\nblocks:\n"
               "  cam: { type: pattern_source, params: { width: 64, height: 48, fps: 200 } }\n"
               "  %s, inputs: { in: cam.out } }\n"
               "  sink: { type: null_sink, inputs: { in: pass.out } }\n", graph, middle);
    fclose(f);
    const char *args[] = {"-q", path, NULL};
    mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    wait_until_running(graph, BLOCKS);
}

/* Stop the run under test as Ctrl-C would (stop_mqrun), and forget it. */
static void stop_graph(const char *graph, bool clean)
{
    stop_mqrun(mqrun, graph, clean);
    mqrun = -1;
}

/* ---- reading what top printed ---- */

static int lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

/* Where the row of `name` starts ("  name " or "* name "), NULL if none. */
static const char *row_of(const char *text, const char *name, bool marked)
{
    char row[64];
    snprintf(row, sizeof row, "\n%c %s ", marked ? '*' : ' ', name);
    return strstr(text, row);
}

/* Rows of block `name`, marked or not. */
static int rows_named(const char *text, const char *name)
{
    char row[64];
    snprintf(row, sizeof row, "\n  %s ", name);
    int n = occurrences(text, row);
    snprintf(row, sizeof row, "\n* %s ", name);
    return n + occurrences(text, row);
}

static const char *const block_names[BLOCKS] = {"cam", "pass", "sink"};
static const char *const connections[] = {" cam.out -> pass.in ", " pass.out -> sink.in "};

/* ---- through a pipe ---- */

Test(mqctl_top, pipe_prints_one_plain_block_per_interval)
{
    start_graph(GRAPH, "pass: { type: passthrough");
    const char *args[] = {GRAPH, "--iterations", "2", "--interval", "200ms", NULL};
    run_result r;
    mqctl_top(args, &r);
    cr_expect_eq(r.status, 0, "status %d\n%s", r.status, r.err);
    cr_expect_str_eq(r.err, "");
    cr_expect_eq(lines_starting(r.out, "-- "), 2, "%s", r.out);
    cr_expect_eq(lines_starting(r.out, "bottleneck: "), 2, "%s", r.out);
    cr_expect_eq(occurrences(r.out, " graph " GRAPH " (run "), 2, "%s", r.out);
    cr_expect_eq(occurrences(r.out, ", sorted by busy\n"), 2, "%s", r.out);
    cr_expect_eq(occurrences(r.out, ", figures since the start, "), 1, "%s", r.out);
    cr_expect_eq(occurrences(r.out, ", figures over 0."), 1, "%s", r.out);
    for (int b = 0; b < BLOCKS; b++)
        cr_expect_eq(rows_named(r.out, block_names[b]), 2, "block %s: a row per frame\n%s", block_names[b], r.out);
    for (size_t c = 0; c < sizeof connections / sizeof connections[0]; c++)
        cr_expect_eq(occurrences(r.out, connections[c]), 2, "%s\n%s", connections[c], r.out);
    cr_expect_null(strchr(r.out, '\033'), "an escape in plain output:\n%s", r.out);

    const char *by_name[] = {GRAPH, "--iterations", "1", "--sort", "name", NULL};
    mqctl_top(by_name, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(occurrences(r.out, ", sorted by name\n"), 1, "%s", r.out);
    const char *cam = row_of(r.out, "cam", false), *pass = row_of(r.out, "pass", false);
    const char *sink = row_of(r.out, "sink", false);
    cr_expect(cam && pass && sink && cam < pass && pass < sink, "rows not in name order:\n%s", r.out);
    stop_graph(GRAPH, true);
}

Test(mqctl_top, marks_the_busiest_block_and_the_fullest_connection)
{
    const char *blocks = MQS_TEST_FAULTY_BLOCKS, *plugin = MQS_TEST_FAULTY_BLOCKS "/mqs_block_faulty.so";
    if (access(plugin, R_OK) != 0)
        cr_skip_test("the test-only block faulty is not built (%s)", plugin);
    setenv("MQS_BLOCK_PATH", blocks, 1);
    /* `pass` never returns from its fifth call: busy all the time, its input full. */
    start_graph(HUNG_GRAPH, "pass: { type: faulty, params: { fault: hang, at: 5 }");
    usleep(1000 * 1000);
    const char *args[] = {HUNG_GRAPH, "--iterations", "2", "--interval", "200ms", NULL};
    run_result r;
    mqctl_top(args, &r);
    cr_expect_eq(r.status, 0, "status %d\n%s", r.status, r.err);
    /* The second frame, over the interval (the first is since the start). */
    const char *second = strstr(r.out, "\n-- ");
    cr_assert(second, "one frame only:\n%s", r.out);
    cr_expect(strstr(second, "\nbottleneck: block pass (busy 100.0%); connection cam.out -> pass.in ("), "%s", second);
    cr_expect_eq(occurrences(second, "\n* pass "), 1, "%s", second);
    cr_expect_eq(occurrences(second, "\n* cam.out -> pass.in "), 1, "%s", second);
    cr_expect_eq(occurrences(second, "\n* "), 2, "only the bottleneck is marked:\n%s", second);
    stop_graph(HUNG_GRAPH, false);
}

/* ---- usage ---- */

Test(mqctl_top, bad_usage_exits_2_and_an_unknown_graph_1)
{
    run_result r;
    const char *bad_sort[] = {GRAPH, "--sort", "speed", NULL};
    mqctl_top(bad_sort, &r);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "mqctl top: --sort 'speed': no such column (columns: name, cpu, busy, wait, calls, "
                            "rss, restarts)\n");
    const char *bad_count[] = {GRAPH, "--iterations", "0", NULL};
    mqctl_top(bad_count, &r);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "mqctl top: --iterations '0': give a whole number of frames, 1 or more\n");
    const char *extra[] = {GRAPH, "other", NULL};
    mqctl_top(extra, &r);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "mqctl top: unexpected argument 'other' (usage: mqctl top GRAPH [--interval DURATION] "
                            "[--sort COLUMN] [--iterations N])\n");
    const char *unknown[] = {GRAPH "_none", "--iterations", "1", NULL};
    mqctl_top(unknown, &r);
    cr_expect_eq(r.status, 1);
    cr_expect_str_eq(r.out, "");
    cr_expect(strncmp(r.err, "mqctl top: no running graph '" GRAPH "_none';", 40) == 0, "%s", r.err);
}

/* ---- in a terminal ---- */

static bool have_tmux(void)
{
    return system("command -v tmux >/dev/null 2>&1") == 0;
}

/* `tmux -S SOCKET ARGS...` (a server of its own, remain-on-exit set so a
 * pane stays to say its command ended); its stdout in r. */
static void tmux(const char *const *args, run_result *r)
{
    static char conf[320];
    snprintf(conf, sizeof conf, "%s", tmp_path("tmux.conf"));
    FILE *f = fopen(conf, "w");
    cr_assert(f);
    fprintf(f, "set-option -g remain-on-exit on\n");
    fclose(f);
    const char *argv[16] = {"tmux", "-S", tmux_socket, "-f", conf};
    for (int i = 0; args[i] && i < 10; i++)
        argv[i + 5] = args[i];
    run_program(argv, r);
}

static void start_in_tmux(const char *command)
{
    const char *args[] = {"new-session", "-d", "-s", "top", "-x", "200", "-y", "50", command, NULL};
    run_result r;
    tmux(args, &r);
    cr_assert_eq(r.status, 0, "tmux new-session: %s", r.err);
}

static void send_key(const char *key)
{
    const char *args[] = {"send-keys", "-t", "top", key, NULL};
    run_result r;
    tmux(args, &r);
    cr_assert_eq(r.status, 0, "tmux send-keys: %s", r.err);
}

typedef bool (*pane_test)(const char *text);

/* Capture the pane into r->out until `ready` holds of it: false after PANE_TIMEOUT_MS. */
static bool pane_shows(pane_test ready, run_result *r)
{
    const char *args[] = {"capture-pane", "-p", "-t", "top", NULL};
    for (int waited = 0; waited < PANE_TIMEOUT_MS; waited += 50, usleep(50 * 1000)) {
        tmux(args, r);
        if (r->status == 0 && ready(r->out))
            return true;
    }
    return false;
}

/* Once the pane's command ended (remain-on-exit keeps the pane to tell).
 * Exit statuses come from a file the pane's shell writes: tmux does not
 * always reap a pane's process at once, so #{pane_dead_status} may stay empty. */
static bool pane_dead(run_result *r)
{
    const char *args[] = {"list-panes", "-t", "top", "-F", "#{pane_dead}", NULL};
    for (int waited = 0; waited < PANE_TIMEOUT_MS; waited += 50, usleep(50 * 1000)) {
        tmux(args, r);
        if (r->status == 0 && strcmp(r->out, "1\n") == 0)
            return true;
    }
    return false;
}

/* The text of `path` once a whole line is in it: false after PANE_TIMEOUT_MS. */
static bool file_written(const char *path, char *out, size_t size)
{
    for (int waited = 0; waited < PANE_TIMEOUT_MS; waited += 50, usleep(50 * 1000)) {
        read_file(path, out, size);
        if (strchr(out, '\n'))
            return true;
    }
    return false;
}

static bool all_rows(const char *text)
{
    for (int b = 0; b < BLOCKS; b++)
        if (!row_of(text, block_names[b], false) && !row_of(text, block_names[b], true))
            return false;
    return strstr(text, connections[0]) && strstr(text, connections[1]) && strstr(text, "\nbottleneck: ");
}

static bool sorted_by_busy(const char *text)
{
    return strstr(text, ", sorted by busy   (q quits, s/S sort)\n") && all_rows(text);
}

static bool sorted_by_wait(const char *text)
{
    return strstr(text, ", sorted by wait   (q quits, s/S sort)\n") && all_rows(text);
}

static bool sorted_by_name(const char *text)
{
    const char *cam = row_of(text, "cam", false), *pass = row_of(text, "pass", false);
    const char *sink = row_of(text, "sink", false);
    return strstr(text, ", sorted by name   (q quits, s/S sort)\n") && cam && pass && sink && cam < pass &&
           pass < sink;
}

Test(mqctl_top, terminal_redraws_in_place_sorts_on_s_and_quits_on_q)
{
    if (!have_tmux())
        cr_skip_test("tmux is not installed");
    start_graph(GRAPH, "pass: { type: passthrough");
    char status[320], command[1024];
    snprintf(status, sizeof status, "%s", tmp_path("status"));
    snprintf(command, sizeof command, "'%s' top %s --interval 200ms; echo $? > '%s'", MQS_TEST_MQCTL, GRAPH, status);
    start_in_tmux(command);
    run_result r;
    cr_assert(pane_shows(sorted_by_busy, &r), "no frame sorted by busy with every row:\n%s", r.out);
    cr_expect_eq(lines_starting(r.out, "-- "), 1, "one frame, redrawn in place:\n%s", r.out);
    send_key("s");
    cr_expect(pane_shows(sorted_by_wait, &r), "s did not sort by the next column (wait):\n%s", r.out);
    send_key("S");
    send_key("S");
    send_key("S");
    cr_expect(pane_shows(sorted_by_name, &r), "S S S did not go back to name, cam, pass, sink:\n%s", r.out);
    send_key("q");
    char text[64];
    cr_assert(file_written(status, text, sizeof text), "q did not end top");
    cr_expect_str_eq(text, "0\n");
    cr_expect(pane_dead(&r), "the pane's command did not end: %s", r.out);
    const char *kill_server[] = {"kill-server", NULL};
    tmux(kill_server, &r);
    stop_graph(GRAPH, true);
}

static bool top_running(const char *text)
{
    return strstr(text, "   (q quits, s/S sort)\n") && all_rows(text);
}

/* `stty -a` output names `flag` as a word ("-echo" is not "echo"). */
static bool has_flag(const char *text, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = strstr(text, flag); p; p = strstr(p + 1, flag))
        if ((p == text || p[-1] == ' ' || p[-1] == '\n') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* The terminal's settings as `stty -a` reads them from outside. */
static void terminal_settings(const char *tty, run_result *r)
{
    const char *args[] = {"stty", "-a", "-F", tty, NULL};
    run_program(args, r);
    cr_assert_eq(r->status, 0, "stty -F %s: %s", tty, r->err);
}

Test(mqctl_top, ctrl_c_quits_with_status_0_and_restores_the_terminal)
{
    if (!have_tmux())
        cr_skip_test("tmux is not installed");
    start_graph(GRAPH, "pass: { type: passthrough");
    char before[320], after[320], status[320]; /* tmp_path's own buffers are reused */
    snprintf(before, sizeof before, "%s", tmp_path("stty.before"));
    snprintf(after, sizeof after, "%s", tmp_path("stty.after"));
    snprintf(status, sizeof status, "%s", tmp_path("status"));
    char command[2048];
    /* The shell outlives the Ctrl-C (its trap) to record top's status and the terminal after it. */
    snprintf(command, sizeof command,
             "trap : INT; stty -g > '%s'; '%s' top %s --interval 200ms; echo $? > '%s'; stty -g > '%s'; "
             "sleep 60", before, MQS_TEST_MQCTL, GRAPH, status, after);
    start_in_tmux(command);
    run_result r;
    cr_assert(pane_shows(top_running, &r), "top did not show every row:\n%s", r.out);
    const char *tty_args[] = {"display-message", "-p", "-t", "top", "#{pane_tty}", NULL};
    tmux(tty_args, &r);
    char tty[256];
    snprintf(tty, sizeof tty, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    terminal_settings(tty, &r);
    cr_expect(has_flag(r.out, "-icanon") && has_flag(r.out, "-echo"), "top runs with echo and lines:\n%s", r.out);

    send_key("C-c");
    char text[64], settings_before[1024], settings_after[1024];
    cr_assert(file_written(after, settings_after, sizeof settings_after), "Ctrl-C did not end top");
    read_file(status, text, sizeof text);
    cr_expect_str_eq(text, "0\n");
    read_file(before, settings_before, sizeof settings_before);
    cr_expect_neq(settings_before[0], '\0');
    cr_expect_str_eq(settings_after, settings_before, "the terminal was not restored");
    terminal_settings(tty, &r);
    cr_expect(has_flag(r.out, "icanon") && has_flag(r.out, "echo"), "not restored:\n%s", r.out);
    const char *kill_server[] = {"kill-server", NULL};
    tmux(kill_server, &r);
    stop_graph(GRAPH, true);
}
