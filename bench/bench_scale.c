/* mqbench scale: frames/s and CPU per frame as the work grows.
 *
 * Three series of real graphs, each run by the real mqrun, all of 1280x720
 * gray8 frames:
 *  - cameras: n = 1, 2, 4, 8, 16 pattern_source cameras tiled by one mosaic
 *    into a null_sink. A frame is one camera's frame: n to every mosaic
 *    output.
 *  - chains: pattern_source -> n - 2 passthroughs -> null_sink: n = 2, 4, 8,
 *    16 blocks in all, the source and the sink counted.
 *  - fan-out: pattern_source -> n null_sinks, n = 1, 2, 4, 8. A frame is one
 *    the source sent, whatever the number of sinks that got it.
 * Each point: frames/s = (N - W) / (t(N) - t(W)) and CPU/frame = (cpu(N) -
 * cpu(W)) / (N - W), from whole runs of N and of W frames, so process
 * start-up and the first write of every pool slot cancel out (as mqbench
 * video does). CPU is user + system of the whole job: mqrun waits for its
 * workers, so their time is in its children's rusage. Every sink must get
 * every frame (a lost one would flatter the rate). The trials go through
 * every point of every series in turn, TRIALS times; medians.
 *
 * Each series' first point is its baseline: every point's ratio to it is
 * printed, and the targets compare the last point with it.
 *
 * The cameras share one trigger (so the mosaic gets exact sets: equal pts)
 * with `realtime: false`: no camera waits for its frame times, frames go as
 * fast as the graph takes them with pts still on the shared grid, so every
 * point is the graph's own limit.
 *
 * Why gray8: sixteen 1280x720 cameras tile into a 5120x2880 frame, whose
 * pool of 8 slots (common/video.h) takes 118 MB in gray8 and the cameras'
 * pools as much again: 236 MB of /dev/shm. i420 would take 354 MB and rgb24
 * 620 MB (6 slots of 44 MB for the mosaic, 256 MiB a pool at most), on a
 * machine others share, for the same lesson. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_cpu.h"
#include "bench_graph.h"
#include "bench_scale.h"

#define TRIALS 3
#define DEFAULT_FRAMES 1000
#define WARMUP_FRAMES 100 /* the short run: start-up, and a first pass over every pool's slots */
#define GRAPH_NAME "mqbench-scale"
#define WIDTH 1280
#define HEIGHT 720
#define CAMERA_FPS 30 /* the grid the pts are on; realtime: false, so nobody waits for it */
#define POINTS 5

typedef enum { CAMERAS, CHAINS, FANOUT, SERIES } series_id;

typedef struct series {
    const char *name;
    const char *unit; /* what n counts */
    unsigned n[POINTS];
    unsigned points;
    /* Runs of scale x N frames (and x W): a point that goes by fast needs
     * more frames, or start-up noise would dominate its difference. */
    unsigned scale[POINTS];
} series;

static const series all_series[SERIES] = {
    [CAMERAS] = {"cameras", "cameras", {1, 2, 4, 8, 16}, 5, {5, 5, 2, 1, 1}},
    [CHAINS] = {"chains", "blocks", {2, 4, 8, 16}, 4, {20, 20, 20, 20}},
    [FANOUT] = {"fan-out", "sinks", {1, 2, 4, 8}, 4, {20, 20, 20, 20}},
};

/* A target: point `point` of `series` against its first point, frames/s at
 * least `limit` x, or CPU per frame at most `limit` x. */
typedef struct target {
    series_id series;
    unsigned point;
    bool cpu;
    double limit;
    const char *text;
} target;

static const target targets[] = {
    {CHAINS, 3, false, 0.5, "chains: frames/s at 16 blocks >= 0.5x at 2 blocks"},
    {FANOUT, 3, false, 0.5, "fan-out: frames/s with 8 sinks >= 0.5x with 1 sink"},
    {CAMERAS, 4, true, 2.0, "cameras: CPU per camera-frame at 16 cameras <= 2x at 1 camera"},
};
#define TARGETS (sizeof targets / sizeof targets[0])

