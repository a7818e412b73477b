#!/usr/bin/env bash
# Fuzz the graph loader and the param validator with libFuzzer:
#   tools/fuzz.sh [--time SECONDS] [--build-dir DIR] [graph|params|all]
# Installs clang and libFuzzer with apt when missing, configures DIR (default
# build-fuzz) with MQS_FUZZ=ON and runs each harness for SECONDS (default 60)
# from its seed corpus tests/fuzz/corpus/<name>. Inputs that reach new code
# are kept in DIR/fuzz-corpus/<name> for the next run (not committed). A
# crash, leak or hang stops that harness; its input is copied into
# tests/fuzz/corpus/<name>/ as found-<what>-<hash>, from where the test
# fuzz_replay replays it in every build. Exits 1 when anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: tools/fuzz.sh [--time SECONDS] [--build-dir DIR] [graph|params|all]"
seconds=60
build=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds=${2:?$usage}; shift 2 ;;
    --build-dir) build=${2:?$usage}; shift 2 ;;
    graph | params) targets+=("$1"); shift ;;
    all) targets+=(graph params); shift ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' ($usage)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(graph params)
case "$seconds" in '' | *[!0-9]*) echo "fuzz.sh: --time takes whole seconds ($usage)" >&2; exit 2 ;; esac

# Whether clang links a libFuzzer program with the sanitizers we use.
can_fuzz() {
  local dir ok=1
  dir=$(mktemp -d)
  echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$dir/t.c"
  if command -v clang >/dev/null && clang -fsanitize=fuzzer,address,undefined "$dir/t.c" -o "$dir/t" >/dev/null 2>&1; then
    ok=0
  fi
  rm -rf "$dir"
  return $ok
}

tools/install-deps.sh
if ! can_fuzz; then
  echo "installing clang and libFuzzer"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
  can_fuzz || { echo "fuzz.sh: clang cannot link a libFuzzer program (-fsanitize=fuzzer)" >&2; exit 1; }
fi

CC=clang cmake -S . -B "$build" -DMQS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}"

# A short name for what the log says was found: the sanitizer's verdict,
# the file and line of undefined behaviour, or the harness's broken rule.
finding_name() {
  local log=$1 kind=$2 what
  what=$(grep -o -m1 -E 'AddressSanitizer: [a-z-]+|[a-z_]+\.c:[0-9]+:[0-9]+: runtime error|contract broken: [a-z ]+' "$log" |
    sed -E 's/^AddressSanitizer: //; s/^([a-z_]+\.c):([0-9]+):.*/ub-\1-\2/; s/^contract broken: //; s/ +/-/g' |
    cut -c1-40 || true)
  grep -q 'LeakSanitizer' "$log" && what=leak
  echo "found-${kind}${what:+-$what}"
}

found=0
for name in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$name
  work=$build/fuzz-corpus/$name
  artifacts=$build/fuzz-artifacts/$name
  log=$build/fuzz-$name.log
  mkdir -p "$work" "$artifacts" "$build/tmp"
  rm -f "$artifacts"/*
  echo "=== fuzz $name for ${seconds}s (log: $log)"
  set +e
  TMPDIR=$(cd "$build/tmp" && pwd) UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -dict="tests/fuzz/$name.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  grep -m2 -E '^SUMMARY|contract broken|ALARM|^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
  this_found=0
  for artifact in "$artifacts"/*; do
    [ -f "$artifact" ] || continue
    base=$(basename "$artifact") # crash-<sha1>, leak-<sha1>, timeout-<sha1>, oom-<sha1>, slow-unit-<sha1>
    hash=${base##*-}
    target="$seeds/$(finding_name "$log" "${base%%-*}")-${hash:0:12}"
    cp "$artifact" "$target"
    echo "fuzz $name found ${base%%-*}: $target (log: $log)"
    this_found=1
  done
  if [ $rc -ne 0 ] && [ $this_found -eq 0 ]; then
    echo "fuzz.sh: fuzz_$name failed without a reproducer (exit $rc); see $log" >&2
    this_found=1
  fi
  [ $this_found -eq 0 ] || found=1
done
exit $found
