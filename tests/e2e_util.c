/* Helpers of the end-to-end tests: running mqrun, reading what it and the
 * sinks wrote, and checking that nothing of a run is left behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define RUN_TIMEOUT_S 120

static char workdir[256]; /* one per test process */

void make_workdir(void)
{
    snprintf(workdir, sizeof workdir, "/tmp/mqstest-e2e-%d", (int)getpid());
    mkdir(workdir, 0700);
}

void remove_workdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
    cr_expect(system(cmd) == 0);
}

const char *tmp_path(const char *name)
{
    static char paths[8][320];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", workdir, name);
    return p;
}

const char *source_path(const char *rel)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", MQS_SOURCE_DIR, rel);
    return p;
}

void read_file(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

pid_t start_mqrun(const char *const *args, const char *mqrun)
{
    const char *err_path = tmp_path("stderr.txt"), *out_path = tmp_path("stdout.txt");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
        dup2(open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
        const char *argv[64];
        int n = 0;
        argv[n++] = mqrun;
        for (int i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(mqrun, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void finish_mqrun(pid_t pid, run_result *r)
{
    int status = 0;
    int waited_ms = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (waited_ms > RUN_TIMEOUT_S * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("mqrun did not finish within %d s", RUN_TIMEOUT_S);
        }
        usleep(10000);
        waited_ms += 10;
    }
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    read_file(tmp_path("stderr.txt"), r->err, sizeof r->err);
    read_file(tmp_path("stdout.txt"), r->out, sizeof r->out);
}

/* Run `mqrun args...`; if sigint_after_ms > 0, send SIGINT after that long. */
void run_mqrun_env(const char *const *args, int sigint_after_ms, run_result *r, const char *mqrun)
{
    pid_t pid = start_mqrun(args, mqrun);
    if (sigint_after_ms > 0) {
        usleep((useconds_t)sigint_after_ms * 1000);
        kill(pid, SIGINT);
    }
    finish_mqrun(pid, r);
}

void run_mqrun(const char *const *args, int sigint_after_ms, run_result *r)
{
    run_mqrun_env(args, sigint_after_ms, r, MQS_TEST_MQRUN);
}

/* /proc/<pid>/cmdline with spaces between the arguments and one at the end
 * ("" if unreadable), so " --instance NAME " matches a whole argument. */
void read_cmdline(const char *pid, char *out, size_t size)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, out, size - 1);
    if (fd >= 0)
        close(fd);
    n = n > 0 ? n : 0;
    for (ssize_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    out[n] = '\0';
}

/* Nothing of this graph left in /dev/shm, and no worker of it alive. */
void wait_until_running(const char *graph, uint32_t blocks)
{
    for (int i = 0; i < 1000; i++, usleep(10000)) {
        mqs_run_info run[4];
        int n = mqs_runs_list(graph, run, 4);
        if (n == 1 && run[0].alive && run[0].running == blocks && run[0].uptime_ns > 0)
            return;
    }
    cr_assert_fail("graph %s never ran with its %u blocks", graph, blocks);
}

void stop_mqrun(pid_t mqrun, const char *graph, bool clean)
{
    kill(mqrun, SIGINT);
    if (!clean) {
        usleep(200 * 1000);
        kill(mqrun, SIGINT);
    }
    run_result r;
    finish_mqrun(mqrun, &r);
    if (clean)
        cr_expect_eq(r.status, 0, "mqrun: status %d\n%s", r.status, r.err);
    assert_nothing_left(graph);
}

int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

void assert_nothing_left(const char *graph)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "mqs.%u.%s.", (unsigned)getuid(), graph);
    DIR *dir = opendir("/dev/shm");
    cr_assert(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        cr_expect(strncmp(e->d_name, prefix, strlen(prefix)) != 0, "left in /dev/shm: %s", e->d_name);
    closedir(dir);
    dir = opendir("/proc");
    while ((e = readdir(dir)) != NULL) {
        char cmd[4096];
        read_cmdline(e->d_name, cmd, sizeof cmd);
        cr_expect(!(strstr(cmd, "mqs-worker") && strstr(cmd, prefix + 3)), "worker still running: %s", cmd);
    }
    closedir(dir);
}

/* The pid of the worker running block `instance` of graph `graph`, or -1. */
pid_t worker_pid(const char *graph, const char *instance)
{
    char want_graph[128], want_instance[128];
    snprintf(want_graph, sizeof want_graph, ".%s.", graph);
    snprintf(want_instance, sizeof want_instance, " --instance %s ", instance);
    DIR *dir = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;
    while (found < 0 && (e = readdir(dir)) != NULL) {
        char cmd[4096];
        read_cmdline(e->d_name, cmd, sizeof cmd);
        if (strstr(cmd, "mqs-worker") && strstr(cmd, want_graph) && strstr(cmd, want_instance))
            found = (pid_t)atoi(e->d_name);
    }
    closedir(dir);
    return found;
}

/* The last JSON line of `path` whose "block" is `block`. */
json_t *report_of(const char *path, const char *block)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "no report file %s", path);
    char line[4096];
    json_t *found = NULL;
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        if (o && json_is_string(json_object_get(o, "block")) &&
            strcmp(json_string_value(json_object_get(o, "block")), block) == 0) {
            json_decref(found);
            found = o;
        } else {
            json_decref(o);
        }
    }
    fclose(f);
    cr_assert(found, "no report of block %s in %s", block, path);
    return found;
}

long long field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "report has no integer %s", key);
    return (long long)json_integer_value(v);
}

json_t *final_stats(const char *stats_path)
{
    FILE *f = fopen(stats_path, "r");
    cr_assert(f, "no stats file %s", stats_path);
    char line[65536];
    json_t *last = NULL;
    while (fgets(line, sizeof line, f)) {
        json_decref(last);
        last = json_loads(line, 0, NULL);
    }
    fclose(f);
    cr_assert(last && json_is_true(json_object_get(last, "final")), "no final stats line");
    return last;
}

/* The element of array `section` of the final stats whose `key` is `value`. */
json_t *final_entry(const char *stats_path, const char *section, const char *key, const char *value)
{
    json_t *last = final_stats(stats_path);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(last, section), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, key)), value) == 0) {
            json_incref(c);
            json_decref(last);
            return c;
        }
    }
    cr_assert_fail("no %s with %s %s", section, key, value);
    return NULL;
}

long long final_field(const char *stats_path, const char *section, const char *name, const char *key)
{
    json_t *e = final_entry(stats_path, section, "name", name);
    long long v = field(e, key);
    json_decref(e);
    return v;
}

/* The final stats line's connection into `to` (e.g. "stats.in"). */
json_t *final_connection(const char *stats_path, const char *to)
{
    return final_entry(stats_path, "connections", "to", to);
}
