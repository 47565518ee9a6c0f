#!/usr/bin/env python3
"""Client side of bench/idle_memory.sh: opens N keep-alive connections to a proxy on 127.0.0.1, sends one request
on each (so each is a real keep-alive connection with a request behind it), then holds them idle and reports how
much resident memory the proxy's processes gained per connection.

Prints one line of key=value pairs; exits 1 when a connection failed or the proxy closed one during the hold.
Runs as its own process so its file descriptors do not count against the proxy's limit."""
import argparse
import os
import resource
import socket
import sys
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def request(sock, target):
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    data = b""
    deadline = time.monotonic() + 10
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").lower()
            if not head.startswith("http/1.1 200"):
                raise RuntimeError("unexpected answer: " + head.splitlines()[0])
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip() == "content-length":
                    length = int(value)
            if len(data) >= end + 4 + length:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("no complete answer within 10 s")
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the answer was complete")
        data += chunk


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def connect(port, i):
    """Connection i: from 127.0.0.1 for the first 20,000, then from 127.0.0.2, ... (a source address has about
    28,000 ephemeral ports). The port is picked at connect time, so ports in TIME_WAIT from an earlier run can be
    reused as they are for any connect()."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    if i >= 20000:
        s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((f"127.0.0.{1 + i // 20000}", 0))
    s.connect(("127.0.0.1", port))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=60, help="seconds held after the last one opened (at least 5)")
    ap.add_argument("--pids", required=True, help="comma-separated PIDs whose VmRSS is summed")
    a = ap.parse_args()
    pids = [int(p) for p in a.pids.split(",") if p]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < a.connections + 64:
        sys.exit(f"idle_clients: open-files hard limit {hard} is too low for {a.connections} connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # Warm-up: a few requests on short-lived connections, so pools, caches and first-use allocations exist
    # before the baseline is taken.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", a.port), timeout=10) as s:
            request(s, "/")
    time.sleep(1.0)
    before = rss_kib(pids)

    socks = []
    start = time.monotonic()
    for i in range(a.connections):
        s = connect(a.port, i)
        request(s, "/")
        socks.append(s)
    opened = time.monotonic()
    opened_s = opened - start

    def at(seconds):  # the RSS `seconds` after the last connection was opened
        time.sleep(max(0.0, opened + seconds - time.monotonic()))
        return rss_kib(pids)

    # Sampled 1 s and 5 s after the last connection opened, then every 5 s until the hold ends (at least 5 s):
    # the end sample is the figure held.
    at_open = at(1.0)
    at_5s = at(5.0)
    peak = max(at_open, at_5s)
    hold = max(a.hold, 5.0)
    while time.monotonic() < opened + hold:
        peak = max(peak, at(min(hold, time.monotonic() - opened + 5.0)))
    after = rss_kib(pids)

    # Every connection must still be open: an idle one has nothing to read, a closed one reads EOF.
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    for s in socks:
        s.close()

    n = a.connections
    print(f"connections={n} opened_in_s={opened_s:.1f} hold_s={a.hold:g} rss_before_kib={before} "
          f"rss_open_kib={at_open} rss_peak_kib={peak} rss_end_kib={after} "
          f"rss_5s_kib={at_5s} per_conn_open_b={(at_open - before) * 1024 / n:.0f} "
          f"per_conn_5s_b={(at_5s - before) * 1024 / n:.0f} per_conn_end_b={(after - before) * 1024 / n:.0f} "
          f"closed_during_hold={closed}")
    return 1 if closed else 0


if __name__ == "__main__":
    sys.exit(main())
