/* mqbench video. */
#ifndef MQS_BENCH_VIDEO_H
#define MQS_BENCH_VIDEO_H

int bench_video_main(int argc, char **argv);

#endif