typedef struct scale_result {
    double fps[SERIES][POINTS], cpu_s[SERIES][POINTS]; /* medians: frames/s, CPU seconds per frame */
} scale_result;

typedef struct scale_options {
    unsigned long long frames;
    bool json;
    const char *plot_dir; /* NULL: no plot */
} scale_options;

/* ---- the graphs ---- */

/* Every camera on one shared trigger at CAMERA_FPS, `realtime: false`:
 * frames go as fast as the graph takes them with pts on the shared grid, so
 * the mosaic gets exact sets at any speed and no point is paced. */
static void write_cameras(FILE *f, unsigned n, unsigned long long frames)
{
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "  cam%u: { type: pattern_source, params: { width: %d, height: %d, format: gray8, fps: %d, "
                   "count: %llu, trigger: shared, realtime: false } }\n", i, WIDTH, HEIGHT, CAMERA_FPS, frames);
    fprintf(f, "  grid:\n    type: mosaic\n    inputs: {");
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s %c: cam%u.out", i ? "," : "", 'a' + i, i);
    fprintf(f, " }\n");
    /* One input has nothing to align (mqrun refuses sync there). A long
     * timeout: a camera starved of CPU must not cost a set, every set is
     * counted. */
    if (n > 1)
        fprintf(f, "    sync: { policy: exact, timeout: 10s }\n");
    fprintf(f, "  sink0: { type: null_sink, inputs: { in: grid.out } }\n");
}

static void write_chain(FILE *f, unsigned n, unsigned long long frames)
{
    char prev[16] = "src";
    fprintf(f, "  src: { type: pattern_source, params: { width: %d, height: %d, format: gray8, fps: 0, count: %llu } }\n",
            WIDTH, HEIGHT, frames);
    for (unsigned i = 1; i + 1 < n; i++) {
        fprintf(f, "  pass%u: { type: passthrough, inputs: { in: %s.out } }\n", i, prev);
        snprintf(prev, sizeof prev, "pass%u", i);
    }
    fprintf(f, "  sink0: { type: null_sink, inputs: { in: %s.out } }\n", prev);
}

static void write_fanout(FILE *f, unsigned n, unsigned long long frames)
{
    fprintf(f, "  src: { type: pattern_source, params: { width: %d, height: %d, format: gray8, fps: 0, count: %llu } }\n",
            WIDTH, HEIGHT, frames);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "  sink%u: { type: null_sink, inputs: { in: src.out } }\n", i);
}

