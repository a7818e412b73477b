/* mqbench python: what Python costs a graph.
 *
 * A passthrough block in C and the same in Python (type: python, which
 * forwards each input with mqs.block.send: no copy), each between
 * pattern_source and null_sink, at 1080p rgb24 and at 64x48 gray8, the
 * sides alternating TRIALS times. frames/s = (N - W) / (t(N) - t(W)), wall
 * times of whole runs of N and W = WARMUP_FRAMES frames, so process and
 * interpreter start-up cancel out. At 1080p the source's memcpy of each
 * frame sets the pace; at 64x48 the per-call cost of each block shows.
 *
 * And a tap: a Python process (Debian's python3 and the mqs module) taps
 * the C passthrough's output of a running 1080p graph with policy block,
 * so the graph runs at the tap's pace, and counts the frames it gets (a
 * numpy array of each) per second, next to the C passthrough's rate.
 * Skips (exit 0) when the python block is not built (sanitizer builds). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_graph.h"
#include "bench_python.h"

#define TRIALS 3
#define DEFAULT_FRAMES 2000
#define WARMUP_FRAMES 100
#define TAP_WARMUP 30
#define TAP_NAME "mqbench-python-tap"
#define STRINGIFY(x) #x
#define MQS_BENCH_STR(x) STRINGIFY(x)

typedef struct size_case {
    const char *name;
    const char *format;
    unsigned width, height;
    unsigned scale; /* runs of scale x N frames: small frames go by fast, the interpreter's start must not dominate */
} size_case;

static const size_case sizes[] = {
    {"1080p rgb24", "rgb24", 1920, 1080, 1},
    {"64x48 gray8", "gray8", 64, 48, 20},
};
#define SIZES (sizeof sizes / sizeof sizes[0])

static const char forward_py[] = "import mqs\n"
                                 "MQS_BLOCK = {\"summary\": \"forward, no copy\", \"inputs\": [\"in\"], "
                                 "\"outputs\": [\"out\"]}\n"
                                 "def process(inputs):\n"
                                 "    mqs.block.send(0, inputs[0])\n";

/* Attach to the graph, tap pass.out (block), time `frames` gets after a
 * warm-up; frames/s into the file argv[3]. */
static const char tap_py[] =
    "import sys, time\n"
    "import mqs\n"
    "name, frames, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
    "deadline = time.monotonic() + 30\n"
    "while True:\n"
    "    try:\n"
    "        graph = mqs.attach(name)\n"
    "        break\n"
    "    except mqs.Error:\n"
    "        if time.monotonic() > deadline:\n"
    "            raise\n"
    "        time.sleep(0.01)\n"
    "with graph.tap('pass.out', depth=8, policy='block') as tap:\n"
    "    for _ in range(" MQS_BENCH_STR(TAP_WARMUP) "):\n"
    "        tap.get(timeout=30)\n"
    "    start = time.monotonic()\n"
    "    for _ in range(frames):\n"
    "        frame = tap.get(timeout=30)\n"
    "        pixels = frame.array\n"
    "        del pixels, frame\n"
    "    took = time.monotonic() - start\n"
    "with open(out, 'w') as f:\n"
    "    f.write(f'{frames / took}\\n')\n";

typedef struct python_env {
    bench_env base;
    char module[160], tap_script[160], tap_result[160];
} python_env;

