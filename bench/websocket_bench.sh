#!/usr/bin/env bash
# WebSocket through gatehouse vs Nginx vs HAProxy, in one run on this machine: RSS per idle tunnel, and CPU time per
# echo round-trip at a paced rate.
#
#   bench/websocket_bench.sh [--quick] [--wss] [--tunnels N] [--connections C] [--rate R] [--duration S]
#                            [--gatehouse PATH]
#
# One WebSocket echo node (bench/ws_tool.py echo); each proxy in turn (one worker/thread, no access log, a tunnel
# timeout far above the run) in front of it:
#   1. idle: N tunnels (default 2000), one 32-byte message echoed on each, then held 2 s: the growth of the proxy
#      processes' VmRSS (after 20 warm-up tunnels) divided by N;
#   2. rtt: C tunnels (default 50), 32-byte messages paced at R round-trips/s in all (default 10,000) for S seconds
#      (after 1 s of warm-up): the proxy processes' utime+stime (/proc/PID/stat) divided by the round-trips done,
#      with the rate reached and the latency.
# --wss: the clients speak TLS to each proxy (a self-signed EC P-256 certificate made with openssl, TLS 1.3); the
# proxy to the node stays plain.
# Loopback only; everything it starts is stopped by PID on exit; configs and logs live in a mktemp -d directory.
# Needs python3, nginx (nginx-light), haproxy. See bench/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEHOUSE="$REPO_ROOT/build/gatehouse"
TOOL="$REPO_ROOT/bench/ws_tool.py"
TUNNELS=2000
CONNECTIONS=50
RATE=10000
DURATION=10
WSS=0