static int write_graph(const bench_env *env, series_id s, unsigned n, unsigned long long frames)
{
    FILE *f = fopen(env->graph, "w");
    if (!f)
        return -errno;
    fprintf(f, "name: " GRAPH_NAME "\nblocks:\n");
    if (s == CAMERAS)
        write_cameras(f, n, frames);
    else if (s == CHAINS)
        write_chain(f, n, frames);
    else
        write_fanout(f, n, frames);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- running them ---- */

/* Every sink got every frame (a camera set each): a lost set or frame would
 * flatter the rate. 0, or -EBADMSG having said which. */
static int check_sinks(const bench_env *env, series_id s, unsigned n, unsigned long long frames)
{
    unsigned sinks = s == FANOUT ? n : 1;
    for (unsigned i = 0; i < sinks; i++) {
        char name[16];
        snprintf(name, sizeof name, "sink%u", i);
        double got = bench_stats_report(env, name, "frames");
        if (got != (double)frames) {
            fprintf(stderr, "mqbench scale: %s, %u %s: %s got %.0f frames of %llu\n", all_series[s].name, n,
                    all_series[s].unit, name, got, frames);
            return -EBADMSG;
        }
    }
    return 0;
}

/* One point of a series (bench_timed_fn's arg). */
typedef struct point_run {
    const bench_env *env;
    series_id s;
    unsigned n;
} point_run;

/* One run of `frames` (per source): its wall time, or -errno. */
static int64_t run_point(void *arg, uint64_t frames)
{
    const point_run *r = arg;
    int rc = write_graph(r->env, r->s, r->n, frames);
    if (rc < 0)
        return rc;
    int64_t took = bench_run_graph(r->env);
    if (took < 0)
        return took;
    rc = check_sinks(r->env, r->s, r->n, frames);
    return rc < 0 ? rc : took;
}

/* Frames each source makes in a run of point p (W: warm-up = true). */
static unsigned long long run_frames(int s, unsigned p, unsigned long long frames, bool warmup)
{
    return (warmup ? WARMUP_FRAMES : frames) * all_series[s].scale[p];
}

/* Steady frames/s and CPU seconds per frame of point p: runs of N and of
 * WARMUP_FRAMES, each times the point's scale, the start subtracted. */
static int measure(const bench_env *env, series_id s, unsigned p, unsigned long long frames, double *fps,
                   double *cpu_s)
{
    point_run r = {env, s, all_series[s].n[p]};
    double per_item = s == CAMERAS ? r.n : 1; /* camera frames: n a set */
    return bench_steady(run_point, &r, run_frames(s, p, frames, true), run_frames(s, p, frames, false), per_item, fps,
                        cpu_s);
}

static int run_all(const bench_env *env, unsigned long long frames, scale_result *res)
{
    static double fps[SERIES][POINTS][TRIALS], cpu[SERIES][POINTS][TRIALS];
    for (int t = 0; t < TRIALS; t++)
        for (int s = 0; s < SERIES; s++)
            for (unsigned p = 0; p < all_series[s].points; p++) {
                unsigned n = all_series[s].n[p];
                int rc = measure(env, (series_id)s, p, frames, &fps[s][p][t], &cpu[s][p][t]);
                if (rc < 0) {
                    char what[64];
                    snprintf(what, sizeof what, "%s, %u %s", all_series[s].name, n, all_series[s].unit);
                    if (rc != -EBADMSG)
                        bench_show_failure(env, "scale", what, rc);
                    return rc;
                }
            }
    for (int s = 0; s < SERIES; s++)
        for (unsigned p = 0; p < all_series[s].points; p++) {
            res->fps[s][p] = bench_median(fps[s][p], TRIALS);
            res->cpu_s[s][p] = bench_median(cpu[s][p], TRIALS);
        }
    return 0;
}

/* ---- ratios and targets ---- */

static double fps_ratio(const scale_result *r, int s, unsigned p)
{
    return r->fps[s][0] > 0 ? r->fps[s][p] / r->fps[s][0] : 0;
}

static double cpu_ratio(const scale_result *r, int s, unsigned p)
{
    return r->cpu_s[s][0] > 0 ? r->cpu_s[s][p] / r->cpu_s[s][0] : 0;
}

static double target_ratio(const scale_result *r, const target *t)
{
    return t->cpu ? cpu_ratio(r, t->series, t->point) : fps_ratio(r, t->series, t->point);
}

static bool target_met(const scale_result *r, const target *t)
{
    double ratio = target_ratio(r, t);
    return t->cpu ? ratio > 0 && ratio <= t->limit : ratio >= t->limit;
}

/* The target on point p of series s, or NULL. */
static const target *target_of(int s, unsigned p)
{
    for (size_t i = 0; i < TARGETS; i++)
        if ((int)targets[i].series == s && targets[i].point == p)
            return &targets[i];
    return NULL;
}

/* ---- output ---- */

static void print_json(const scale_result *r, unsigned long long frames)
{
    printf("{\"bench\":\"scale\",\"frames\":%llu,\"warmup_frames\":%d,\"trials\":%d,\"cpus\":%d,\"width\":%d,"
           "\"height\":%d,\"format\":\"gray8\",\"results\":[",
           frames, WARMUP_FRAMES, TRIALS, bench_cpu_count(), WIDTH, HEIGHT);
    const char *sep = "";
    for (int s = 0; s < SERIES; s++)
        for (unsigned p = 0; p < all_series[s].points; p++, sep = ",")
            printf("%s{\"series\":\"%s\",\"n\":%u,\"frames_per_s\":%.1f,\"cpu_s_per_frame\":%.7f,"
                   "\"frames_per_s_vs_first\":%.3f,\"cpu_vs_first\":%.3f,\"run_frames\":%llu}",
                   sep, all_series[s].name, all_series[s].n[p], r->fps[s][p], r->cpu_s[s][p], fps_ratio(r, s, p),
                   cpu_ratio(r, s, p), run_frames(s, p, frames, false));
    printf("],\"targets\":[");
    for (size_t i = 0; i < TARGETS; i++)
        printf("%s{\"target\":\"%s\",\"ratio\":%.3f,\"limit\":%.1f,\"pass\":%s}", i ? "," : "", targets[i].text,
               target_ratio(r, &targets[i]), targets[i].limit, target_met(r, &targets[i]) ? "true" : "false");
    printf("]}\n");
}

static void print_row(const scale_result *r, int s, unsigned p, unsigned long long frames)
{
    const target *t = target_of(s, p);
    char note[40] = "";
    if (t)
        snprintf(note, sizeof note, "%s %.1fx: %s", t->cpu ? "CPU <=" : "frames/s >=", t->limit,
                 target_met(r, t) ? "PASS" : "MISS");
    printf("%-8s %3u %-7s %7llu %10.0f %7.2fx %12.3f %7.2fx   %s\n", p ? "" : all_series[s].name, all_series[s].n[p],
           all_series[s].unit, run_frames(s, p, frames, false), r->fps[s][p], fps_ratio(r, s, p),
           r->cpu_s[s][p] * 1e3, cpu_ratio(r, s, p), note);
}

static void print_table(const scale_result *r, unsigned long long frames)
{
    printf("frames/s and CPU per frame as the work grows: %dx%d gray8 through mqrun, %d CPUs\n"
           "  cameras  n pattern_source cameras (trigger: shared, realtime: false) -> mosaic (exact sets) ->\n"
           "           null_sink. A frame is a camera's frame\n"
           "  chains   pattern_source (fps 0) -> n - 2 passthroughs -> null_sink: n blocks, source and sink counted\n"
           "  fan-out  pattern_source (fps 0) -> n null_sinks; a frame is one the source sent\n\n",
           WIDTH, HEIGHT, bench_cpu_count());
    printf("%-8s %3s %-7s %7s %10s %8s %12s %8s   %s\n", "series", "n", "", "frames", "frames/s", "x first",
           "CPU ms/frame", "x first", "target");
    for (int s = 0; s < SERIES; s++)
        for (unsigned p = 0; p < all_series[s].points; p++)
            print_row(r, s, p, frames);
    printf("\nmedians of %d trials; frames: N, what each source makes in a run; frames/s = (N - W) / (t(N) -\n"
           "t(W)), CPU = user + system of every process of the job, the same difference per frame, from a run of\n"
           "W = %.0f %% of N too: start-up excluded. x first: the ratio to the series' first point, its baseline.\n"
           "\ntargets:\n",
           TRIALS, 100.0 * WARMUP_FRAMES / (double)frames);
    for (size_t i = 0; i < TARGETS; i++)
        printf("  %-64s %5.2fx  %s\n", targets[i].text, target_ratio(r, &targets[i]),
               target_met(r, &targets[i]) ? "PASS" : "MISS");
}

/* ---- the plot ---- */

static int write_dat(const char *path, const scale_result *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# mqbench scale: one block per series (gnuplot index 0, 1, 2)\n"
               "# n frames_per_s cpu_s_per_frame frames_per_s_vs_first cpu_vs_first\n");
    for (int s = 0; s < SERIES; s++) {
        fprintf(f, "%s# %s (n: %s)\n", s ? "\n\n" : "", all_series[s].name, all_series[s].unit);
        for (unsigned p = 0; p < all_series[s].points; p++)
            fprintf(f, "%u %.1f %.7f %.4f %.4f\n", all_series[s].n[p], r->fps[s][p], r->cpu_s[s][p],
                    fps_ratio(r, s, p), cpu_ratio(r, s, p));
    }
    return fclose(f) == 0 ? 0 : -EIO;
}

