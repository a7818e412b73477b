/* mqbench: multiqueue-shm benchmarks. Each measures its baselines in the same
 * run and reports ratios: on shared, noisy machines absolute numbers say
 * little. */
#include <stdio.h>
#include <string.h>

#include <mqs/mqs.h>

#include "bench_gst.h"
#include "bench_latency.h"
#include "bench_python.h"
#include "bench_pipeline.h"
#include "bench_queue.h"
#include "bench_restart.h"
#include "bench_scale.h"
#include "bench_sync.h"
#include "bench_video.h"

typedef struct bench_command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} bench_command;

static const bench_command commands[] = {
    {"queue", bench_queue_main, "one queue, two processes: throughput and latency vs bare ring, pipe, socket"},
    {"pipeline", bench_pipeline_main, "source -> passthrough -> sink, 64 B to 4K frames, vs pipe and socket chains"},
    {"latency", bench_latency_main, "one-way latency p50/p99/p99.9 and CPU per message at real rates, per wait mode, vs pipe and socket chains"},
    {"restart", bench_restart_main, "SIGKILL a block of a running graph N times: detection, reclaim, first buffer vs fork+exec"},
    {"gst", bench_gst_main, "gst_source -> gst_sink through mqrun vs one gst-launch-1.0; gst_source's copy vs memcpy"},
    {"python", bench_python_main, "a passthrough block in Python vs C (1080p, 64x48); a Python tap on a running graph"},
    {"video", bench_video_main, "1080p rgb24 -> grayscale -> scale 720p -> sink: mqrun vs gst-launch-1.0 with queues"},
    {"scale", bench_scale_main, "frames/s and CPU as work grows: cameras into mosaics, longer chains, more sinks"},
    {"sync", bench_sync_main, "aligning 2, 4, 8 inputs per policy: cost vs bare pops, latency with and without hints"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mqbench COMMAND [options]   (mqbench COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mqbench (multiqueue-shm) %s\n", MQS_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "mqbench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
