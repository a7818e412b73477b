/* mqbench video: one real job, the same in mqrun and in gst-launch-1.0.
 *
 * A 1080p rgb24 test pattern turned to gray8, scaled to 1280x720 and
 * dropped, as fast as it goes: pattern_source -> grayscale -> scale ->
 * null_sink run by mqrun (a process per block, frames in shared memory),
 * and videotestsrc ! videoconvert ! videoscale ! fakesink in one
 * gst-launch-1.0 with a queue between elements (a streaming thread per
 * element, as the graph has a process per block). The sides alternate,
 * TRIALS times; medians.
 *
 * frames/s = (N - W) / (t(N) - t(W)) and CPU/frame = (cpu(N) - cpu(W)) /
 * (N - W), from whole runs of N and of W = WARMUP_FRAMES frames: process
 * and GStreamer start-up, and the first write of every pool slot, cancel
 * out. CPU is user + system of the whole job: mqrun waits for its workers,
 * so their time is in its children's rusage.
 *
 * What differs, beyond the runtimes: pattern_source draws its colour bars
 * once and copies them into every frame, videotestsrc draws SMPTE bars into
 * every frame; both lumas are full-range BT.601, rounded differently (red:
 * 77 here, 76 there); both scales are bilinear, ours in 8-bit fixed point.
 * The GStreamer side is skipped (exit 0, said why) when gst-launch-1.0
 * cannot run the description. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mqs/mqs.h>

#include "bench_graph.h"
#include "bench_video.h"

#define TRIALS 3
#define DEFAULT_FRAMES 600
#define WARMUP_FRAMES 30 /* the short run: start-up, and a first pass over every pool's 8 slots (page faults) */
#define GRAPH_NAME "mqbench-video"
#define OUT_WIDTH 1280
#define OUT_HEIGHT 720

/* The gst-launch-1.0 description, one argument a word; %llu: the frame count. */
static const char *const launch_words[] = {
    "videotestsrc", "num-buffers=%llu", "pattern=smpte", "!", "video/x-raw,format=RGB,width=1920,height=1080", "!",
    "queue", "!", "videoconvert", "!", "video/x-raw,format=GRAY8", "!",
    "queue", "!", "videoscale", "!", "video/x-raw,width=1280,height=720", "!",
    "queue", "!", "fakesink",
};
#define LAUNCH_WORDS (sizeof launch_words / sizeof launch_words[0])

enum { SIDE_MQRUN, SIDE_GST, SIDES };

static const char *const side_names[SIDES] = {"mqrun", "gstreamer"};
static const char *const side_labels[SIDES] = {"mqrun (a process per block)", "gst-launch-1.0 (a thread per element)"};

typedef struct side_result {
    double fps, cpu_s; /* medians: frames/s, CPU seconds per frame */
} side_result;

/* ---- running things ---- */

static int write_graph(const bench_env *env, unsigned long long frames)
{
    FILE *f = fopen(env->graph, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "name: " GRAPH_NAME "\n"
            "blocks:\n"
            "  src:\n"
            "    type: pattern_source\n"
            "    params: { width: 1920, height: 1080, format: rgb24, fps: 0, count: %llu }\n"
            "  gray: { type: grayscale, inputs: { in: src.out } }\n"
            "  scale: { type: scale, inputs: { in: gray.out }, params: { width: %d, height: %d } }\n"
            "  sink: { type: null_sink, inputs: { in: scale.out } }\n",
            frames, OUT_WIDTH, OUT_HEIGHT);
    return fclose(f) == 0 ? 0 : -EIO;
}

static int64_t run_mqrun(const bench_env *env, unsigned long long frames)
{
    int rc = write_graph(env, frames);
    return rc < 0 ? rc : bench_run_graph(env);
}

static int64_t run_launch(const bench_env *env, unsigned long long frames)
{
    char count[32];
    char *argv[LAUNCH_WORDS + 3] = {"gst-launch-1.0", "-q"};
    snprintf(count, sizeof count, launch_words[1], frames);
    for (size_t i = 0; i < LAUNCH_WORDS; i++)
        argv[i + 2] = i == 1 ? count : (char *)launch_words[i];
    argv[LAUNCH_WORDS + 2] = NULL;
    return bench_run_timed(env, argv);
}

/* One side (bench_timed_fn's arg). */
typedef struct side_run {
    const bench_env *env;
    int side;
} side_run;

static int64_t run_side(void *arg, uint64_t frames)
{
    const side_run *r = arg;
    return r->side == SIDE_MQRUN ? run_mqrun(r->env, frames) : run_launch(r->env, frames);
}

/* Steady frames/s and CPU seconds per frame of one side: runs of `frames`
 * and of WARMUP_FRAMES, the start subtracted. */
static int measure(const bench_env *env, int side, unsigned long long frames, double *fps, double *cpu_s)
{
    side_run r = {env, side};
    return bench_steady(run_side, &r, WARMUP_FRAMES, frames, 1, fps, cpu_s);
}

/* TRIALS alternating rounds, the GStreamer side only when `gst`; medians into res. */
static int run_all(const bench_env *env, unsigned long long frames, bool gst, side_result *res)
{
    double fps[SIDES][TRIALS], cpu[SIDES][TRIALS];
    for (int t = 0; t < TRIALS; t++)
        for (int s = 0; s < (gst ? SIDES : 1); s++) {
            int rc = measure(env, s, frames, &fps[s][t], &cpu[s][t]);
            if (rc < 0) {
                bench_show_failure(env, "video", side_labels[s], rc);
                return rc;
            }
        }
    for (int s = 0; s < (gst ? SIDES : 1); s++)
        res[s] = (side_result){bench_median(fps[s], TRIALS), bench_median(cpu[s], TRIALS)};
    return 0;
}

