#!/usr/bin/env bash
# Memory of idle keep-alive client connections: gatehouse vs Nginx, on this machine, in one run.
#
#   bench/idle_memory.sh [--connections N] [--hold SECONDS] [--gatehouse PATH] [--no-nginx]
#
# One `gatehouse upstream` demo node on an ephemeral port; each proxy in turn (one worker, no access log,
# keep-alive to the client, idle timeout longer than the hold) gets N client connections from a separate client
# process (bench/idle_clients.py), each sending one request first, then held idle for SECONDS. Prints the resident
# memory (VmRSS, summed over the proxy's processes) each proxy gained per connection at the end of the hold, and
# the gatehouse/Nginx ratio. Target for gatehouse: <= 4 KiB per idle connection (exit 1 above it). Loopback only;
# everything it starts is stopped on exit; configs and logs live in a mktemp -d directory. See bench/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEHOUSE="$REPO_ROOT/build/gatehouse"
CONNECTIONS=10000
HOLD=60
WITH_NGINX=1
TARGET_BYTES=4096

usage() {
    cat <<USAGE
usage: bench/idle_memory.sh [options]
  --connections N      idle client connections per proxy (default 10000)
  --hold SECONDS       how long they are held idle before the figure is taken (default 60)
  --gatehouse PATH     gatehouse binary (default: build/gatehouse in the repository)
  --no-nginx           measure gatehouse only
  -h, --help           this text
USAGE
}
die() { echo "idle_memory: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --connections) [[ $# -ge 2 ]] || die "--connections needs a number"; CONNECTIONS=$2; shift 2 ;;
        --hold) [[ $# -ge 2 ]] || die "--hold needs a number"; HOLD=$2; shift 2 ;;
        --gatehouse) [[ $# -ge 2 ]] || die "--gatehouse needs a path"; GATEHOUSE=$2; shift 2 ;;
        --no-nginx) WITH_NGINX=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive whole number"
[[ $HOLD =~ ^[0-9]+$ ]] || die "--hold must be a whole number of seconds"
[[ $GATEHOUSE == /* ]] || GATEHOUSE="$PWD/$GATEHOUSE"
[[ -x $GATEHOUSE ]] || die "gatehouse binary not found: $GATEHOUSE (build it, or pass --gatehouse)"
command -v python3 >/dev/null || die "python3 is not installed"
if [[ $WITH_NGINX -eq 1 ]]; then
    command -v nginx >/dev/null || die "nginx is not installed (apt-get install nginx-light), or pass --no-nginx"
fi

# Each proxy needs a descriptor per client connection plus a few; the client process needs as many again,
# in its own process (its own limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
(( NOFILE >= CONNECTIONS + 256 )) || die "open-files limit $NOFILE is too low for $CONNECTIONS connections"

TMP=$(mktemp -d -t gatehouse-idle.XXXXXX)
chmod 755 "$TMP"   # nginx workers run as nobody when started as root
declare -a STARTED=()
cleanup() {
    local p
    for p in "${STARTED[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${STARTED[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {   # wait_port PORT PID LOG
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "process $2 exited before listening on $1"; }
        sleep 0.1
    done
    cat "$3" >&2; die "nothing listens on 127.0.0.1:$1 after 10 s"
}

UP_PORT=$(free_port)
"$GATEHOUSE" upstream --listen "127.0.0.1:$UP_PORT" --name node1 >"$TMP/upstream.log" 2>&1 &
UP_PID=$!
STARTED+=("$UP_PID")
wait_port "$UP_PORT" "$UP_PID" "$TMP/upstream.log"

IDLE_TIMEOUT=$(( HOLD + 120 ))
declare -A PER_CONN=()

declare -A CLOSED=()
run_clients() {   # run_clients NAME PORT PIDS
    local out kv
    echo "$1: $CONNECTIONS connections, one request each, held idle ${HOLD} s ..." >&2
    out=$(python3 "$REPO_ROOT/bench/idle_clients.py" --port "$2" --connections "$CONNECTIONS" --hold "$HOLD" --pids "$3") || true
    echo "  $out" >&2
    for kv in $out; do
        [[ $kv == per_conn_end_b=* ]] && PER_CONN[$1]=${kv#*=}
        [[ $kv == closed_during_hold=* ]] && CLOSED[$1]=${kv#*=}
    done
    [[ -n ${PER_CONN[$1]:-} ]] || die "$1: the client run failed"
    return 0
}

# gatehouse: one worker, no connection cap (the figure is per connection), idle timeout above the hold.
GH_PORT=$(free_port)
cat >"$TMP/gatehouse.toml" <<TOML
[proxy]
listen = ["127.0.0.1:$GH_PORT"]
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

[admin]
allow_no_token = true
TOML
"$GATEHOUSE" serve -c "$TMP/gatehouse.toml" >"$TMP/gatehouse.log" 2>&1 &
GH_PID=$!
STARTED+=("$GH_PID")
wait_port "$GH_PORT" "$GH_PID" "$TMP/gatehouse.log"
run_clients gatehouse "$GH_PORT" "$GH_PID"
kill -TERM "$GH_PID"; wait "$GH_PID" 2>/dev/null || true

if [[ $WITH_NGINX -eq 1 ]]; then
    NG_PORT=$(free_port)
    mkdir -p "$TMP/nginx/tmp"; chmod 755 "$TMP/nginx" "$TMP/nginx/tmp"
    user_line=""; [[ $EUID -eq 0 ]] && user_line="user nobody nogroup;"
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
        listen 127.0.0.1:$NG_PORT backlog=4096;
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
    NG_PID=$!
    STARTED+=("$NG_PID")
    wait_port "$NG_PORT" "$NG_PID" "$TMP/nginx.log"
    NG_PIDS=$(echo "$NG_PID" $(pgrep -P "$NG_PID") | tr ' ' ',')
    run_clients nginx "$NG_PORT" "$NG_PIDS"
fi

echo
echo "| proxy | idle connections | held | closed by the proxy during the hold | RSS added per connection |"
echo "|---|---:|---:|---:|---:|"
for p in gatehouse nginx; do
    [[ -n ${PER_CONN[$p]:-} ]] || continue
    printf '| %s | %d | %d s | %d | %d B (%s KiB) |\n' "$p" "$CONNECTIONS" "$HOLD" "${CLOSED[$p]:-0}" "${PER_CONN[$p]}" \
        "$(python3 -c "print(f'{${PER_CONN[$p]} / 1024:.2f}')")"
done
if [[ -n ${PER_CONN[nginx]:-} ]]; then
    python3 -c "
g, n = ${PER_CONN[gatehouse]}, ${PER_CONN[nginx]}
print(f'gatehouse / nginx: {g / n:.2f}x' if n > 0 else 'gatehouse / nginx: n/a (nginx added nothing)')"
fi
if (( ${CLOSED[gatehouse]:-0} > 0 )); then
    echo "gatehouse closed ${CLOSED[gatehouse]} idle connections during the hold" >&2
    exit 1
fi
if (( PER_CONN[gatehouse] > TARGET_BYTES )); then
    echo "gatehouse is over its target of $TARGET_BYTES B per idle connection" >&2
    exit 1
fi
