/* mqbench gst: the GStreamer bridge blocks against GStreamer alone.
 *
 * Each scenario is one description split in two: videotestsrc and what
 * follows it in gst_source, the rest in gst_sink, run as a graph of two
 * workers by mqrun; and, in the same run, the same description in one
 * gst-launch-1.0 process with a queue where the graph splits, so GStreamer
 * too gets one streaming thread per side. Both sides alternate, TRIALS
 * times. frames/s = (N - W) / (t(N) - t(W)), wall times of whole runs of N
 * and of W = WARMUP_FRAMES frames: process start, GStreamer's own start-up
 * and the first write of every pool slot (its page faults) cancel out.
 *
 * The price of the bridge is one copy per frame in gst_source (appsink's
 * memory -> a slot of the output's pool; gst_sink lends frames to GStreamer
 * without one): its mean time per frame (the block's report copy_us in the
 * 1080p run) is set against a memcpy of a frame in this process. Skips
 * (exit 0) when GStreamer or the gst blocks are not installed. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_graph.h"
#include "bench_gst.h"
#include "bench_stats.h"

#define TRIALS 3
#define DEFAULT_FRAMES 600
#define WARMUP_FRAMES 30 /* the short run: start-up, and a first pass over every pool's 8 slots (page faults) */
#define MEMCPY_RUNS 21
#define MEMCPY_SRC 4 /* frames the copy reads from in turn ... */
#define MEMCPY_DST 8 /* ... and writes to: a video pool's 8 slots */
#define FRAME_1080P_RGB (1920ull * 1080 * 3)

typedef struct scenario {
    const char *name;
    const char *source;  /* gst_source's pipeline; %llu: the frame count */
    const char *format;  /* gst_source's format, width, height, convert */
    unsigned width, height;
    bool convert;
    const char *between; /* what gst_source appends to its pipeline, written out for gst-launch-1.0 */
    const char *sink;    /* gst_sink's pipeline */
    int max_wrapped;     /* gst_sink's (-1: its default) */
    bool launch;         /* compared with gst-launch-1.0 */
} scenario;

static const scenario scenarios[] = {
    {"1080p RGB: videotestsrc -> fakesink",
     "videotestsrc num-buffers=%llu pattern=black ! video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1",
     "rgb24", 1920, 1080, false, "", "fakesink", -1, true},
    {"  the same, gst_sink copying (max_wrapped 0)",
     "videotestsrc num-buffers=%llu pattern=black ! video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1",
     "rgb24", 1920, 1080, false, "", "fakesink", 0, false},
    {"720p: I420 -> videoconvert -> RGB | videoconvert -> I420",
     "videotestsrc num-buffers=%llu pattern=black ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1",
     "rgb24", 1280, 720, true, " ! videoscale ! videoconvert ! video/x-raw,format=RGB,width=1280,height=720",
     "videoconvert ! video/x-raw,format=I420 ! fakesink", -1, true},
};
#define SCENARIOS (sizeof scenarios / sizeof scenarios[0])

typedef struct gst_result {
    double mqs_fps, launch_fps; /* medians */
    double copy_us;             /* gst_source's report, median */
    long long zero_copy, copied; /* gst_sink's reports, last run */
} gst_result;

/* ---- running things ---- */

/* The graph of scenario `sc` with `frames` frames into env->graph. */
static int write_graph(const bench_env *env, const scenario *sc, unsigned long long frames)
{
    char source[512];
    snprintf(source, sizeof source, sc->source, frames);
    FILE *f = fopen(env->graph, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "name: mqbench-gst\n"
            "blocks:\n"
            "  src:\n"
            "    type: gst_source\n"
            "    params: { pipeline: \"%s\", format: %s, width: %u, height: %u, convert: %s }\n"
            "  sink:\n"
            "    type: gst_sink\n"
            "    inputs: { in: src.out }\n"
            "    params: { pipeline: \"%s\", max_wrapped: %d }\n",
            source, sc->format, sc->width, sc->height, sc->convert ? "true" : "false", sc->sink, sc->max_wrapped);
    return fclose(f) == 0 ? 0 : -EIO;
}

static int64_t run_mqs(const bench_env *env, const scenario *sc, unsigned long long frames)
{
    int rc = write_graph(env, sc, frames);
    return rc < 0 ? rc : bench_run_graph(env);
}