/* ---- output ---- */

static void print_json(const side_result *r, unsigned long long frames, const char *skipped)
{
    printf("{\"bench\":\"video\",\"frames\":%llu,\"warmup_frames\":%d,\"trials\":%d,\"results\":[", frames,
           WARMUP_FRAMES, TRIALS);
    for (int s = 0; s < (skipped ? 1 : SIDES); s++)
        printf("%s{\"name\":\"%s\",\"frames_per_s\":%.1f,\"cpu_s_per_frame\":%.6f}", s ? "," : "", side_names[s],
               r[s].fps, r[s].cpu_s);
    if (skipped) {
        printf("],\"gstreamer_skipped\":\"%s\",\"target\":{\"mqrun_vs_gstreamer\":1.0,\"ratio\":null,\"pass\":null}}\n",
               skipped);
        return;
    }
    double ratio = r[SIDE_GST].fps > 0 ? r[SIDE_MQRUN].fps / r[SIDE_GST].fps : 0;
    printf("],\"target\":{\"mqrun_vs_gstreamer\":1.0,\"ratio\":%.3f,\"pass\":%s}}\n", ratio,
           ratio >= 1.0 ? "true" : "false");
}

static void print_table(const side_result *r, unsigned long long frames, const char *skipped)
{
    printf("1080p rgb24 test pattern -> grayscale -> scale to %dx%d -> sink, %llu frames, as fast as it goes:\n"
           "mqrun (pattern_source, grayscale, scale, null_sink) vs gst-launch-1.0 (videotestsrc, videoconvert,\n"
           "videoscale, fakesink, a queue between elements)\n\n", OUT_WIDTH, OUT_HEIGHT, frames);
    printf("%-40s %10s %14s\n", "job", "frames/s", "CPU ms/frame");
    for (int s = 0; s < (skipped ? 1 : SIDES); s++)
        printf("%-40s %10.1f %14.2f\n", side_labels[s], r[s].fps, r[s].cpu_s * 1e3);
    printf("\nmedians of %d alternating trials; frames/s = (N - %d) / (t(N frames) - t(%d frames)), CPU = user +\n"
           "system of every process of the job, the same difference per frame: start-up excluded\n",
           TRIALS, WARMUP_FRAMES, WARMUP_FRAMES);
    if (skipped) {
        printf("\nthe GStreamer side was skipped: %s\n"
               "target: mqrun frames/s >= gst-launch frames/s: not measured (no GStreamer)\n", skipped);
        return;
    }
    double ratio = r[SIDE_GST].fps > 0 ? r[SIDE_MQRUN].fps / r[SIDE_GST].fps : 0;
    printf("\ntarget: mqrun frames/s >= gst-launch frames/s: %.2fx  %s\n", ratio, ratio >= 1.0 ? "PASS" : "MISS");
}

/* ---- setup ---- */

/* Whether gst-launch-1.0 runs the description (a frame of it); else `why`. */
static bool gst_available(const bench_env *env, char *why, size_t cap)
{
    char *version[] = {"gst-launch-1.0", "--version", NULL};
    if (bench_run_timed(env, version) < 0) {
        snprintf(why, cap, "gst-launch-1.0 does not run (install GStreamer: tools/install-deps.sh)");
        return false;
    }
    if (run_launch(env, 1) < 0) {
        snprintf(why, cap, "gst-launch-1.0 cannot run videotestsrc ! videoconvert ! videoscale ! fakesink "
                           "(gstreamer1.0-plugins-base missing?)");
        return false;
    }
    return true;
}

static void video_usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench video [--json] [--frames N]\n"
            "  1080p rgb24 test pattern -> grayscale -> scale to 1280x720 -> sink, as fast as it goes, through mqrun\n"
            "  (pattern_source, grayscale, scale, null_sink: a process each) and through gst-launch-1.0\n"
            "  (videotestsrc pattern=smpte ! videoconvert ! videoscale ! fakesink, a queue between elements: a\n"
            "  thread each), medians of %d alternating trials: frames/s, and CPU (user + system of the whole job)\n"
            "  per frame. Not quite the same work: pattern_source copies colour bars drawn once, videotestsrc\n"
            "  draws SMPTE bars into every frame; both lumas are full-range BT.601, rounded differently; both\n"
            "  scales are bilinear. Without GStreamer only mqrun is measured.\n"
            "  --json      print {\"bench\":\"video\",...} instead of the table\n"
            "  --frames N  frames per run (default %d, more than %d; each run is also made with %d frames)\n",
            TRIALS, DEFAULT_FRAMES, 2 * WARMUP_FRAMES, WARMUP_FRAMES);
}

int bench_video_main(int argc, char **argv)
{
    bool json = false;
    unsigned long long frames = DEFAULT_FRAMES;
    int rc = bench_parse_frames_json(argc, argv, 2 * WARMUP_FRAMES, &frames, &json, video_usage);
    if (rc >= 0)
        return rc;
    bench_env env;
    char why[256];
    if (bench_env_setup(&env, "video") < 0) {
        fprintf(stderr, "mqbench video: cannot make a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    bool gst = gst_available(&env, why, sizeof why);
    mqs_domain_remove_stale(GRAPH_NAME);
    side_result res[SIDES] = {0};
    rc = run_all(&env, frames, gst, res);
    bench_env_cleanup(&env);
    if (rc < 0)
        return 1;
    if (json)
        print_json(res, frames, gst ? NULL : why);
    else
        print_table(res, frames, gst ? NULL : why);
    return 0;
}
