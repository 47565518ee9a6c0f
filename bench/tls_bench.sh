#!/usr/bin/env bash
# TLS termination: gatehouse vs Nginx vs HAProxy, in one run on this machine, with the same generated certificate,
# proxying to the same plain node.
#
#   bench/tls_bench.sh [--quick] [--duration S] [--connections C] [--idle N] [--rsa] [--gatehouse PATH]
#
# Measures, for each proxy in turn (one worker/thread, no access log, pinned to core 1; the clients on core 0):
#   - full handshakes: `openssl s_time -new`, one client: connect, full handshake (TLS 1.3), close, again;
#   - resumed handshakes: `openssl s_time -reuse -tls1_2`, the same with the TLS 1.2 session resumed;
#   - a connection per request: `wrk -H "Connection: close"` over https with C connections (default 50): each
#     request (GET /, proxied) on a new connection with a full handshake (wrk does not resume sessions);
#   - keep-alive: `wrk` over https with C connections, each handshaking once;
#   - memory: N idle keep-alive TLS connections (default 1,000; --idle N), one request each, held 3 s: the
#     resident memory (VmRSS of all the proxy's processes) gained per connection.
# and the proxy's CPU time (utime+stime from /proc/PID/stat) per connection or request. A gatehouse binary whose
# `gatehouse check` refuses the [tls] table (one from before TLS, via --gatehouse) gets empty rows, and the report
# says so. Loopback only; everything it starts is stopped by PID on exit; certificate, configs and logs live in a
# mktemp -d directory. Needs openssl, wrk, nginx (nginx-light), haproxy, python3. See bench/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEHOUSE="$REPO_ROOT/build/gatehouse"
DURATION=10
CONNECTIONS=50
IDLE=1000
KEY_TYPE=ec