static int64_t run_launch(const bench_env *env, const scenario *sc, unsigned long long frames)
{
    char source[512], desc[1024];
    snprintf(source, sizeof source, sc->source, frames);
    snprintf(desc, sizeof desc, "%s%s ! queue ! %s", source, sc->between, sc->sink);
    char *argv[64] = {"gst-launch-1.0", "-q"};
    int n = 2;
    /* One word per argument: gst-launch-1.0 escapes the spaces inside one. */
    for (char *save = NULL, *w = strtok_r(desc, " ", &save); w && n < 63; w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    argv[n] = NULL;
    return bench_run_timed(env, argv);
}

/* One side of one scenario (bench_timed_fn's arg). */
typedef struct side_run {
    const bench_env *env;
    const scenario *sc;
    bool mqs;
} side_run;

static int64_t run_side(void *arg, uint64_t frames)
{
    const side_run *r = arg;
    return r->mqs ? run_mqs(r->env, r->sc, frames) : run_launch(r->env, r->sc, frames);
}

/* Steady frames/s of one side: runs of `frames` and of WARMUP_FRAMES, the start subtracted. */
static int measure(const bench_env *env, const scenario *sc, bool mqs, unsigned long long frames, double *fps)
{
    side_run r = {env, sc, mqs};
    return bench_steady(run_side, &r, WARMUP_FRAMES, frames, 1, fps, NULL);
}

/* ---- the baseline copy ---- */

/* Median time of one memcpy of a `size`-byte frame, in us, the way
 * gst_source copies: a frame just written (by the decoder, here by memset,
 * not timed), from a ring of MEMCPY_SRC (appsink's buffers), into a ring of
 * MEMCPY_DST (the pool's slots, written one frame in MEMCPY_DST). */
static double memcpy_us(size_t size)
{
    uint8_t *src = malloc(size * MEMCPY_SRC), *dst = malloc(size * MEMCPY_DST);
    double runs[MEMCPY_RUNS];
    if (!src || !dst) {
        free(src);
        free(dst);
        return -1;
    }
    memset(src, 0x5a, size * MEMCPY_SRC);
    memset(dst, 0xa5, size * MEMCPY_DST);
    for (int i = 0; i < MEMCPY_RUNS; i++) {
        uint8_t *from = src + (size_t)(i % MEMCPY_SRC) * size, *to = dst + (size_t)(i % MEMCPY_DST) * size;
        memset(from, i, size);
        int64_t t0 = mqs_now_ns();
        memcpy(to, from, size);
        runs[i] = (double)(mqs_now_ns() - t0) / 1e3;
        from[i] = to[size - 1 - (size_t)i]; /* the copy is used: not optimized away */
    }
    free(src);
    free(dst);
    return bench_median(runs, MEMCPY_RUNS);
}

/* ---- driver ---- */

/* TRIALS alternating rounds over every scenario, both sides; medians into res. */
static int run_all(const bench_env *env, unsigned long long frames, gst_result *res)
{
    double mqs[SCENARIOS][TRIALS], launch[SCENARIOS][TRIALS], copy[SCENARIOS][TRIALS];
    for (int t = 0; t < TRIALS; t++)
        for (size_t s = 0; s < SCENARIOS; s++) {
            const scenario *sc = &scenarios[s];
            int rc = measure(env, sc, true, frames, &mqs[s][t]);
            copy[s][t] = bench_stats_report(env, "src", "copy_us");
            res[s].zero_copy = (long long)bench_stats_report(env, "sink", "zero_copy");
            res[s].copied = (long long)bench_stats_report(env, "sink", "copied");
            launch[s][t] = 0;
            if (rc == 0 && sc->launch)
                rc = measure(env, sc, false, frames, &launch[s][t]);
            if (rc < 0) {
                bench_show_failure(env, "gst", sc->name, rc);
                return rc;
            }
        }
    for (size_t s = 0; s < SCENARIOS; s++) {
        res[s].mqs_fps = bench_median(mqs[s], TRIALS);
        res[s].launch_fps = bench_median(launch[s], TRIALS);
        res[s].copy_us = bench_median(copy[s], TRIALS);
    }
    return 0;
}

/* gst_source's copy against a memcpy; the 720p scenario (r[2]) against gst-launch. */
static void gst_targets(const gst_result *r, double copy_base, bench_target t[2])
{
    double ratio = r[2].launch_fps > 0 ? r[2].mqs_fps / r[2].launch_fps : 0;
    bench_target_set(&t[0], "gst_source's copy <= 1.5x a memcpy of the frame", "%.2fx", r[0].copy_us / copy_base,
                     r[0].copy_us <= 1.5 * copy_base);
    bench_target_set(&t[1], "720p with videoconvert on each side, mqrun >= 0.8x gst-launch", "%.2fx", ratio,
                     ratio >= 0.8);
}

static void print_json(const gst_result *r, unsigned long long frames, double copy_base)
{
    printf("{\"bench\":\"gst\",\"frames\":%llu,\"warmup_frames\":%d,\"trials\":%d,\"results\":[", frames,
           WARMUP_FRAMES, TRIALS);
    for (size_t s = 0; s < SCENARIOS; s++)
        printf("%s{\"scenario\":\"%s\",\"mqrun_fps\":%.1f,\"gst_launch_fps\":%.1f,\"zero_copy\":%lld,\"copied\":%lld,"
               "\"source_copy_us\":%.1f}",
               s ? "," : "", scenarios[s].name + strspn(scenarios[s].name, " "), r[s].mqs_fps, r[s].launch_fps,
               r[s].zero_copy, r[s].copied, r[s].copy_us);
    printf("],\"copy\":{\"frame_bytes\":%llu,\"gst_source_copy_us\":%.1f,\"memcpy_us\":%.1f}", FRAME_1080P_RGB,
           r[0].copy_us, copy_base);
    bench_target t[2];
    gst_targets(r, copy_base, t);
    bench_json_targets(t, 2);
    printf("}\n");
}

static void print_table(const gst_result *r, unsigned long long frames, double copy_base)
{
    printf("gst_source -> gst_sink through mqrun (two workers) vs the same description in one gst-launch-1.0\n"
           "(a queue where the graph splits), %llu frames, frames/s (higher is better)\n\n", frames);
    printf("%-58s %10s %11s %9s %10s %8s\n", "scenario", "mqrun", "gst-launch", "mqrun/gst", "zero_copy", "copied");
    for (size_t s = 0; s < SCENARIOS; s++) {
        char ratio[16] = "-", launch[16] = "-";
        if (scenarios[s].launch && r[s].launch_fps > 0) {
            snprintf(ratio, sizeof ratio, "%.2fx", r[s].mqs_fps / r[s].launch_fps);
            snprintf(launch, sizeof launch, "%.0f", r[s].launch_fps);
        }
        printf("%-58s %10.0f %11s %9s %10lld %8lld\n", scenarios[s].name, r[s].mqs_fps, launch, ratio, r[s].zero_copy,
               r[s].copied);
    }
    printf("\nmedians of %d alternating trials; frames/s = (N - %d) / (t(N frames) - t(%d frames)): start-up and the\n"
           "first write of each pool slot excluded\n", TRIALS, WARMUP_FRAMES, WARMUP_FRAMES);
    printf("\nthe copy in gst_source (appsink memory -> pool slot), 1080p rgb24 (%llu bytes): %.0f us/frame\n"
           "a memcpy of a frame just written, %d source and %d destination frames in turn: %.0f us (%.1f GB/s)\n",
           FRAME_1080P_RGB, r[0].copy_us, MEMCPY_SRC, MEMCPY_DST, copy_base, (double)FRAME_1080P_RGB / copy_base / 1e3);
    bench_target t[2];
    gst_targets(r, copy_base, t);
    bench_print_targets(t, 2);
}

/* ---- setup ---- */

/* Whether gst-launch-1.0 runs and mqrun lists the gst blocks; else `why`. */
static bool gst_available(const bench_env *env, char *why, size_t cap)
{
    char *version[] = {"gst-launch-1.0", "--version", NULL};
    if (bench_run_timed(env, version) < 0) {
        snprintf(why, cap, "gst-launch-1.0 does not run (install GStreamer: tools/install-deps.sh)");
        return false;
    }
    if (!bench_has_block(env, "gst_source") || !bench_has_block(env, "gst_sink")) {
        snprintf(why, cap, "mqrun has no gst_source and gst_sink blocks (they are built when pkg-config finds "
                           "gstreamer-1.0, gstreamer-app-1.0 and gstreamer-video-1.0)");
        return false;
    }
    return true;
}

static void gst_usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench gst [--json] [--frames N]\n"
            "  gst_source -> gst_sink through mqrun against the same description in one gst-launch-1.0\n"
            "  (1080p RGB to fakesink, with gst_sink lending and copying; 720p with videoconvert on each side),\n"
            "  medians of %d alternating trials, and gst_source's copy against a memcpy of a 1080p frame.\n"
            "  --json      print {\"bench\":\"gst\",...} instead of the table\n"
            "  --frames N  frames per run (default %d, more than %d; each run is also made with %d frames)\n",
            TRIALS, DEFAULT_FRAMES, 2 * WARMUP_FRAMES, WARMUP_FRAMES);
}

int bench_gst_main(int argc, char **argv)
{
    bool json = false;
    unsigned long long frames = DEFAULT_FRAMES;
    int rc = bench_parse_frames_json(argc, argv, 2 * WARMUP_FRAMES, &frames, &json, gst_usage);
    if (rc >= 0)
        return rc;
    bench_env env;
    char why[256];
    if (bench_env_setup(&env, "gst") < 0) {
        fprintf(stderr, "mqbench gst: cannot make a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    if (!gst_available(&env, why, sizeof why)) {
        bench_env_cleanup(&env);
        printf(json ? "{\"bench\":\"gst\",\"skipped\":\"%s\"}\n" : "mqbench gst: skipped: %s\n", why);
        return 0;
    }
    mqs_domain_remove_stale("mqbench-gst");
    gst_result res[SCENARIOS] = {0};
    rc = run_all(&env, frames, res);
    bench_env_cleanup(&env);
    if (rc < 0)
        return 1;
    double base = memcpy_us(FRAME_1080P_RGB);
    if (json)
        print_json(res, frames, base);
    else
        print_table(res, frames, base);
    return 0;
}
