#!/usr/bin/env bash
# Memory of idle keep-alive client connections: gatehouse vs Nginx vs HAProxy, on this machine, in one run.
#
#   bench/idle_memory.sh [--connections N] [--hold SECONDS] [--runs N] [--gatehouse PATH] [--no-anchors]
#
# One `gatehouse upstream` demo node on an ephemeral port; each proxy in turn (one worker or thread, no access log,
# keep-alive to the client, idle timeout longer than the hold) gets N client connections from a separate client
# process (bench/idle_clients.py), each sending one request first, then held idle for SECONDS. Prints the resident
# memory (VmRSS, summed over the proxy's processes) each proxy gained per connection 1 s and 5 s after the last
# connection opened and at the end of the hold, per run, and the medians over the runs. Target for gatehouse: at
# most 2 KiB per idle connection at 5 s and at the end (exit 1 above it). Loopback only (the client spreads its
# connections over 127.0.0.1, 127.0.0.2, ... : 20,000 per source address); everything it starts is stopped on
# exit; configs and logs live in a mktemp -d directory. See bench/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEHOUSE="$REPO_ROOT/build/gatehouse"
CONNECTIONS=10000
HOLD=60
RUNS=1
WITH_ANCHORS=1
TARGET_BYTES=2048

usage() {
    cat <<USAGE
usage: bench/idle_memory.sh [options]
  --connections N      idle client connections per proxy (default 10000)
  --hold SECONDS       how long they are held idle after the last one opened (default 60; at least 5)
  --runs N             repetitions, each proxy in turn (default 1); the medians are printed
  --gatehouse PATH     gatehouse binary (default: build/gatehouse in the repository)
  --no-anchors         measure gatehouse only (--no-nginx is the same)
  -h, --help           this text
USAGE
}
die() { echo "idle_memory: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --connections) [[ $# -ge 2 ]] || die "--connections needs a number"; CONNECTIONS=$2; shift 2 ;;
        --hold) [[ $# -ge 2 ]] || die "--hold needs a number"; HOLD=$2; shift 2 ;;
        --runs) [[ $# -ge 2 ]] || die "--runs needs a number"; RUNS=$2; shift 2 ;;
        --gatehouse) [[ $# -ge 2 ]] || die "--gatehouse needs a path"; GATEHOUSE=$2; shift 2 ;;
        --no-anchors|--no-nginx) WITH_ANCHORS=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive whole number"
[[ $HOLD =~ ^[0-9]+$ ]] || die "--hold must be a whole number of seconds"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive whole number"
[[ $GATEHOUSE == /* ]] || GATEHOUSE="$PWD/$GATEHOUSE"
[[ -x $GATEHOUSE ]] || die "gatehouse binary not found: $GATEHOUSE (build it, or pass --gatehouse)"
command -v python3 >/dev/null || die "python3 is not installed"
PROXIES=(gatehouse)
if [[ $WITH_ANCHORS -eq 1 ]]; then
    for tool in nginx haproxy; do
        command -v "$tool" >/dev/null ||
            die "$tool is not installed (apt-get install nginx-light haproxy), or pass --no-anchors"
    done
    PROXIES+=(nginx haproxy)
fi

# Each proxy needs a descriptor per client connection plus a few; the client process needs as many again, in its
# own process (its own limit). The hard limit is raised when allowed (root with CAP_SYS_RESOURCE, up to
# fs.nr_open), e.g. for 50,000 connections.
NEED=$(( CONNECTIONS + 1024 ))
if (( $(ulimit -Hn) < NEED )); then ulimit -Hn "$NEED" 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
(( NOFILE >= CONNECTIONS + 256 )) || die "open-files limit $NOFILE is too low for $CONNECTIONS connections (raise the hard limit)"
# HAProxy refuses to start unless the limit covers two descriptors per connection (a client and a server side).
if [[ $WITH_ANCHORS -eq 1 ]] && (( NOFILE < 2 * (CONNECTIONS + 512) + 64 )); then
    echo "idle_memory: haproxy left out: it needs an open-files limit of $(( 2 * (CONNECTIONS + 512) + 64 )) for" \
         "$CONNECTIONS connections, this one is $NOFILE" >&2
    PROXIES=(gatehouse nginx)
fi

# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"
bench_tmp gatehouse-idle

UP_PORT=$(free_port)
"$GATEHOUSE" upstream --listen "127.0.0.1:$UP_PORT" --name node1 >"$TMP/upstream.log" 2>&1 &
UP_PID=$!
STARTED+=("$UP_PID")
wait_port "$UP_PORT" "$UP_PID" "$TMP/upstream.log"

IDLE_TIMEOUT=$(( HOLD + 120 ))
declare -A FIG=()   # FIG[proxy,run,key]: per_conn_open_b, per_conn_5s_b, per_conn_end_b, closed_during_hold

run_clients() {   # run_clients NAME RUN PORT PIDS
    local out kv key
    echo "$1 (run $2): $CONNECTIONS connections, one request each, held idle ${HOLD} s ..." >&2
    out=$(python3 "$REPO_ROOT/bench/idle_clients.py" --port "$3" --connections "$CONNECTIONS" --hold "$HOLD" --pids "$4") || true
    echo "  $out" >&2
    for kv in $out; do
        key=${kv%%=*}
        case "$key" in per_conn_open_b|per_conn_5s_b|per_conn_end_b|closed_during_hold) FIG[$1,$2,$key]=${kv#*=} ;; esac
    done
    [[ -n ${FIG[$1,$2,per_conn_end_b]:-} ]] || die "$1: the client run failed"
}

start_gatehouse() {   # one worker, no connection cap (the figure is per connection), idle timeout above the hold
    local port=$1 admin_port
    admin_port=$(free_port)
    cat >"$TMP/gatehouse.toml" <<TOML
[proxy]
listen = ["127.0.0.1:$port"]
workers = 1

[[upstream.node]]
name = "node1"
address = "127.0.0.1:$UP_PORT"

[timeouts]
client_idle = "${IDLE_TIMEOUT}s"

[limits]
max_connections = 0

[health_check]
enabled = false

[log]
access = "off"

[admin]
listen = "127.0.0.1:$admin_port"
allow_no_token = true
TOML
    "$GATEHOUSE" serve -c "$TMP/gatehouse.toml" >"$TMP/gatehouse.log" 2>&1 &
    PROXY_PID=$!
    PROXY_LOG=$TMP/gatehouse.log
}

start_nginx() {
    local port=$1 user_line=""
    mkdir -p "$TMP/nginx/tmp"; chmod 755 "$TMP/nginx" "$TMP/nginx/tmp"
    [[ $EUID -eq 0 ]] && user_line="user nobody nogroup;"
    cat >"$TMP/nginx/nginx.conf" <<NGINX
# Generated by bench/idle_memory.sh
$user_line
worker_processes 1;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx-error.log warn;
worker_rlimit_nofile $NOFILE;
events {
    worker_connections $(( 2 * CONNECTIONS + 512 ));
    use epoll;
}
http {
    access_log off;
    client_body_temp_path $TMP/nginx/tmp/client;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    keepalive_timeout ${IDLE_TIMEOUT}s;
    keepalive_requests 100000000;
    upstream nodes {
        server 127.0.0.1:$UP_PORT;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Real-IP \$remote_addr;
        }
    }
}
NGINX
    nginx -t -q -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx-t.log" 2>&1 ||
        { cat "$TMP/nginx-t.log" >&2; die "nginx rejected its configuration"; }
    nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.log" 2>&1 &
    PROXY_PID=$!
    PROXY_LOG=$TMP/nginx.log
}

start_haproxy() {   # one thread, keep-alive both sides, the forwarding headers the others add
    local port=$1
    cat >"$TMP/haproxy.cfg" <<HAPROXY
# Generated by bench/idle_memory.sh. No log lines.
global
    nbthread 1
    maxconn $(( CONNECTIONS + 512 ))

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 3s
    timeout client ${IDLE_TIMEOUT}s
    timeout server 60s
    timeout http-keep-alive ${IDLE_TIMEOUT}s
    timeout http-request 10s
    maxconn $(( CONNECTIONS + 512 ))

frontend idle
    bind 127.0.0.1:$port
    backlog 4096
    option forwardfor
    http-request set-header X-Real-IP %[src]
    default_backend nodes

backend nodes
    server node1 127.0.0.1:$UP_PORT pool-max-conn 32
HAPROXY
    haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy-c.log" 2>&1 ||
        { cat "$TMP/haproxy-c.log" >&2; die "haproxy rejected its configuration"; }
    haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
    PROXY_PID=$!
    PROXY_LOG=$TMP/haproxy.log
}

for run in $(seq "$RUNS"); do
    for p in "${PROXIES[@]}"; do
        port=$(free_port)
        "start_$p" "$port"
        STARTED+=("$PROXY_PID")
        wait_port "$port" "$PROXY_PID" "$PROXY_LOG"
        pids=$(echo "$PROXY_PID" $(pgrep -P "$PROXY_PID" || true) | tr ' ' ',')
        run_clients "$p" "$run" "$port" "$pids"
        stop_pid "$PROXY_PID"
        wait "$PROXY_PID" 2>/dev/null || true
    done
done

kib() { python3 -c "print(f'{$1 / 1024:.2f}')"; }
median() { python3 -c "import statistics, sys; print(round(statistics.median(int(x) for x in sys.argv[1:])))" "$@"; }

echo
echo "$CONNECTIONS idle keep-alive connections per proxy, one request each, held ${HOLD} s; RSS added per connection:"
echo
echo "| proxy | run | 1 s after the last opened | 5 s after | end of the hold | closed by the proxy during the hold |"
echo "|---|---:|---:|---:|---:|---:|"
for p in "${PROXIES[@]}"; do
    for run in $(seq "$RUNS"); do
        printf '| %s | %d | %d B | %d B | %d B | %d |\n' "$p" "$run" "${FIG[$p,$run,per_conn_open_b]}" \
            "${FIG[$p,$run,per_conn_5s_b]}" "${FIG[$p,$run,per_conn_end_b]}" "${FIG[$p,$run,closed_during_hold]:-0}"
    done
done
echo
declare -A MED5=() MEDEND=()
for p in "${PROXIES[@]}"; do
    five=() end=()
    for run in $(seq "$RUNS"); do five+=("${FIG[$p,$run,per_conn_5s_b]}"); end+=("${FIG[$p,$run,per_conn_end_b]}"); done
    MED5[$p]=$(median "${five[@]}"); MEDEND[$p]=$(median "${end[@]}")
    echo "$p: median of $RUNS run(s): ${MED5[$p]} B ($(kib "${MED5[$p]}") KiB) at 5 s, ${MEDEND[$p]} B ($(kib "${MEDEND[$p]}") KiB) at the end"
done

status=0
for run in $(seq "$RUNS"); do
    if (( ${FIG[gatehouse,$run,closed_during_hold]:-0} > 0 )); then
        echo "gatehouse closed ${FIG[gatehouse,$run,closed_during_hold]} idle connections during run $run" >&2
        status=1
    fi
done
if (( MED5[gatehouse] > TARGET_BYTES || MEDEND[gatehouse] > TARGET_BYTES )); then
    echo "gatehouse is over its target of $TARGET_BYTES B per idle connection" >&2
    status=1
fi
exit $status
