# Shared by the bench scripts (sourced): a temporary directory and the processes started, stopped by PID on exit,
# free loopback ports, waiting for a listener. The sourcing script defines die() first.

# bench_tmp PREFIX: makes TMP (mktemp -d) and arranges for it and every PID in STARTED to go on exit.
bench_tmp() {
    TMP=$(mktemp -d -t "$1.XXXXXX")
    chmod 755 "$TMP"   # nginx workers run as nobody when started as root
    STARTED=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# stop_pid PID: TERM, up to 5 s, then KILL.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

bench_cleanup() {
    local p
    for p in "${STARTED[@]}"; do stop_pid "$p"; done
    rm -rf "$TMP"
}

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