/* One panel: column `col` of the three series and the target's line at `limit`. */
static void write_panel(FILE *f, int col, const char *ylabel, const char *cameras, double limit, const char *goal)
{
    fprintf(f,
            "set ylabel \"%s, x the series' first point\"\n"
            "plot \"scaling.dat\" index 0 using 1:%d with linespoints lw 2 pt 7 title \"%s\", \\\n"
            "     \"\" index 1 using 1:%d with linespoints lw 2 pt 5 title \"chains\", \\\n"
            "     \"\" index 2 using 1:%d with linespoints lw 2 pt 9 title \"fan-out\", \\\n"
            "     %g with lines dashtype 2 lc rgb \"gray40\" title \"target: %s\"\n",
            ylabel, col, cameras, col, col, limit, goal);
}

/* Names its files relative to its own directory: gnuplot runs there. The
 * y range leaves room above the lines for the key. */
static int write_gp(const char *path, unsigned long long frames)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "# mqbench scale --plot: in this directory, `gnuplot scaling.gp` makes scaling.png of scaling.dat\n"
            "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size 1100,480 font \"sans,10\" "
            "} else { set terminal png size 1100,480 }\n"
            "set output \"scaling.png\"\n"
            "set multiplot layout 1,2 title \"mqbench scale: %dx%d gray8 through mqrun, %d CPUs, %llu frames a "
            "camera, medians of %d\"\n"
            "set logscale xy 2\n"
            "set xrange [0.8:20]\n"
            "set yrange [0.125:32]\n"
            "set xtics (1, 2, 4, 8, 16)\n"
            "set grid\n"
            "set key top left Left reverse\n"
            "set xlabel \"n: cameras, blocks in the chain, sinks\"\n",
            WIDTH, HEIGHT, bench_cpu_count(), frames, TRIALS);
    write_panel(f, 4, "frames/s", "cameras (camera frames)", 0.5, "chains, fan-out >= 0.5x");
    write_panel(f, 5, "CPU per frame", "cameras (per camera frame)", 2.0, "cameras <= 2x");
    fprintf(f, "unset multiplot\n");
    return fclose(f) == 0 ? 0 : -EIO;
}