typedef struct python_result {
    double c_fps[SIZES], py_fps[SIZES]; /* medians */
    double tap_fps;
} python_result;

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* src -> pass (C or Python) -> sink; frames 0: until stopped. */
static int write_graph(const python_env *env, const char *name, const size_case *sz, bool python,
                       unsigned long long frames)
{
    char pass[256];
    if (python)
        snprintf(pass, sizeof pass, "{ type: python, inputs: { in: src.out }, params: { module: %s } }", env->module);
    else
        snprintf(pass, sizeof pass, "{ type: passthrough, inputs: { in: src.out } }");
    FILE *f = fopen(env->base.graph, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "name: %s\n"
            "blocks:\n"
            "  src: { type: pattern_source, params: { width: %u, height: %u, format: %s, fps: 0, count: %llu } }\n"
            "  pass: %s\n"
            "  sink: { type: null_sink, inputs: { in: pass.out } }\n",
            name, sz->width, sz->height, sz->format, frames, pass);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* What one run of the passthrough graph needs (bench_timed_fn's arg). */
typedef struct pass_run {
    const python_env *env;
    const size_case *sz;
    bool python;
} pass_run;

static int64_t run_pass(void *arg, uint64_t frames)
{
    const pass_run *r = arg;
    int rc = write_graph(r->env, "mqbench-python", r->sz, r->python, frames);
    return rc < 0 ? rc : bench_run_graph(&r->env->base);
}

/* Steady frames/s: runs of `frames` and of WARMUP_FRAMES, the start subtracted. */
static int measure(const python_env *env, const size_case *sz, bool python, unsigned long long frames, double *fps)
{
    pass_run r = {env, sz, python};
    return bench_steady(run_pass, &r, WARMUP_FRAMES, frames * sz->scale, 1, fps, NULL);
}

/* The 1080p graph, running until stopped, tapped by tap.py. */
static int measure_tap(const python_env *env, unsigned long long frames, double *fps)
{
    int rc = write_graph(env, TAP_NAME, &sizes[0], false, 0);
    if (rc < 0)
        return rc;
    char mqrun[PATH_MAX + 8], count[32], py_path[PATH_MAX + 32];
    snprintf(mqrun, sizeof mqrun, "%s/mqrun", env->base.bin);
    pid_t graph = fork();
    if (graph == 0) {
        execl(mqrun, "mqrun", "-q", env->base.graph, (char *)NULL);
        _exit(127);
    }
    if (graph < 0)
        return -errno;
    snprintf(count, sizeof count, "%llu", frames);
    snprintf(py_path, sizeof py_path, "PYTHONPATH=%s/../python", env->base.bin);
    char *argv[] = {"env", py_path, MQS_BENCH_PYTHON3, (char *)env->tap_script, TAP_NAME, count,
                    (char *)env->tap_result, NULL};
    int64_t took = bench_run_timed(&env->base, argv);
    kill(graph, SIGTERM);
    waitpid(graph, NULL, 0);
    if (took < 0)
        return (int)took;
    FILE *f = fopen(env->tap_result, "r");
    rc = f && fscanf(f, "%lf", fps) == 1 ? 0 : -EIO;
    if (f)
        fclose(f);
    return rc;
}

static int run_all(const python_env *env, unsigned long long frames, python_result *res)
{
    double c[SIZES][TRIALS], py[SIZES][TRIALS], tap[TRIALS];
    for (int t = 0; t < TRIALS; t++) {
        for (size_t s = 0; s < SIZES; s++) {
            int rc = measure(env, &sizes[s], false, frames, &c[s][t]);
            if (rc == 0)
                rc = measure(env, &sizes[s], true, frames, &py[s][t]);
            if (rc < 0) {
                bench_show_failure(&env->base, "python", sizes[s].name, rc);
                return rc;
            }
        }
        int rc = measure_tap(env, frames, &tap[t]);
        if (rc < 0) {
            bench_show_failure(&env->base, "python", "the tap", rc);
            return rc;
        }
    }
    for (size_t s = 0; s < SIZES; s++) {
        res->c_fps[s] = bench_median(c[s], TRIALS);
        res->py_fps[s] = bench_median(py[s], TRIALS);
    }
    res->tap_fps = bench_median(tap, TRIALS);
    return 0;
}

static void print_json(const python_result *r, unsigned long long frames)
{
    printf("{\"bench\":\"python\",\"frames\":%llu,\"warmup_frames\":%d,\"trials\":%d,\"results\":[", frames,
           WARMUP_FRAMES, TRIALS);
    for (size_t s = 0; s < SIZES; s++)
        printf("%s{\"scenario\":\"passthrough %s\",\"c_fps\":%.1f,\"python_fps\":%.1f,\"python_vs_c\":%.3f}",
               s ? "," : "", sizes[s].name, r->c_fps[s], r->py_fps[s], r->py_fps[s] / r->c_fps[s]);
    printf("],\"tap\":{\"scenario\":\"tap 1080p rgb24, policy block\",\"tap_fps\":%.1f,\"c_passthrough_fps\":%.1f,"
           "\"tap_vs_c\":%.3f},\"target\":{\"python_vs_c_1080p\":0.5,\"pass\":%s}}\n",
           r->tap_fps, r->c_fps[0], r->tap_fps / r->c_fps[0], r->py_fps[0] >= 0.5 * r->c_fps[0] ? "true" : "false");
}

static void print_table(const python_result *r, unsigned long long frames)
{
    printf("a passthrough block in C and in Python (mqs.block.send, no copy) between pattern_source and\n"
           "null_sink, %llu frames at 1080p and %llu at 64x48; a Python tap on a running graph; frames/s (higher is\n"
           "better)\n\n", frames, frames * sizes[1].scale);
    printf("%-40s %12s %12s %10s\n", "scenario", "C", "Python", "Python/C");
    for (size_t s = 0; s < SIZES; s++)
        printf("%-40s %12.0f %12.0f %9.2fx\n", sizes[s].name, r->c_fps[s], r->py_fps[s], r->py_fps[s] / r->c_fps[s]);
    printf("%-40s %12.0f %12.0f %9.2fx\n", "tap on 1080p rgb24 (policy block)", r->c_fps[0], r->tap_fps,
           r->tap_fps / r->c_fps[0]);
    printf("\nmedians of %d alternating trials; frames/s = (N - %d) / (t(N frames) - t(%d frames)): process and\n"
           "interpreter start-up excluded. The tap row: frames/s the tap got (a numpy array of each, the graph at\n"
           "its pace) next to the C passthrough graph's rate above.\n",
           TRIALS, WARMUP_FRAMES, WARMUP_FRAMES);
    double ratio = r->py_fps[0] / r->c_fps[0];
    printf("\ntarget: Python passthrough >= 0.5x C at 1080p: %.2fx  %s\n", ratio, ratio >= 0.5 ? "PASS" : "MISS");
}

static void python_usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench python [--json] [--frames N]\n"
            "  a passthrough block in C and in Python at 1080p rgb24 and at 64x48 gray8, and a Python tap on a\n"
            "  running 1080p graph, medians of %d alternating trials.\n"
            "  --json      print {\"bench\":\"python\",...} instead of the table\n"
            "  --frames N  frames per run at 1080p (default %d, more than %d; %u times as many at 64x48; each run is\n"
            "              also made with %d frames)\n",
            TRIALS, DEFAULT_FRAMES, 2 * WARMUP_FRAMES, sizes[1].scale, WARMUP_FRAMES);
}