usage() {
    cat <<USAGE
usage: bench/websocket_bench.sh [options]
  --quick              500 idle tunnels, 3 s of round-trips (about a minute in all)
  --wss                clients speak TLS to the proxies (wss); the node stays plain
  --tunnels N          idle tunnels per proxy (default 2000)
  --connections C      tunnels carrying the round-trips (default 50)
  --rate R             round-trips per second, all tunnels together (default 10000)
  --duration S         seconds of measured round-trips (default 10)
  --gatehouse PATH     gatehouse binary (default: build/gatehouse in the repository)
  -h, --help           this text
USAGE
}
die() { echo "websocket_bench: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) TUNNELS=500; DURATION=3; shift ;;
        --wss) WSS=1; shift ;;
        --tunnels) [[ $# -ge 2 ]] || die "--tunnels needs a number"; TUNNELS=$2; shift 2 ;;
        --connections) [[ $# -ge 2 ]] || die "--connections needs a number"; CONNECTIONS=$2; shift 2 ;;
        --rate) [[ $# -ge 2 ]] || die "--rate needs a number"; RATE=$2; shift 2 ;;
        --duration) [[ $# -ge 2 ]] || die "--duration needs a number"; DURATION=$2; shift 2 ;;
        --gatehouse) [[ $# -ge 2 ]] || die "--gatehouse needs a path"; GATEHOUSE=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
for v in TUNNELS CONNECTIONS RATE DURATION; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v,,} must be a positive whole number"
done
[[ $GATEHOUSE == /* ]] || GATEHOUSE="$PWD/$GATEHOUSE"
[[ -x $GATEHOUSE ]] || die "gatehouse binary not found: $GATEHOUSE (build it, or pass --gatehouse)"
for tool in python3 nginx haproxy pgrep; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
(( NOFILE >= 2 * TUNNELS + 512 )) || die "open-files limit $NOFILE is too low for $TUNNELS tunnels"
MAXCONN=$(( 2 * TUNNELS + 512 ))

# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"
bench_tmp gatehouse-ws

TLS_ARG=()
if (( WSS )); then
    command -v openssl >/dev/null || die "openssl is not installed"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/key.pem" \
        -out "$TMP/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost >"$TMP/openssl.log" 2>&1 ||
        { cat "$TMP/openssl.log" >&2; die "openssl could not make a certificate"; }
    cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/both.pem"
    chmod 644 "$TMP"/*.pem
    TLS_ARG=(--tls)
fi

ECHO_PORT=$(free_port)
python3 "$TOOL" echo --port "$ECHO_PORT" >"$TMP/echo.log" 2>&1 &
ECHO_PID=$!
STARTED+=("$ECHO_PID")
wait_port "$ECHO_PORT" "$ECHO_PID" "$TMP/echo.log"

gatehouse_conf() {   # gatehouse_conf PORT
    local plain=$1
    (( WSS )) && plain=$(free_port)
    cat <<TOML
[proxy]
listen = ["127.0.0.1:$plain"]
workers = 1

[[upstream.node]]
name = "echo"
address = "127.0.0.1:$ECHO_PORT"

[timeouts]
websocket_idle = "1h"

[limits]
max_connections = 0

[health_check]
enabled = false

[admin]
listen = "127.0.0.1:$(free_port)"
allow_no_token = true   # a benchmark on loopback

[log]
access = "off"          # like the other proxies here: no access log
TOML
    (( WSS )) && printf '\n[tls]\nlisten = ["127.0.0.1:%s"]\ncert = "%s"\nkey = "%s"\n' "$1" "$TMP/cert.pem" "$TMP/key.pem"
    return 0
}

nginx_conf() {   # nginx_conf PORT
    local user_line=""
    [[ $EUID -eq 0 ]] && user_line="user nobody nogroup;"
    cat <<NGINX
# Generated by bench/websocket_bench.sh
$user_line
worker_processes 1;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx-error.log warn;
worker_rlimit_nofile $NOFILE;
events {
    worker_connections $MAXCONN;
    use epoll;
}
http {
    access_log off;
    client_body_temp_path $TMP/nginx/tmp/client;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 127.0.0.1:$1 backlog=4096 $( (( WSS )) && echo ssl);
        $( (( WSS )) && echo "ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;")
        location / {
            # as the Nginx config NocoBase ships proxies /ws
            proxy_pass http://127.0.0.1:$ECHO_PORT;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }
    }
}
NGINX
}

haproxy_conf() {   # haproxy_conf PORT
    cat <<HAPROXY
# Generated by bench/websocket_bench.sh. No log lines: nothing is logged.
global
    nbthread 1
    maxconn $MAXCONN

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 10s
    maxconn $MAXCONN

frontend ws
    bind 127.0.0.1:$1 $( (( WSS )) && echo "ssl crt $TMP/both.pem")
    backlog 4096
    option forwardfor
    http-request set-header X-Real-IP %[src]
    default_backend echo

backend echo
    server echo 127.0.0.1:$ECHO_PORT
HAPROXY
}

PROXY_PID=""
PROXY_PIDS=""
start_proxy() {   # start_proxy NAME PORT -> PROXY_PID, PROXY_PIDS (comma-separated, all its processes)
    local name=$1 port=$2 log="$TMP/$1.log"
    case "$name" in
        gatehouse)
            gatehouse_conf "$port" >"$TMP/gatehouse.toml"
            "$GATEHOUSE" serve -c "$TMP/gatehouse.toml" >"$log" 2>&1 & ;;
        nginx)
            mkdir -p "$TMP/nginx/tmp"; chmod 755 "$TMP/nginx" "$TMP/nginx/tmp"
            nginx_conf "$port" >"$TMP/nginx/nginx.conf"
            nginx -t -q -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx-t.log" 2>&1 ||
                { cat "$TMP/nginx-t.log" >&2; die "nginx rejected its configuration"; }
            nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$log" 2>&1 & ;;
        haproxy)
            haproxy_conf "$port" >"$TMP/haproxy.cfg"
            haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy-c.log" 2>&1 ||
                { cat "$TMP/haproxy-c.log" >&2; die "haproxy rejected its configuration"; }
            haproxy -db -f "$TMP/haproxy.cfg" >"$log" 2>&1 & ;;
    esac
    PROXY_PID=$!
    STARTED+=("$PROXY_PID")
    wait_port "$port" "$PROXY_PID" "$log"
    PROXY_PIDS=$(echo "$PROXY_PID" $(pgrep -P "$PROXY_PID" || true) | tr ' ' ',')
}

value_of() {   # value_of KEY LINE
    local kv
    for kv in $2; do [[ $kv == "$1="* ]] && { echo "${kv#*=}"; return; }; done
    echo "?"
}

declare -A IDLE=() RTT=()
for proxy in gatehouse nginx haproxy; do
    port=$(free_port)
    start_proxy "$proxy" "$port"
    echo "$proxy: $TUNNELS idle tunnels, one message each ..." >&2
    IDLE[$proxy]=$(python3 "$TOOL" idle --port "$port" --tunnels "$TUNNELS" --pids "$PROXY_PIDS" "${TLS_ARG[@]}") ||
        die "$proxy: the idle run failed: ${IDLE[$proxy]:-}"
    echo "  ${IDLE[$proxy]}" >&2
    echo "$proxy: $CONNECTIONS tunnels, $RATE round-trips/s for $DURATION s ..." >&2
    RTT[$proxy]=$(python3 "$TOOL" rtt --port "$port" --connections "$CONNECTIONS" --rate "$RATE" \
                      --duration "$DURATION" --pids "$PROXY_PIDS" "${TLS_ARG[@]}") || die "$proxy: the rtt run failed: ${RTT[$proxy]:-}"
    echo "  ${RTT[$proxy]}" >&2
    stop_pid "$PROXY_PID"
done

echo
echo "WebSocket$( (( WSS )) && echo " over TLS (wss)"), one echo node, $(nproc) cores; $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | awk '{ print $1, $3 }')"
echo
echo "| proxy | RSS per idle tunnel ($TUNNELS tunnels) | round-trips/s reached (asked $RATE, $CONNECTIONS tunnels) | CPU per round-trip | p50 | p99 |"
echo "|---|---:|---:|---:|---:|---:|"
for proxy in gatehouse nginx haproxy; do
    per=$(value_of per_tunnel_b "${IDLE[$proxy]}")
    printf '| %s | %s B (%s KiB) | %s | %s µs | %s µs | %s µs |\n' "$proxy" "$per" \
        "$(python3 -c "print(f'{$per / 1024:.1f}')" 2>/dev/null || echo '?')" \
        "$(value_of rate "${RTT[$proxy]}")" "$(value_of cpu_us_per_rt "${RTT[$proxy]}")" \
        "$(value_of p50_us "${RTT[$proxy]}")" "$(value_of p99_us "${RTT[$proxy]}")"
done