/* gnuplot scaling.gp in `dir`: 0, 1 if gnuplot is not installed, or -errno. */
static int run_gnuplot(const char *dir)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (chdir(dir) == 0)
            execlp("gnuplot", "gnuplot", "scaling.gp", (char *)NULL);
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* DIR/scaling.dat, DIR/scaling.gp and, with gnuplot, DIR/scaling.png; says
 * what it did on `out`. 0 or -1. */
static int plot(const char *dir, const scale_result *r, unsigned long long frames, FILE *out)
{
    char dat[PATH_MAX], gp[PATH_MAX];
    snprintf(dat, sizeof dat, "%s/scaling.dat", dir);
    snprintf(gp, sizeof gp, "%s/scaling.gp", dir);
    int rc = mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
    if (rc == 0)
        rc = write_dat(dat, r);
    if (rc == 0)
        rc = write_gp(gp, frames);
    if (rc < 0) {
        fprintf(stderr, "mqbench scale: cannot write the plot's files into %s: %s\n", dir, strerror(-rc));
        return -1;
    }
    rc = run_gnuplot(dir);
    if (rc == 1)
        fprintf(out, "\nplot: wrote %s and %s; gnuplot is not installed (Debian: apt-get install gnuplot-nox),\n"
                     "then `cd %s && gnuplot scaling.gp` makes scaling.png\n", dat, gp, dir);
    else if (rc < 0)
        fprintf(stderr, "mqbench scale: gnuplot failed on %s (its messages are above)\n", gp);
    else
        fprintf(out, "\nplot: %s/scaling.png (data %s, script %s)\n", dir, dat, gp);
    return rc < 0 ? -1 : 0;
}

