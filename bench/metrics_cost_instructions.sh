#!/usr/bin/env bash
# What metrics cost per proxied request, counted in instructions (valgrind --tool=callgrind), so that the figure
# does not depend on what else the machine is doing: a 3 % difference is below the run-to-run spread of a timed
# benchmark on a shared 2-core VM, an instruction count is exact and repeatable.
#
#   bench/metrics_cost_instructions.sh [--gatehouse PATH] [--duration SECONDS] [--path /bytes/1024]
#
# Starts three `gatehouse upstream` nodes, then gatehouse (one worker, access log off) under callgrind twice:
# [metrics] enabled = true, then false. Each time: warm up with wrk for 1 s, zero the counters, drive wrk
# (10 connections) for SECONDS, dump the counters; instructions / requests answered.
# Prints both and the cost of metrics as a share of gatehouse's own (user-space) instructions per request, and
# as an upper bound on its share of CPU per request (the kernel's work per request, most of the CPU, does not
# change with metrics). Loopback only; everything started is stopped on exit.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEHOUSE="$REPO_ROOT/build/gatehouse"
DURATION=5
TARGET=/
while [[ $# -gt 0 ]]; do
    case $1 in
        --gatehouse) GATEHOUSE=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --path) TARGET=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind wrk curl)" >&2; exit 2; }
done

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

UPSTREAM_PORTS=(13011 13012 13013)
PROXY_PORT=18090
for i in "${!UPSTREAM_PORTS[@]}"; do
    "$GATEHOUSE" upstream --listen "127.0.0.1:${UPSTREAM_PORTS[i]}" --name "node$((i + 1))" >"$TMP/up$i.log" 2>&1 &
    PIDS+=($!)
done

# measure ENABLED: prints "instructions requests"
measure() {
    local enabled=$1 conf="$TMP/gatehouse-$1.toml" out="$TMP/callgrind-$1.out" i
    {
        echo "[proxy]"
        echo "listen = [\"127.0.0.1:$PROXY_PORT\"]"
        echo "workers = 1"
        echo "[upstream]"
        echo "balance = \"round_robin\""
        for i in "${!UPSTREAM_PORTS[@]}"; do
            echo "[[upstream.node]]"
            echo "name = \"node$((i + 1))\""
            echo "address = \"127.0.0.1:${UPSTREAM_PORTS[i]}\""
        done
        echo "[admin]"
        echo "listen = \"\""
        echo "[log]"
        echo "access = \"off\""
        echo "[metrics]"
        echo "enabled = $enabled"
    } >"$conf"
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=yes \
        "$GATEHOUSE" serve -c "$conf" >"$TMP/gatehouse-$enabled.log" 2>&1 &
    local pid=$!
    for i in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PROXY_PORT$TARGET" 2>/dev/null && break
        sleep 0.2
    done
    wrk -t1 -c10 -d1s "http://127.0.0.1:$PROXY_PORT$TARGET" >/dev/null 2>&1   # warm-up: pools, caches
    callgrind_control -z "$pid" >/dev/null 2>&1
    wrk -t1 -c10 -d"${DURATION}s" "http://127.0.0.1:$PROXY_PORT$TARGET" >"$TMP/wrk-$enabled.txt" 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local requests dump instructions
    requests=$(grep -oP '^\s*\K\d+(?= requests in)' "$TMP/wrk-$enabled.txt")
    # the dump taken right after the measured run is "$out.1" (the one at exit is "$out")
    dump="$out.1"
    [[ -f $dump ]] || { echo "no callgrind dump $dump" >&2; exit 1; }
    instructions=$(grep -m1 -oP '^(summary|totals): \K[0-9]+' "$dump")
    echo "$instructions $requests"
}

read -r on_instr on_req < <(measure true)
read -r off_instr off_req < <(measure false)
python3 - "$on_instr" "$on_req" "$off_instr" "$off_req" "$TARGET" "$DURATION" <<'EOF'
import sys
on_i, on_r, off_i, off_r = (int(x) for x in sys.argv[1:5])
target, duration = sys.argv[5], sys.argv[6]
on, off = on_i / on_r, off_i / off_r
print(f"gatehouse user-space instructions per request (valgrind callgrind, GET {target}, wrk -c10 for {duration} s):")
print(f"  metrics on:  {on:10.0f}  ({on_r} requests)")
print(f"  metrics off: {off:10.0f}  ({off_r} requests)")
print(f"  metrics cost: {on - off:+.0f} instructions per request = {100 * (on - off) / off:+.2f} % of gatehouse's own")
print("  (its share of CPU per request is smaller still: most of the CPU per request is the kernel's, which")
print("   metrics do not change; bench/proxy_bench.sh --metrics-cost shows the timed comparison)")
EOF
