#!/bin/sh
# Installs multiqueue-shm into a temporary prefix, builds the example block in
# docs/example-block against the installed SDK with pkg-config alone, and runs
# it in a graph with the installed mqrun. Usage: out_of_tree.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d /tmp/mqstest-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib* | head -n 1)
work="$prefix/work"
mkdir "$work"
cp "$src/docs/example-block/invert.c" "$src/docs/example-block/Makefile" "$src/docs/example-block/invert.yaml" "$work/"
PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C "$work"
# Only the entry symbol is exported.
exported=$(nm -D --defined-only "$work/mqs_block_invert.so" | awk '{print $3}' | grep -v '^_' | sort | tr '\n' ' ')
[ "$exported" = "mqs_block_descriptor_v1 " ] || { echo "exports: $exported"; exit 1; }
# The installed mqrun finds the installed worker and built-in blocks by itself.
env -u MQS_BLOCK_PATH -u MQS_WORKER "$prefix/bin/mqrun" -q "$work/invert.yaml"
echo "out-of-tree block built and ran"