usage() {
    cat <<USAGE
usage: bench/tls_bench.sh [options]
  --quick              3 s per measurement (about a minute in all)
  --duration S         seconds per measurement (default 10)
  --connections C      wrk's keep-alive connections (default 50)
  --idle N             idle TLS connections for the memory figure (default 1000; 0 = skip it)
  --rsa                an RSA 2048 certificate instead of ECDSA P-256
  --gatehouse PATH     gatehouse binary (default: build/gatehouse in the repository)
  -h, --help           this text
USAGE
}
die() { echo "tls_bench: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) DURATION=3; shift ;;
        --duration) [[ $# -ge 2 ]] || die "--duration needs a number"; DURATION=$2; shift 2 ;;
        --connections) [[ $# -ge 2 ]] || die "--connections needs a number"; CONNECTIONS=$2; shift 2 ;;
        --idle) [[ $# -ge 2 ]] || die "--idle needs a number"; IDLE=$2; shift 2 ;;
        --rsa) KEY_TYPE=rsa; shift ;;
        --gatehouse) [[ $# -ge 2 ]] || die "--gatehouse needs a path"; GATEHOUSE=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive whole number"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive whole number"
[[ $IDLE =~ ^[0-9]+$ ]] || die "--idle must be a whole number"
[[ $GATEHOUSE == /* ]] || GATEHOUSE="$PWD/$GATEHOUSE"
[[ -x $GATEHOUSE ]] || die "gatehouse binary not found: $GATEHOUSE (build it, or pass --gatehouse)"
for tool in openssl wrk nginx haproxy python3 pgrep; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
CLIENT=(); PINNED=()
if command -v taskset >/dev/null && (( $(nproc) >= 2 )); then CLIENT=(taskset -c 0); PINNED=(taskset -c 1); fi

# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"
bench_tmp gatehouse-tls
cpu_ticks() {   # cpu_ticks PID...: utime + stime, in clock ticks
    local p total=0 f
    for p in "$@"; do
        f=$(sed 's/.*) //' "/proc/$p/stat")
        total=$(( total + $(awk '{ print $12 + $13 }' <<<"$f") ))
    done
    echo "$total"
}

# One certificate for every proxy (CN and SAN localhost / 127.0.0.1).
if [[ $KEY_TYPE == ec ]]; then KEY_OPTS=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); else KEY_OPTS=(-newkey rsa:2048); fi
openssl req -x509 "${KEY_OPTS[@]}" -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" ||
    { cat "$TMP/openssl.log" >&2; die "openssl could not make a certificate"; }
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/both.pem"   # HAProxy's crt: chain and key in one file
chmod 644 "$TMP"/*.pem

NODE_PORT=$(free_port)
"${CLIENT[@]}" "$GATEHOUSE" upstream --listen "127.0.0.1:$NODE_PORT" --name node1 >"$TMP/node.log" 2>&1 &
NODE_PID=$!
STARTED+=("$NODE_PID")
wait_port "$NODE_PORT" "$NODE_PID" "$TMP/node.log"

gatehouse_conf() {   # gatehouse_conf PORT
    cat <<TOML
[proxy]
listen = ["127.0.0.1:$(free_port)"]
workers = 1

[tls]
listen = ["127.0.0.1:$1"]
cert = "$TMP/cert.pem"
key = "$TMP/key.pem"

[upstream]
keepalive = 64

[[upstream.node]]
name = "node1"
address = "127.0.0.1:$NODE_PORT"

[health_check]
enabled = false

[admin]
listen = "127.0.0.1:$(free_port)"
allow_no_token = true   # a benchmark on loopback

[log]
access = "off"          # like the other proxies here: no access log
TOML
}

nginx_conf() {   # nginx_conf PORT
    local user_line=""
    [[ $EUID -eq 0 ]] && user_line="user nobody nogroup;"
    cat <<NGINX
# Generated by bench/tls_bench.sh
$user_line
worker_processes 1;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx-error.log warn;
events {
    worker_connections 4096;
    use epoll;
}
http {
    access_log off;
    client_body_temp_path $TMP/nginx/tmp/client;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    keepalive_timeout 60s;
    keepalive_requests 100000000;
    upstream nodes {
        server 127.0.0.1:$NODE_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$1 ssl backlog=4096;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;   # resumption by session id (TLS 1.2) and tickets
        ssl_session_tickets on;
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Real-IP \$remote_addr;
        }
    }
}
NGINX
}

haproxy_conf() {   # haproxy_conf PORT
    cat <<HAPROXY
# Generated by bench/tls_bench.sh. No log lines: nothing is logged.
global
    nbthread 1
    maxconn 4096
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout http-request 10s

frontend tls
    bind 127.0.0.1:$1 ssl crt $TMP/both.pem alpn http/1.1
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Real-IP %[src]
    default_backend nodes

backend nodes
    server node1 127.0.0.1:$NODE_PORT pool-max-conn 64
HAPROXY
}

PROXY_PID=""
PROXY_PIDS=()
start_proxy() {   # start_proxy NAME PORT -> PROXY_PID, PROXY_PIDS (all its processes)
    local name=$1 port=$2 log="$TMP/$1.log"
    case "$name" in
        gatehouse)
            gatehouse_conf "$port" >"$TMP/gatehouse.toml"
            "${PINNED[@]}" "$GATEHOUSE" serve -c "$TMP/gatehouse.toml" >"$log" 2>&1 & ;;
        nginx)
            mkdir -p "$TMP/nginx/tmp"; chmod 755 "$TMP/nginx" "$TMP/nginx/tmp"
            nginx_conf "$port" >"$TMP/nginx/nginx.conf"
            nginx -t -q -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx-t.log" 2>&1 ||
                { cat "$TMP/nginx-t.log" >&2; die "nginx rejected its configuration"; }
            "${PINNED[@]}" nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$log" 2>&1 & ;;
        haproxy)
            haproxy_conf "$port" >"$TMP/haproxy.cfg"
            haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy-c.log" 2>&1 ||
                { cat "$TMP/haproxy-c.log" >&2; die "haproxy rejected its configuration"; }
            "${PINNED[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$log" 2>&1 & ;;
    esac
    PROXY_PID=$!
    STARTED+=("$PROXY_PID")
    wait_port "$port" "$PROXY_PID" "$log"
    read -r -a PROXY_PIDS <<<"$PROXY_PID $(pgrep -P "$PROXY_PID" | tr '\n' ' ')"
}

# s_time PORT -new|-reuse [more openssl options] -> "handshakes/s cpu_us_per_handshake": one connection at a time,
# a handshake and a close (no request: `-www` sends HTTP/1.0, which the proxies answer without TCP_NODELAY, and the
# delayed ACK then sets the pace).
s_time() {
    local port=$1 out n w0 w1 t0 t1
    shift
    t0=$(cpu_ticks "${PROXY_PIDS[@]}"); w0=$(date +%s.%N)
    out=$("${CLIENT[@]}" openssl s_time -connect "127.0.0.1:$port" "$@" -time "$DURATION" 2>&1) || true
    t1=$(cpu_ticks "${PROXY_PIDS[@]}"); w1=$(date +%s.%N)
    # "1234 connections in 3.01s; 410.0 connections/user sec, ..." then "1234 connections in 4 real seconds, ..."
    n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$out" | tail -1)
    echo "    s_time $*: $(grep "real seconds" <<<"$out" | tail -1)" >&2
    [[ -n $n && $n -gt 0 ]] || { echo "? ?"; echo "$out" >"$TMP/s_time-$port$1.log"; return; }
    python3 -c "print(f'{$n / ($w1 - $w0):.0f} {($t1 - $t0) / $(getconf CLK_TCK) * 1e6 / $n:.0f}')"
}

# wrk_run PORT [wrk options] -> "requests/s cpu_us_per_request": C connections over https for DURATION seconds
# (after 1 s of warm-up); with "Connection: close" every request is a new connection and a full handshake.
wrk_run() {
    local port=$1 out reqs t0 t1
    shift
    "${CLIENT[@]}" wrk -t1 -c"$CONNECTIONS" -d1s "$@" "https://127.0.0.1:$port/" >/dev/null 2>&1 || true
    t0=$(cpu_ticks "${PROXY_PIDS[@]}")
    out=$("${CLIENT[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$@" "https://127.0.0.1:$port/" 2>&1) || true
    t1=$(cpu_ticks "${PROXY_PIDS[@]}")
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$out")
    [[ -n $reqs && $reqs -gt 0 ]] || { echo "? ?"; echo "$out" >"$TMP/wrk-$port.log"; return; }
    python3 -c "print(f'{$reqs / $DURATION:.0f} {($t1 - $t0) / $(getconf CLK_TCK) * 1e6 / $reqs:.1f}')"
}

# idle_rss PORT -> bytes of proxy RSS per idle keep-alive TLS connection (IDLE of them, one request each, held 3 s
# so that gatehouse's idle tick has given their buffers back), or "-" when skipped.
idle_rss() {
    [[ $IDLE -gt 0 ]] || { echo "-"; return; }
    ulimit -n $(( IDLE + 256 )) 2>/dev/null || true
    "${CLIENT[@]}" python3 - "$1" "$IDLE" "${PROXY_PIDS[@]}" <<'PY' || echo "?"
import socket, ssl, sys, time
port, n, pids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
def rss():
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += sum(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return total
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def one_request(t):
    t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data: data += t.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < length: body += t.recv(65536)
held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")]
one_request(held[0]); time.sleep(1)
before = rss()
for _ in range(n):
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    one_request(t); held.append(t)
time.sleep(3)
print(f"{(rss() - before) * 1024 / n:.0f}")
PY
}

declare -A FULL=() RESUMED=() CLOSE=() KEEP=() IDLE_RSS=()
GATEHOUSE_NOTE=""
for proxy in gatehouse nginx haproxy; do
    port=$(free_port)
    if [[ $proxy == gatehouse ]]; then
        gatehouse_conf "$port" >"$TMP/gatehouse.toml"
        if ! "$GATEHOUSE" check -c "$TMP/gatehouse.toml" >"$TMP/gatehouse-check.log" 2>&1; then
            GATEHOUSE_NOTE="this gatehouse has no TLS listener: \`gatehouse check\` refuses the [tls] table ($(grep -m1 -i 'tls' "$TMP/gatehouse-check.log" || head -1 "$TMP/gatehouse-check.log")); its rows are empty."
            echo "tls_bench: $GATEHOUSE_NOTE" >&2
            continue
        fi
    fi
    start_proxy "$proxy" "$port"
    curl_ok=$(python3 - "$port" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s, ctx.wrap_socket(s) as t:
    t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    print(t.recv(12).decode("latin-1"))
PY
) || true
    [[ $curl_ok == "HTTP/1.1 200" ]] || die "$proxy does not answer 200 over TLS (got '$curl_ok'); see $TMP/$proxy.log"
    echo "$proxy: full handshakes ..." >&2;    FULL[$proxy]=$(s_time "$port" -new)
    echo "$proxy: resumed handshakes ..." >&2; RESUMED[$proxy]=$(s_time "$port" -reuse -tls1_2)
    echo "$proxy: a connection per request ..." >&2; CLOSE[$proxy]=$(wrk_run "$port" -H "Connection: close")
    echo "$proxy: keep-alive ..." >&2;         KEEP[$proxy]=$(wrk_run "$port")
    echo "$proxy: idle connections ..." >&2;   IDLE_RSS[$proxy]=$(idle_rss "$port")
    stop_pid "$PROXY_PID"
done

echo
echo "TLS, one plain node, $(nproc) cores, ${KEY_TYPE^^} certificate, $DURATION s each; $(openssl version | awk '{ print $1, $2 }'); $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | awk '{ print $1, $3 }')"
echo
echo "| proxy | full handshakes/s (1 client) | CPU per full | resumed/s (TLS 1.2, 1 client) | CPU per resumed | a connection per request, req/s ($CONNECTIONS conns) | CPU per request | keep-alive req/s ($CONNECTIONS conns) | CPU per request | RSS per idle TLS connection ($IDLE) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for proxy in gatehouse nginx haproxy; do
    read -r f fc <<<"${FULL[$proxy]:-- -}"
    read -r r rc <<<"${RESUMED[$proxy]:-- -}"
    read -r c cc <<<"${CLOSE[$proxy]:-- -}"
    read -r k kc <<<"${KEEP[$proxy]:-- -}"
    i=${IDLE_RSS[$proxy]:--}
    [[ $i =~ ^-?[0-9]+$ ]] && i="$(python3 -c "print(f'{$i / 1024:.1f}')") KiB"
    printf '| %s | %s | %s µs | %s | %s µs | %s | %s µs | %s | %s µs | %s |\n' "$proxy" "$f" "$fc" "$r" "$rc" "$c" "$cc" "$k" "$kc" "$i"
done
[[ -z $GATEHOUSE_NOTE ]] || { echo; echo "$GATEHOUSE_NOTE"; }
