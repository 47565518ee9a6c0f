#!/usr/bin/env bash
# gatehouse vs Nginx vs HAProxy, in one run on one machine, against the same three demo upstreams.
#
#   bench/proxy_bench.sh [--gatehouse PATH] [--duration SECONDS] [--quick] [--out FILE]
#                        [--connections 50,1000] [--responses small,1KiB,64KiB]
#
# Three `gatehouse upstream` nodes (127.0.0.1:13001-13003) and wrk run on core 0; each proxy runs on core 1,
# alone there. Every proxy: one worker, keep-alive to clients and to the nodes, round robin, no access log.
# Prints a markdown table (req/s, p50/p99, proxy CPU per request, RSS, new node connections per 1,000 requests,
# errors) and gatehouse/other ratios.
# Loopback only. Everything it starts is stopped on exit; configs and logs live in a mktemp -d directory.
# See bench/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORT_PY="$REPO_ROOT/bench/bench_report.py"

GATEHOUSE="$REPO_ROOT/build/gatehouse"
DURATION=10
QUICK=0
OUT=""
DURATION_SET=0
KEEP_TMP=0
WAIT_IDLE=0
WARMUP=1

UPSTREAM_PORTS=(13001 13002 13003)
declare -A PROXY_PORT=([gatehouse]=18080 [nginx]=18081 [haproxy]=18082 [gatehouse_nometrics]=18083)
declare -A ADMIN_PORT=([gatehouse]=18088 [gatehouse_nometrics]=18089)
PROXIES=(gatehouse nginx haproxy)
METRICS_COST=0
UPSTREAM_KEEPALIVE=64        # Nginx's and HAProxy's idle connections to the nodes, per node (gatehouse: its default)
CONNECTIONS_ARG=""
RESPONSES_ARG=
LOAD_CPU=0                   # wrk + upstreams
PROXY_CPU=1                  # the proxy under test, alone

usage() {
    cat <<EOF
usage: bench/proxy_bench.sh [options]
  --gatehouse PATH     gatehouse binary (default: build/gatehouse in the repository)
  --duration SECONDS   length of each measured run (default 10)
  --quick              small response only, 50 and 1000 connections, 3 s runs (unless --duration)
  --connections LIST   client connection counts, comma-separated (default 50,1000)
  --responses LIST     which answers: small, 1KiB, 64KiB, comma-separated (default all; --quick: small)
  --node-keepalive N   idle node connections Nginx and HAProxy may keep per node (default 64; gatehouse: by demand)
  --out FILE           also write the markdown report to FILE
  --keep-tmp           keep the temporary directory (configs, logs, raw wrk output)
  --wait-idle SECONDS  first wait up to SECONDS for both cores to be idle (< 10 % busy over 2 s)
  --metrics-cost       compare gatehouse with metrics on (the default) against metrics off
                       ([metrics] enabled = false) instead of against nginx and haproxy
  -h, --help           this text
EOF
}