/* ---- options ---- */

static void scale_usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench scale [--json] [--frames N] [--plot DIR]\n"
            "  frames/s and CPU per frame (user + system of the whole job) as the work grows, each point a real\n"
            "  mqrun graph of %dx%d gray8 frames, medians of %d trials, start-up excluded:\n"
            "    cameras  1, 2, 4, 8, 16 pattern_source cameras -> one mosaic -> null_sink; a frame is a camera's\n"
            "             frame; one shared trigger with realtime: false (pts on a %d fps grid, nobody waits),\n"
            "             exact sets\n"
            "    chains   pattern_source (fps 0) -> passthroughs -> null_sink, 2, 4, 8, 16 blocks in all (source\n"
            "             and sink counted)\n"
            "    fan-out  pattern_source (fps 0) -> 1, 2, 4, 8 null_sinks\n"
            "  Each series' first point is its baseline; every point's ratio to it is printed. Targets (zero\n"
            "  copy: a longer chain or more sinks add hand-offs, not copies; a camera frame is copied once by its\n"
            "  camera and once by the mosaic, however many there are):\n",
            WIDTH, HEIGHT, TRIALS, CAMERA_FPS);
    for (size_t i = 0; i < TARGETS; i++)
        fprintf(out, "    %s\n", targets[i].text);
    fprintf(out,
            "  --json      print {\"bench\":\"scale\",\"results\":[{\"series\":...,\"n\":...,\"frames_per_s\":...,\n"
            "              \"cpu_s_per_frame\":...},...],...} instead of the table\n"
            "  --frames N  frames each source makes per run (default %d, more than %d), times %u for 1 and 2\n"
            "              cameras, %u for 4 and %u for the chains and fan-out (their frames go by faster); each\n"
            "              point is also run with %d frames, times the same, to subtract the start-up\n"
            "  --plot DIR  write DIR/scaling.dat and DIR/scaling.gp, and DIR/scaling.png with gnuplot when it is\n"
            "              installed (Debian: apt-get install gnuplot-nox)\n",
            DEFAULT_FRAMES, 2 * WARMUP_FRAMES, all_series[CAMERAS].scale[0], all_series[CAMERAS].scale[2],
            all_series[CHAINS].scale[0], WARMUP_FRAMES);
}

/* -1 to go on, else the exit status to return now (usage on stderr for a
 * bad option: 2). */
static int parse_options(int argc, char **argv, scale_options *o)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"frames", required_argument, 0, 'f'},
                                         {"plot", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            o->json = true;
        else if (c == 'f' && (o->frames = strtoull(optarg, &end, 10)) > 2 * WARMUP_FRAMES && *end == '\0' &&
                 optarg[0] != '-' && o->frames <= 1000000000ULL)
            continue;
        else if (c == 'p' && optarg[0])
            o->plot_dir = optarg;
        else {
            scale_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) {
        scale_usage(stderr);
        return 2;
    }
    return -1;
}

int bench_scale_main(int argc, char **argv)
{
    scale_options o = {.frames = DEFAULT_FRAMES};
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    bench_env env;
    if (bench_env_setup(&env, "scale") < 0) {
        fprintf(stderr, "mqbench scale: cannot make a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    mqs_domain_remove_stale(GRAPH_NAME);
    static scale_result res;
    rc = run_all(&env, o.frames, &res);
    bench_env_cleanup(&env);
    if (rc < 0)
        return 1;
    if (o.json)
        print_json(&res, o.frames);
    else
        print_table(&res, o.frames);
    if (o.plot_dir && plot(o.plot_dir, &res, o.frames, o.json ? stderr : stdout) < 0)
        return 1;
    return 0;
}
