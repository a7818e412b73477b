#!/usr/bin/env bash
# Build multiqueue-shm twice (a normal build and an AddressSanitizer +
# UndefinedBehaviorSanitizer build), both with -Werror, and run every test in
# each. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
  local dir=$1; shift
  echo "=== build $dir ($*)"
  cmake -S . -B "$dir" -DMQS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== test $dir"
  ctest --test-dir "$dir" --output-on-failure
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# detect_leaks stays on: a leak is a test failure. tests/lsan.supp names the
# one allocation GLib keeps for the life of a process that loads GStreamer.
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
  run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DMQS_SANITIZE=ON
echo "=== all suites passed"
