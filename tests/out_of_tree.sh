#!/bin/sh
# Installs multiqueue-shm into a temporary prefix, builds the example blocks in
# docs/example-block against the installed SDK with pkg-config alone, and runs
# them in graphs with the installed mqrun: invert (a transform), and pairs,
# whose two inputs the graph aligns and which checks every set it gets.
# Usage: out_of_tree.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d /tmp/mqstest-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib* | head -n 1)
work="$prefix/work"
mkdir "$work"
cp "$src"/docs/example-block/*.c "$src"/docs/example-block/*.yaml "$src/docs/example-block/Makefile" "$work/"
PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C "$work"
# Only the entry symbol is exported.
for so in "$work"/mqs_block_*.so; do
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort | tr '\n' ' ')
  [ "$exported" = "mqs_block_descriptor_v1 " ] || { echo "$so exports: $exported"; exit 1; }
done
# The installed mqrun finds the installed worker and built-in blocks by itself.
env -u MQS_BLOCK_PATH -u MQS_WORKER "$prefix/bin/mqrun" -q "$work/invert.yaml"
# 50 frames of two cameras on one trigger: 50 exact pairs, none wrong, none partial.
(cd "$work" && env -u MQS_BLOCK_PATH -u MQS_WORKER "$prefix/bin/mqrun" -q --set "pairs.report=$work/pairs.json" pairs.yaml)
report=$(cat "$work/pairs.json")
[ "$report" = '{"sets":50,"bad":0,"partial":0}' ] || { echo "pairs report: $report"; exit 1; }
echo "out-of-tree blocks built and ran: invert, and pairs with aligned inputs ($report)"