die() { echo "proxy_bench: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --gatehouse) [[ $# -ge 2 ]] || die "--gatehouse needs a path"; GATEHOUSE=$2; shift 2 ;;
        --gatehouse=*) GATEHOUSE=${1#*=}; shift ;;
        --duration) [[ $# -ge 2 ]] || die "--duration needs a number"; DURATION=$2; DURATION_SET=1; shift 2 ;;
        --duration=*) DURATION=${1#*=}; DURATION_SET=1; shift ;;
        --quick) QUICK=1; shift ;;
        --connections) [[ $# -ge 2 ]] || die "--connections needs a list"; CONNECTIONS_ARG=$2; shift 2 ;;
        --responses) [[ $# -ge 2 ]] || die "--responses needs a list"; RESPONSES_ARG=$2; shift 2 ;;
        --node-keepalive) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "--node-keepalive needs a count"
                          UPSTREAM_KEEPALIVE=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a file"; OUT=$2; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --keep-tmp) KEEP_TMP=1; shift ;;
        --metrics-cost) METRICS_COST=1; shift ;;
        --wait-idle) [[ $# -ge 2 ]] || die "--wait-idle needs a number"; WAIT_IDLE=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

if [[ $QUICK -eq 1 ]]; then
    [[ $DURATION_SET -eq 1 ]] || DURATION=3
    SCENARIOS=("small:/")
else
    SCENARIOS=("small:/" "1KiB:/bytes/1024" "64KiB:/bytes/65536")
fi
CONNECTIONS=(50 1000)
if [[ -n $CONNECTIONS_ARG ]]; then
    IFS=, read -r -a CONNECTIONS <<<"$CONNECTIONS_ARG"
    for c in "${CONNECTIONS[@]}"; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--connections: '$c' is not a count"; done
fi
if [[ -n $RESPONSES_ARG ]]; then
    declare -A RESPONSE_PATH=([small]=/ [1KiB]=/bytes/1024 [64KiB]=/bytes/65536)
    SCENARIOS=()
    IFS=, read -r -a picked <<<"$RESPONSES_ARG"
    for r in "${picked[@]}"; do
        [[ -n ${RESPONSE_PATH[$r]:-} ]] || die "--responses: '$r' is not one of small, 1KiB, 64KiB"
        SCENARIOS+=("$r:${RESPONSE_PATH[$r]}")
    done
fi
if [[ $METRICS_COST -eq 1 ]]; then
    PROXIES=(gatehouse gatehouse_nometrics)
    SCENARIOS=("small:/" "1KiB:/bytes/1024")
fi
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive whole number of seconds"
[[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "--wait-idle must be a whole number of seconds"

# ---------------------------------------------------------------------------------------------- checks
[[ $GATEHOUSE == /* ]] || GATEHOUSE="$REPO_ROOT/$GATEHOUSE"
[[ -x $GATEHOUSE ]] || die "gatehouse binary not found or not executable: $GATEHOUSE (build it, or pass --gatehouse)"
for tool in nginx haproxy wrk taskset curl pgrep python3 getconf; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ -n $OUT ]] && { OUT=$(realpath -m "$OUT"); mkdir -p "$(dirname "$OUT")"; }

NCPU=$(getconf _NPROCESSORS_ONLN)
if [[ $NCPU -lt 2 ]]; then
    echo "proxy_bench: warning: only $NCPU CPU; load generator and proxy share core 0" >&2
    PROXY_CPU=0
fi
CLK_TCK=$(getconf CLK_TCK)

# 1000 client connections plus as many to the nodes need more than the usual 1024 descriptors.
if ! ulimit -n 65536 2>/dev/null; then
    hard=$(ulimit -Hn)
    [[ $hard == unlimited ]] && hard=65536
    ulimit -n "$hard" || true
    echo "proxy_bench: note: cannot raise the open-files limit to 65536; using $(ulimit -n)" >&2
fi
NOFILE=$(ulimit -n)
[[ $NOFILE -ge 4096 ]] || die "open-files limit $NOFILE is too low for 1000 connections (need >= 4096)"
# Per-proxy connection limits derived from it (each proxied request holds a client and a node socket).
MAXCONN=$(( (NOFILE - 256) / 2 )); [[ $MAXCONN -gt 8192 ]] && MAXCONN=8192

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${UPSTREAM_PORTS[@]}" "${PROXY_PORT[@]}"; do
    port_in_use "$p" && die "127.0.0.1:$p is already in use; stop whatever listens there"
done

# ------------------------------------------------------------------------------------- process control
TMP=$(mktemp -d -t gatehouse-bench.XXXXXX)
chmod 755 "$TMP"          # nginx workers drop to nobody and must reach their files
declare -a STARTED=()     # PIDs of everything we started (each also stands for its children)

descendants() {           # PID and all its descendants, one per line
    local p c
    for p in "$@"; do
        echo "$p"
        for c in $(pgrep -P "$p" 2>/dev/null || true); do descendants "$c"; done
    done
}

any_alive() {             # true while one of the PIDs exists and is not a zombie
    local p line
    for p in "$@"; do
        read -r line 2>/dev/null <"/proc/$p/stat" || continue
        line=${line##*) }
        [[ ${line:0:1} != Z ]] && return 0
    done
    return 1
}

stop_pid() {              # TERM the process and its children, KILL whatever is left after 5 s
    local pid=$1 i
    local -a tree
    kill -0 "$pid" 2>/dev/null || return 0
    mapfile -t tree < <(descendants "$pid")
    kill -TERM "${tree[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        any_alive "${tree[@]}" || break
        sleep 0.1
    done
    kill -KILL "${tree[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[i]}"; done
    if [[ $KEEP_TMP -eq 1 || $rc -ne 0 ]]; then
        echo "proxy_bench: logs and configs kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOGFILE CMD...: run CMD in the background (already wrapped in taskset), remember its PID.
LAST_PID=""
start() {
    local name=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    LAST_PID=$!
    STARTED+=("$LAST_PID")
    echo "  started $name (pid $LAST_PID): $*" >&2
}

wait_ready() {            # wait_ready NAME PID PORT LOG: until PORT answers HTTP, or die
    local name=$1 pid=$2 port=$3 log=$4 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$name exited during start-up (log: $log)"; }
        if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    tail -n 20 "$log" >&2
    die "$name did not answer on 127.0.0.1:$port within 10 s"
}

# ------------------------------------------------------------------------------------- measurements
cpu_ticks() {             # utime+stime of the given PIDs (all their threads), in clock ticks
    local total=0 p line rest
    local -a fields
    for p in "$@"; do
        read -r line 2>/dev/null <"/proc/$p/stat" || { echo "proxy_bench: warning: pid $p vanished" >&2; continue; }
        rest=${line##*) }           # the command name may contain spaces and parentheses
        read -ra fields <<<"$rest"  # fields[0] is field 3 (state): utime is field 14, stime field 15
        total=$(( total + fields[11] + fields[12] ))
    done
    echo "$total"
}

rss_kib() {               # summed VmRSS of the given PIDs, KiB
    local total=0 p kb
    for p in "$@"; do
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$(( total + ${kb:-0} ))
    done
    echo "$total"
}

core_stat() {             # "busy total" jiffies of one core from /proc/stat
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

RESULTS="$TMP/results.tsv"
printf 'scenario\tpath\tconns\tproxy\tduration_s\trequests\trps\tp50_ms\tp99_ms\tnon2xx\tconnect\tread\twrite\ttimeout\tcpu_s\tcpu_us_per_req\tcpu_s_per_100k\tcpu_pct\trss_mib\tcore0_pct\tcore1_pct\tnode_conns\n' >"$RESULTS"

node_connections() {      # connections the three demo nodes have accepted so far (each query adds its own)
    local total=0 p n
    for p in "${UPSTREAM_PORTS[@]}"; do
        n=$(curl -fsS --max-time 2 "http://127.0.0.1:$p/__demo/connections" 2>/dev/null || echo 0)
        total=$(( total + n ))
    done
    echo "$total"
}

run_wrk() {               # run_wrk CONNS SECONDS URL OUTFILE
    taskset -c "$LOAD_CPU" wrk -t1 -c"$1" -d"$2"s --timeout 2s --latency "$3" >"$4" 2>&1 || true
}

# measure SCENARIO PATH CONNS PROXY PORT ROOT_PID
measure() {
    local scen=$1 path=$2 conns=$3 proxy=$4 port=$5 root=$6
    local url="http://127.0.0.1:$port$path" raw="$TMP/wrk-$scen-$conns-$proxy.txt"
    local -a pids
    mapfile -t pids < <(descendants "$root")

    run_wrk "$conns" "$WARMUP" "$url" "$TMP/warmup.txt"        # warm-up: pools, caches, page faults
    sleep 0.3

    local c0a c1a c0b c1b t0 t1 cpu0 cpu1 nodes0 nodes1
    nodes0=$(node_connections)
    c0a=$(core_stat "$LOAD_CPU"); c1a=$(core_stat "$PROXY_CPU")
    cpu0=$(cpu_ticks "${pids[@]}"); t0=$EPOCHREALTIME
    run_wrk "$conns" "$DURATION" "$url" "$raw"
    t1=$EPOCHREALTIME; cpu1=$(cpu_ticks "${pids[@]}")
    c0b=$(core_stat "$LOAD_CPU"); c1b=$(core_stat "$PROXY_CPU")
    local rss; rss=$(rss_kib "${pids[@]}")
    nodes1=$(node_connections)
    # New node connections during the run: the difference, less the second query's own 3 connections. Straight
    # to a node ("upstream alone") they are wrk's own, not a proxy's.
    local node_conns=$(( nodes1 - nodes0 - ${#UPSTREAM_PORTS[@]} ))

    local parsed
    parsed=$(python3 "$REPORT_PY" wrk "$raw") || { cat "$raw" >&2; die "wrk run failed: $scen $conns $proxy"; }
    local requests rps p50 p99 non2xx econn eread ewrite etime
    read -r requests rps p50 p99 non2xx econn eread ewrite etime <<<"$parsed"

    local row
    row=$(awk -v d0="$cpu0" -v d1="$cpu1" -v hz="$CLK_TCK" -v n="$requests" -v t0="$t0" -v t1="$t1" \
              -v rss="$rss" -v c0a="$c0a" -v c0b="$c0b" -v c1a="$c1a" -v c1b="$c1b" 'BEGIN {
        split(c0a, a0, " "); split(c0b, b0, " "); split(c1a, a1, " "); split(c1b, b1, " ")
        cpu = (d1 - d0) / hz; wall = t1 - t0
        us = n > 0 ? cpu * 1e6 / n : "nan"; per100k = n > 0 ? cpu * 1e5 / n : "nan"
        pct = wall > 0 ? 100 * cpu / wall : "nan"
        core0 = (b0[2] - a0[2]) > 0 ? 100 * (b0[1] - a0[1]) / (b0[2] - a0[2]) : "nan"
        core1 = (b1[2] - a1[2]) > 0 ? 100 * (b1[1] - a1[1]) / (b1[2] - a1[2]) : "nan"
        printf "%.3f\t%.3f\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f", wall, cpu, us, per100k, pct, rss / 1024, core0, core1
    }')
    local wall cpu_s us per100k pct rss_mib core0 core1
    IFS=$'\t' read -r wall cpu_s us per100k pct rss_mib core0 core1 <<<"$row"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$scen" "$path" "$conns" "$proxy" "$wall" "$requests" "$rps" "$p50" "$p99" "$non2xx" "$econn" "$eread" \
        "$ewrite" "$etime" "$cpu_s" "$us" "$per100k" "$pct" "$rss_mib" "$core0" "$core1" "$node_conns" >>"$RESULTS"
    printf '  %-6s %5s conns %-9s %10.0f req/s  p50 %8.2f ms  p99 %8.2f ms  CPU %6.1f us/req  node conns %s  errors %s\n' \
        "$scen" "$conns" "$proxy" "$rps" "$p50" "$p99" "$us" "$node_conns" \
        "$(( non2xx + econn + eread + ewrite + etime ))" >&2
    sleep 0.5
}

# ----------------------------------------------------------------------------------------- configs
write_gatehouse_conf() {     # write_gatehouse_conf NAME (gatehouse or gatehouse_nometrics)
    local name=$1 f="$TMP/$1.toml" i
    {
        echo "[proxy]"
        echo "listen = [\"127.0.0.1:${PROXY_PORT[$name]}\"]"
        echo "workers = 1"
        echo
        echo "[upstream]"
        echo "balance = \"round_robin\""
        echo "# keepalive: the default (idle connections sized by demand, no cap)"
        for i in "${!UPSTREAM_PORTS[@]}"; do
            echo
            echo "[[upstream.node]]"
            echo "name = \"node$((i + 1))\""
            echo "address = \"127.0.0.1:${UPSTREAM_PORTS[i]}\""
        done
        echo
        echo "[timeouts]"
        echo "client_idle = \"60s\""
        echo
        echo "[admin]"
        echo "listen = \"127.0.0.1:${ADMIN_PORT[$name]}\""
        echo "allow_no_token = true   # a benchmark on loopback"
        echo
        echo "[log]"
        echo "access = \"off\"        # like the other proxies here: no access log"
        echo
        echo "[metrics]"
        if [[ $name == gatehouse_nometrics ]]; then echo "enabled = false"; else echo "enabled = true"; fi
    } >"$f"
    echo "$f"
}

write_nginx_conf() {
    local d="$TMP/nginx" p user_line=""
    mkdir -p "$d/tmp"
    chmod 755 "$d" "$d/tmp"
    [[ $EUID -eq 0 ]] && user_line="user nobody nogroup;"
    {
        cat <<EOF
# Generated by bench/proxy_bench.sh
$user_line
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $TMP/nginx-error.log warn;
worker_rlimit_nofile $NOFILE;
events {
    worker_connections $MAXCONN;
    use epoll;
}
http {
    access_log off;
    client_body_temp_path $d/tmp/client;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_timeout 60s;
    keepalive_requests 100000000;   # default 1000 would close wrk's connections; gatehouse has no such cap

    upstream nodes {
EOF
        for p in "${UPSTREAM_PORTS[@]}"; do echo "        server 127.0.0.1:$p;"; done
        cat <<EOF
        # Nginx counts idle connections per worker over the whole block; gatehouse per node.
        keepalive $(( UPSTREAM_KEEPALIVE * ${#UPSTREAM_PORTS[@]} ));
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:${PROXY_PORT[nginx]} backlog=4096;
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # the forwarding headers gatehouse adds too
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Real-IP \$remote_addr;
            # responses stay in memory (64 KiB fits), never in temp files
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_max_temp_file_size 0;
        }
    }
}
EOF
    } >"$d/nginx.conf"
    echo "$d/nginx.conf"
}

write_haproxy_conf() {
    local f="$TMP/haproxy.cfg" i
    {
        cat <<EOF
# Generated by bench/proxy_bench.sh. No log lines: nothing is logged.
global
    nbthread 1
    maxconn $MAXCONN

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 3s
    timeout client 60s
    timeout server 600s
    timeout http-keep-alive 60s
    timeout http-request 10s
    maxconn $MAXCONN

frontend bench
    bind 127.0.0.1:${PROXY_PORT[haproxy]}
    backlog 4096
    # the forwarding headers gatehouse adds too
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Real-IP %[src]
    default_backend nodes

backend nodes
    balance roundrobin
EOF
        for i in "${!UPSTREAM_PORTS[@]}"; do
            echo "    server node$((i + 1)) 127.0.0.1:${UPSTREAM_PORTS[i]} pool-max-conn $UPSTREAM_KEEPALIVE"
        done
    } >"$f"
    echo "$f"
}

start_proxy() {           # start_proxy NAME -> sets LAST_PID
    local name=$1 conf log="$TMP/$1.log"
    case "$name" in
        gatehouse|gatehouse_nometrics)
            conf=$(write_gatehouse_conf "$name")
            start "$name" "$log" taskset -c "$PROXY_CPU" "$GATEHOUSE" serve -c "$conf" ;;
        nginx)
            conf=$(write_nginx_conf)
            nginx -t -q -c "$conf" -p "$TMP/nginx" >"$TMP/nginx-t.log" 2>&1 || { cat "$TMP/nginx-t.log" >&2; die "nginx rejected $conf"; }
            start nginx "$log" taskset -c "$PROXY_CPU" nginx -c "$conf" -p "$TMP/nginx" ;;
        haproxy)
            conf=$(write_haproxy_conf)
            haproxy -c -q -f "$conf" >"$TMP/haproxy-c.log" 2>&1 || { cat "$TMP/haproxy-c.log" >&2; die "haproxy rejected $conf"; }
            start haproxy "$log" taskset -c "$PROXY_CPU" haproxy -db -f "$conf" ;;
    esac
    wait_ready "$name" "$LAST_PID" "${PROXY_PORT[$name]}" "$log"
}

# Sanity check through a proxy: all three nodes answer in turn and /bytes/65536 has exactly 65536 bytes.
check_proxy() {
    local name=$1 port=$2 nodes="" i n size
    for ((i = 0; i < 6; i++)); do
        n=$(curl -fsS -D - -o /dev/null --max-time 2 "http://127.0.0.1:$port/" 2>&1) ||
            die "$name: GET http://127.0.0.1:$port/ failed: $n (log: $TMP/$name.log)"
        n=$(tr -d '\r' <<<"$n" | awk -F': ' 'tolower($1) == "x-node" { print $2 }')
        nodes+="${n:-?} "
    done
    size=$(curl -fsS -o /dev/null -w '%{size_download}' --max-time 2 "http://127.0.0.1:$port/bytes/65536" 2>&1) ||
        die "$name: GET http://127.0.0.1:$port/bytes/65536 failed: $size"
    echo "  $name: nodes seen in 6 requests: $nodes; /bytes/65536 -> $size bytes" >&2
    [[ $size -eq 65536 ]] || die "$name: /bytes/65536 returned $size bytes"
    [[ $(tr ' ' '\n' <<<"$nodes" | grep -v '^$' | sort -u | wc -l) -ge 3 || $name == upstream ]] ||
        echo "proxy_bench: warning: $name did not spread 6 requests over the 3 nodes" >&2
}

busy_pct() {              # busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1" -> percent
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# --------------------------------------------------------------------------------------------- run
# Other work on the machine (a compile, another benchmark) skews everything: look before starting.
sample_idle() {           # sets idle0/idle1: % busy of each core over 1 s
    local i0 i1
    i0=$(core_stat "$LOAD_CPU"); i1=$(core_stat "$PROXY_CPU"); sleep 1
    idle0=$(busy_pct "$i0" "$(core_stat "$LOAD_CPU")"); idle1=$(busy_pct "$i1" "$(core_stat "$PROXY_CPU")")
}
sample_idle
if [[ $WAIT_IDLE -gt 0 && ( $idle0 -gt 10 || $idle1 -gt 10 ) ]]; then
    echo "proxy_bench: waiting up to $WAIT_IDLE s for an idle machine" >&2
    deadline=$(( SECONDS + WAIT_IDLE ))
    while (( SECONDS < deadline )); do
        sample_idle
        if [[ $idle0 -le 10 && $idle1 -le 10 ]]; then
            sample_idle                 # and still idle a second later
            [[ $idle0 -le 10 && $idle1 -le 10 ]] && break
        fi
    done
fi
IDLE_NOTE="core$LOAD_CPU $idle0 % busy, core$PROXY_CPU $idle1 % busy"
if [[ $idle0 -gt 10 || $idle1 -gt 10 ]]; then
    IDLE_NOTE+=" — WARNING: the machine was not idle; numbers are skewed"
    echo "proxy_bench: warning: machine not idle before start ($IDLE_NOTE)" >&2
fi

version_of() { "$@" 2>&1 | head -n 1 || true; }
HEADER=$(cat <<EOF
# gatehouse proxy benchmark

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(uname -sr); CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) ($NCPU online)
- gatehouse: $(version_of "$GATEHOUSE" --version) ($GATEHOUSE)
- $(version_of nginx -v); $(version_of haproxy -v); $(version_of wrk -v | awk '{ print $1, $2 }')
- each run: \`wrk -t1 -c{$(IFS=,; echo "${CONNECTIONS[*]}")} -d${DURATION}s --latency\` after a ${WARMUP} s warm-up; open-files limit $NOFILE
- node connections: Nginx keeps \`keepalive $(( UPSTREAM_KEEPALIVE * ${#UPSTREAM_PORTS[@]} ))\` idle per worker, HAProxy \`pool-max-conn $UPSTREAM_KEEPALIVE\` per server, gatehouse its default (by demand);
  "node conns/1k" = connections the nodes accepted during the measured run per 1,000 requests (gatehouse's include its health checks)
- pinning: wrk + 3 × \`gatehouse upstream\` on core $LOAD_CPU; the proxy under test alone on core $PROXY_CPU;
  "upstream alone" = wrk straight to one node (both on core $LOAD_CPU)
- before start, 1 s sample: $IDLE_NOTE
- CPU = utime+stime of the proxy's processes (all threads) over the measured run; "proxy CPU %" = of one core;
  "core0 %" = how busy the load-generator core was (near 100 % means the client side, not the proxy, may be the limit);
  "core1 %" well above "proxy CPU %" means something else ran on the proxy's core
EOF
)

echo "proxy_bench: temp dir $TMP" >&2
echo "proxy_bench: starting upstreams on core $LOAD_CPU" >&2
declare -a UPSTREAM_PIDS=()
for i in "${!UPSTREAM_PORTS[@]}"; do
    port=${UPSTREAM_PORTS[i]}
    start "node$((i + 1))" "$TMP/node$((i + 1)).log" \
        taskset -c "$LOAD_CPU" "$GATEHOUSE" upstream --listen "127.0.0.1:$port" --name "node$((i + 1))"
    UPSTREAM_PIDS+=("$LAST_PID")
done
for i in "${!UPSTREAM_PORTS[@]}"; do
    wait_ready "node$((i + 1))" "${UPSTREAM_PIDS[i]}" "${UPSTREAM_PORTS[i]}" "$TMP/node$((i + 1)).log"
done
check_proxy upstream "${UPSTREAM_PORTS[0]}"

echo "proxy_bench: starting proxies on core $PROXY_CPU" >&2
declare -A PROXY_PID=()
for name in "${PROXIES[@]}"; do
    start_proxy "$name"
    PROXY_PID[$name]=$LAST_PID
    check_proxy "$name" "${PROXY_PORT[$name]}"
done

# Interleaved: for each scenario and connection count, every proxy in turn (idle proxies cost nothing), so
# slow drifts of the machine hit all of them alike.
echo "proxy_bench: measuring (${DURATION} s per run)" >&2
for sc in "${SCENARIOS[@]}"; do
    scen=${sc%%:*}; path=${sc#*:}
    for conns in "${CONNECTIONS[@]}"; do
        measure "$scen" "$path" "$conns" upstream "${UPSTREAM_PORTS[0]}" "${UPSTREAM_PIDS[0]}"
        for name in "${PROXIES[@]}"; do
            kill -0 "${PROXY_PID[$name]}" 2>/dev/null || die "$name died (log: $TMP/$name.log)"
            measure "$scen" "$path" "$conns" "$name" "${PROXY_PORT[$name]}" "${PROXY_PID[$name]}"
        done
    done
done

REPORT="$HEADER"$'\n\n'"$(python3 "$REPORT_PY" table "$RESULTS")"
echo
echo "$REPORT"
if [[ -n $OUT ]]; then
    printf '%s\n' "$REPORT" >"$OUT"
    cp "$RESULTS" "${OUT%.md}.tsv"
    echo "proxy_bench: report written to $OUT (raw numbers: ${OUT%.md}.tsv)" >&2
fi
