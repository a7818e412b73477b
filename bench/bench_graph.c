/* Running whole graphs and programs from a benchmark (bench_graph.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_cpu.h"
#include "bench_graph.h"

int bench_env_setup(bench_env *env, const char *name)
{
    ssize_t n = readlink("/proc/self/exe", env->bin, sizeof env->bin - 1);
    if (n <= 0)
        return -errno;
    env->bin[n] = '\0';
    *strrchr(env->bin, '/') = '\0';
    snprintf(env->dir, sizeof env->dir, "/tmp/mqbench-%.16s-XXXXXX", name);
    if (!mkdtemp(env->dir))
        return -errno;
    snprintf(env->graph, sizeof env->graph, "%s/graph.yaml", env->dir);
    snprintf(env->stats, sizeof env->stats, "%s/stats.jsonl", env->dir);
    snprintf(env->log, sizeof env->log, "%s/output.txt", env->dir);
    return 0;
}

void bench_env_cleanup(const bench_env *env)
{
    unlink(env->graph);
    unlink(env->stats);
    unlink(env->log);
    rmdir(env->dir);
}

void bench_use_bench_blocks(const bench_env *env)
{
    char path[2 * PATH_MAX + 32];
    const char *old = getenv("MQS_BLOCK_PATH");
    snprintf(path, sizeof path, "%s/../bench/blocks%s%s", env->bin, old && *old ? ":" : "", old ? old : "");
    setenv("MQS_BLOCK_PATH", path, 1);
}

int64_t bench_run_timed(const bench_env *env, char *const *argv)
{
    int64_t t0 = mqs_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(env->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    int64_t took = mqs_now_ns() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? took : -ECHILD;
}

int64_t bench_run_graph(const bench_env *env)
{
    char mqrun[PATH_MAX + 8];
    snprintf(mqrun, sizeof mqrun, "%s/mqrun", env->bin);
    char *argv[] = {mqrun, "-q", "--stats-json", (char *)env->stats, (char *)env->graph, NULL};
    return bench_run_timed(env, argv);
}

double bench_stats_report(const bench_env *env, const char *block, const char *key)
{
    FILE *f = fopen(env->stats, "r");
    char line[65536];
    json_t *last = NULL;
    while (f && fgets(line, sizeof line, f)) {
        json_decref(last);
        last = json_loads(line, 0, NULL);
    }
    if (f)
        fclose(f);
    double v = -1;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(last, "blocks"), i, b)
    {
        const char *name = json_string_value(json_object_get(b, "name"));
        json_t *r = json_object_get(json_object_get(b, "reports"), key);
        if (name && strcmp(name, block) == 0 && json_is_number(r))
            v = json_number_value(r);
    }
    json_decref(last);
    return v;
}

int bench_has_block(const bench_env *env, const char *type)
{
    char cmd[PATH_MAX + 64], out[16384] = "", word[80];
    snprintf(cmd, sizeof cmd, "%s/mqrun --list-blocks 2>/dev/null", env->bin);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out + 1, 1, sizeof out - 2, p) : 0;
    out[0] = '\n';
    out[n + 1] = '\0';
    if (p)
        pclose(p);
    snprintf(word, sizeof word, "\n%s ", type); /* a line starts with the type's name */
    return strstr(out, word) != NULL;
}

void bench_show_failure(const bench_env *env, const char *bench, const char *what, int rc)
{
    fprintf(stderr, "mqbench %s: %s (%s) failed; its output (%s) ends:\n", bench, what,
            rc == -ECHILD ? "exit status" : strerror(-rc), env->log);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tail -5 %s >&2", env->log);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show it)\n");
}

int bench_parse_frames_json(int argc, char **argv, unsigned long long min_frames, unsigned long long *frames,
                            bool *json, void (*usage)(FILE *out))
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"frames", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            *json = true;
        else if (c == 'f' && (*frames = strtoull(optarg, NULL, 10)) > min_frames)
            continue;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

int bench_steady(bench_timed_fn run, void *arg, uint64_t few, uint64_t many, double per_item, double *per_s,
                 double *cpu_s)
{
    int64_t cpu0 = bench_children_cpu_ns();
    int64_t t_few = run(arg, few);
    int64_t cpu1 = bench_children_cpu_ns();
    int64_t t_many = t_few < 0 ? t_few : run(arg, many);
    int64_t cpu2 = bench_children_cpu_ns();
    if (t_many < 0)
        return (int)t_many;
    double steady = (double)(many - few) * per_item;
    *per_s = t_many > t_few ? steady * 1e9 / (double)(t_many - t_few) : 0;
    if (cpu_s)
        *cpu_s = (double)((cpu2 - cpu1) - (cpu1 - cpu0)) / 1e9 / steady;
    return 0;
}
