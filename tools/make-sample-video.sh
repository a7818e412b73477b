#!/bin/sh
# Writes a short H.264 MP4 test video with GStreamer (videotestsrc, x264enc,
# mp4mux): the input of graphs/transcode.yaml.
#   tools/make-sample-video.sh [FILE] [FRAMES] [WIDTHxHEIGHT]
# Defaults: sample.mp4, 150 frames (5 s at 30 fps), 1280x720.
set -eu
file=${1:-sample.mp4}
frames=${2:-150}
size=${3:-1280x720}
width=${size%x*}
height=${size#*x}
if ! command -v gst-launch-1.0 >/dev/null 2>&1; then
  echo "make-sample-video.sh: gst-launch-1.0 not found (install gstreamer1.0-tools and the plugins: tools/install-deps.sh)" >&2
  exit 1
fi
gst-launch-1.0 -q videotestsrc num-buffers="$frames" pattern=ball \
  ! "video/x-raw,width=$width,height=$height,framerate=30/1" \
  ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=veryfast key-int-max=30 ! h264parse ! mp4mux \
  ! filesink location="$file"
echo "wrote $file: $frames frames, ${width}x$height, 30 fps, H.264 in MP4"
