#!/usr/bin/env bash
# soak.sh: crash recovery under load for a long while. Runs a graph at full
# speed with fan-out (src feeds pass -> sink_a and, through a drop_oldest
# input, gray -> sink_b), SIGKILLs a random non-source block about once a
# second (each restarts at once: restart: always, no limit, 1 ms backoff), and
# reports buffers moved, restarts, references reclaimed, the RSS of mqrun and
# its workers and the /dev/shm use after the warm-up and at the end, and the
# buffers still in use once the graph drained, which must be 0 (else exit 1).
#
#   bench/soak.sh [--build DIR] [DURATION]     DURATION: 90, 30s, 10m, 1h (default 10m)
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/soak.sh [--build DIR] [DURATION]
  Run a fan-out graph at full speed under mqrun for DURATION (90, 30s, 10m, 1h; default 10m),
  SIGKILL a random non-source block about once a second, then report buffers moved, restarts,
  references reclaimed, RSS and /dev/shm use after the warm-up and at the end, and the pools'
  buffers in use after the graph drained (must be 0: exit status 1 otherwise).
  --build DIR   the build tree whose bin/mqrun to run (default build)
EOF
}

build=build
duration=10m
while [ $# -gt 0 ]; do
    case $1 in
    -b | --build) [ $# -ge 2 ] || { usage >&2; exit 2; }; build=$2; shift 2 ;;
    --build=*) build=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) duration=$1; shift ;;
    esac
done

# 90, 30s, 10m, 1h -> seconds; fails on anything else.
seconds_of() {
    local n=${1%[smh]}
    case $n in '' | *[!0-9]*) return 1 ;; esac
    case $1 in
    *m) echo $((n * 60)) ;;
    *h) echo $((n * 3600)) ;;
    *) echo $((n)) ;;
    esac
}

total=$(seconds_of "$duration") || { echo "soak.sh: bad duration '$duration' (hint: e.g. 90, 30s, 10m, 1h)" >&2; exit 2; }
[ "$total" -ge 4 ] || { echo "soak.sh: duration $duration is too short (hint: 4s or more)" >&2; exit 2; }
mqrun=$build/bin/mqrun
[ -x "$mqrun" ] || { echo "soak.sh: no $mqrun (hint: build first, or give the build tree with --build DIR)" >&2; exit 2; }
warmup=$((total >= 12 ? 3 : total / 4))
name=soak-$$
shm_prefix=/dev/shm/mqs.$(id -u).$name.
blocks=(pass gray sink_a sink_b) # every block but the source
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mqs-soak.XXXXXX")
mqrun_pid=

# ---- processes ----

# A process that runs (not gone, not a zombie waiting to be reaped).
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Waits up to $2 tenths of a second for pid $1 to end.
wait_gone() {
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    ! alive "$1"
}

# Stops our mqrun (SIGINT: it drains and removes its objects; SIGKILL if it hangs) and removes what we made.
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$mqrun_pid" ] && alive "$mqrun_pid"; then
        kill -INT "$mqrun_pid" 2>/dev/null || true
        if ! wait_gone "$mqrun_pid" 150; then
            kill -KILL "$mqrun_pid" 2>/dev/null || true
            wait_gone "$mqrun_pid" 20 || true
            sleep 1 # its workers end on their parent-death signal; then nothing uses the objects
            rm -f "$shm_prefix"*
        fi
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The pid of the worker running block $1 (a child of our mqrun), or nothing.
worker_of() {
    local p cmd
    for p in $(pgrep -P "$mqrun_pid" 2>/dev/null); do
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
        case " $cmd" in *mqs-worker*" --instance $1 "*) alive "$p" && { echo "$p"; return; } ;; esac
    done
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

workers_rss_kb() {
    local p sum=0
    for p in $(pgrep -P "$mqrun_pid" 2>/dev/null); do sum=$((sum + $(rss_kb "$p"))); done
    echo "$sum"
}

shm_kb() {
    local files=("$shm_prefix"*)
    [ -e "${files[0]}" ] || { echo 0; return; }
    du -ck "${files[@]}" | awk 'END {print $1}'
}

# ---- the graph ----

restart_keys='    restart: always
    max_restarts: 0
    backoff: 1ms
    max_backoff: 1ms'
cat >"$tmp/graph.yaml" <<EOF
name: $name
blocks:
  src: { type: pattern_source, params: { width: 64, height: 48, fps: 0 } }
  pass:
    type: passthrough
    inputs: { in: src.out }
$restart_keys
  gray:
    type: grayscale
    inputs: { in: { from: src.out, depth: 4, policy: drop_oldest } }
$restart_keys
  sink_a:
    type: null_sink
    inputs: { in: pass.out }
$restart_keys
  sink_b:
    type: null_sink
    inputs: { in: gray.out }
$restart_keys
EOF

# ---- run ----

# Its own session: Ctrl-C reaches the script alone, which stops mqrun once, in
# order. --duration: it ends on its own even if this script is killed.
setsid "$mqrun" -v --stats-json "$tmp/stats.jsonl" --duration "$((total + 60))s" "$tmp/graph.yaml" \
    >/dev/null 2>"$tmp/mqrun.log" &
mqrun_pid=$!
for ((i = 0; i < 300; i++)); do
    grep -q 'graph started' "$tmp/mqrun.log" 2>/dev/null && break
    alive "$mqrun_pid" || break
    sleep 0.1
