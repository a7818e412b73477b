/* mqbench gst: gst_source -> gst_sink through mqrun vs one gst-launch-1.0. */
#ifndef MQS_BENCH_GST_H
#define MQS_BENCH_GST_H

int bench_gst_main(int argc, char **argv);

#endif