static int setup(python_env *env)
{
    int rc = bench_env_setup(&env->base, "python");
    if (rc < 0)
        return rc;
    snprintf(env->module, sizeof env->module, "%s/forward.py", env->base.dir);
    snprintf(env->tap_script, sizeof env->tap_script, "%s/tap.py", env->base.dir);
    snprintf(env->tap_result, sizeof env->tap_result, "%s/tap.txt", env->base.dir);
    rc = write_file(env->module, forward_py);
    return rc < 0 ? rc : write_file(env->tap_script, tap_py);
}

static void cleanup(const python_env *env)
{
    unlink(env->module);
    unlink(env->tap_script);
    unlink(env->tap_result);
    bench_env_cleanup(&env->base);
}

int bench_python_main(int argc, char **argv)
{
    bool json = false;
    unsigned long long frames = DEFAULT_FRAMES;
    int rc = bench_parse_frames_json(argc, argv, 2 * WARMUP_FRAMES, &frames, &json, python_usage);
    if (rc >= 0)
        return rc;
    python_env env;
    if (setup(&env) < 0) {
        fprintf(stderr, "mqbench python: cannot write to a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    if (!bench_has_block(&env.base, "python")) {
        cleanup(&env);
        const char *why = "mqrun has no python block (it is built with python3-dev and python3-numpy, outside "
                          "sanitizer builds)";
        printf(json ? "{\"bench\":\"python\",\"skipped\":\"%s\"}\n" : "mqbench python: skipped: %s\n", why);
        return 0;
    }
    mqs_domain_remove_stale("mqbench-python");
    mqs_domain_remove_stale(TAP_NAME);
    python_result res = {0};
    rc = run_all(&env, frames, &res);
    cleanup(&env);
    if (rc < 0)
        return 1;
    if (json)
        print_json(&res, frames);
    else
        print_table(&res, frames);
    return 0;
}