done
grep -q 'graph started' "$tmp/mqrun.log" || { echo "soak.sh: the graph did not start:" >&2; cat "$tmp/mqrun.log" >&2; exit 1; }
echo "soak.sh: $name running for ${total}s (${warmup}s warm-up, then a kill about every second)" >&2

sleep "$warmup"
rss_mqrun_start=$(rss_kb "$mqrun_pid")
rss_src_start=$(rss_kb "$(worker_of src)")
rss_workers_start=$(workers_rss_kb)
shm_start=$(shm_kb)
# The first deaths touch code and heap that no run had needed yet (reclaim,
# fork, restart): memory is compared from the end of that settling on, when
# only a leak could still make it grow.
settle=$(((total - warmup) / 10))
[ "$settle" -ge 10 ] || settle=10
settled_at=$((SECONDS + settle))
rss_mqrun_settled=

declare -A killed=()
kills=0
end=$((SECONDS + total - warmup - 1))
while [ "$SECONDS" -lt "$end" ]; do
    ms=$((800 + RANDOM % 400)) # 0.8 to 1.2 s
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    b=${blocks[RANDOM % ${#blocks[@]}]}
    pid=$(worker_of "$b")
    if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
        kills=$((kills + 1))
        killed[$b]=$((${killed[$b]:-0} + 1))
    fi
    alive "$mqrun_pid" || { echo "soak.sh: mqrun ended early:" >&2; tail -n 20 "$tmp/mqrun.log" >&2; exit 1; }
    if [ -z "$rss_mqrun_settled" ] && [ "$SECONDS" -ge "$settled_at" ]; then
        rss_mqrun_settled=$(rss_kb "$mqrun_pid")
        rss_src_settled=$(rss_kb "$(worker_of src)")
        rss_workers_settled=$(workers_rss_kb)
        shm_settled=$(shm_kb)
    fi
done
if [ -z "$rss_mqrun_settled" ]; then # a run too short to settle: compare with the warm-up
    rss_mqrun_settled=$rss_mqrun_start rss_src_settled=$rss_src_start
    rss_workers_settled=$rss_workers_start shm_settled=$shm_start
fi
sleep 1 # the last kill's restart flows again
rss_mqrun_end=$(rss_kb "$mqrun_pid")
rss_src_end=$(rss_kb "$(worker_of src)")
rss_workers_end=$(workers_rss_kb)
shm_end=$(shm_kb)

kill -INT "$mqrun_pid"
status=0
wait "$mqrun_pid" || status=$?
mqrun_pid=

# ---- report ----

final=$(tail -n 1 "$tmp/stats.jsonl" 2>/dev/null || true)
case $final in *'"final":true'* | *'"final": true'*) ;; *) echo "soak.sh: no final stats line (mqrun status $status):" >&2; tail -n 20 "$tmp/mqrun.log" >&2; exit 1 ;; esac
# Sum of every integer field $1 of the final line (the keys are unique to one section).
sum_of() { { grep -o "\"$1\": *[0-9]*" <<<"$final" || true; } | awk -F: '{s += $2} END {print s + 0}'; }
compare() {
    if [ "$2" -gt "$1" ]; then echo "grew by $(($2 - $1)) kB"; elif [ "$2" -lt "$1" ]; then echo "shrank by $(($1 - $2)) kB"; else echo equal; fi
}
in_use=$(sum_of in_use)
restarts=$(sum_of restarts)
reclaimed_log=$({ grep -o 'reclaimed [0-9]* buffer references' "$tmp/mqrun.log" || true; } | awk '{s += $2} END {print s + 0}')
per_block=$(for b in "${blocks[@]}"; do printf ' %s %d' "$b" "${killed[$b]:-0}"; done)

echo "soak: ${total}s (${warmup}s warm-up): src -> pass -> sink_a, src -> gray (drop_oldest) -> sink_b, at full speed"
echo "kills: $kills (${per_block# }), restarts: $restarts"
echo "buffers moved: $(sum_of popped) (popped over 4 connections), frames made: $(sum_of allocs), dropped: $(sum_of dropped)"
echo "references reclaimed: $(sum_of reclaimed) (stats), $reclaimed_log (mqrun -v log)"
printf '%-26s %13s %13s %13s   %s\n' "" "after warm-up" "settled (${settle}s)" "at the end" "settled -> end"
row() { printf '%-26s %13s %13s %13s   %s\n' "$1" "$2" "$3" "$4" "$(compare "$3" "$4")"; }
row "mqrun RSS (kB)" "$rss_mqrun_start" "$rss_mqrun_settled" "$rss_mqrun_end"
row "src worker RSS (kB)" "$rss_src_start" "$rss_src_settled" "$rss_src_end"
row "/dev/shm (kB)" "$shm_start" "$shm_settled" "$shm_end"
# Restarted workers start small and touch pool pages as they run: their sum
# says how long each has lived, not whether anything leaks.
row "all workers RSS (kB)" "$rss_workers_start" "$rss_workers_settled" "$rss_workers_end"
echo "pools in use at the end: $in_use"
case $status in
0) echo "mqrun exit status: 0" ;;
1) echo "mqrun exit status: 1 (a block failed: the kills)" ;;
*) echo "mqrun exit status: $status (see docs/running.md#exit-status)" ;;
esac
[ "$kills" -eq "$restarts" ] || echo "soak.sh: warning: $kills kills but $restarts restarts" >&2
[ "$in_use" -eq 0 ] && [ "$status" -le 1 ]
