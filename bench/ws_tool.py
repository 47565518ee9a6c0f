#!/usr/bin/env python3
"""WebSocket pieces of bench/websocket_bench.sh (loopback only, standard library only):

  ws_tool.py echo --port P          a WebSocket echo node (RFC 6455 handshake, echoes each message unmasked)
  ws_tool.py idle --port P --tunnels N --pids A,B
                                    N tunnels through a proxy, one 32-byte message each, then held: prints the
                                    proxy processes' RSS gained per tunnel
  ws_tool.py rtt --port P --connections C --rate R --duration D --pids A,B
                                    C tunnels, 32-byte messages paced at R round-trips/s in all for D seconds:
                                    prints round-trips done, latency and the proxy's CPU time per round-trip

idle and rtt take --tls: the tunnels are wss (TLS to the proxy, its certificate not verified).

Each prints one line of key=value pairs. Messages are single unfragmented text frames; the client masks them with a
fixed key (the proxies under test do not parse frames, and the echo node unmasks whatever key it gets)."""
import argparse
import asyncio
import base64
import hashlib
import os
import resource
import socket
import ssl
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
MESSAGE = b"x" * 32
MASK = b"\x11\x22\x33\x44"
TLS = None  # an ssl.SSLContext with --tls


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def masked_frame(payload):
    """A client's text frame (FIN, opcode 1), payload under 126 bytes, masked with MASK."""
    assert len(payload) < 126
    key = (MASK * (len(payload) // 4 + 1))[: len(payload)]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(len(payload), "big")
    return bytes([0x81, 0x80 | len(payload)]) + MASK + body


FRAME = masked_frame(MESSAGE)
REPLY_SIZE = 2 + len(MESSAGE)  # the node's unmasked echo of FRAME


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted after the ")"
    return ticks / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------- echo node
class EchoNode(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = bytearray()
        self.open = False

    def data_received(self, data):
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            key = b""
            for line in bytes(self.buf[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.t.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            del self.buf[: end + 4]
            self.open = True
        self.frames()

    def frames(self):
        buf = self.buf
        out = []
        while len(buf) >= 2:
            opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, at = int.from_bytes(buf[2:10], "big"), 10
            masked = buf[1] & 0x80
            if len(buf) < at + (4 if masked else 0) + n:
                break
            payload = bytes(buf[at + (4 if masked else 0): at + (4 if masked else 0) + n])
            if masked and n:
                key = bytes(buf[at: at + 4])
                key = (key * (n // 4 + 1))[:n]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
            del buf[: at + (4 if masked else 0) + n]
            if opcode == 8:  # close: answer it and end
                self.t.write(b"\x88\x00")
                self.t.close()
                return
            op = 0x8A if opcode == 9 else 0x80 | opcode  # a ping gets its pong, anything else comes back
            if n < 126:
                out.append(bytes([op, n]) + payload)
            elif n < 65536:
                out.append(bytes([op, 126]) + n.to_bytes(2, "big") + payload)
            else:
                out.append(bytes([op, 127]) + n.to_bytes(8, "big") + payload)
        if out:
            self.t.write(b"".join(out))


async def echo(a):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoNode, "127.0.0.1", a.port, backlog=4096, reuse_address=True)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------------------------------------------- clients
class Tunnel(asyncio.Protocol):
    """One client tunnel: the handshake, then counts the echoes of FRAME it receives (by size)."""

    def __init__(self, on_reply=None):
        self.opened = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.received = 0
        self.replies = 0
        self.on_reply = on_reply
        self.closed = False

    def connection_made(self, transport):
        self.t = transport
        key = base64.b64encode(os.urandom(16))
        transport.write(b"GET /ws HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")

    def data_received(self, data):
        if not self.opened.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(RuntimeError("no 101: " + bytes(self.head[:40]).decode("latin-1")))
                return
            data = bytes(self.head[end + 4:])
            self.opened.set_result(True)
        self.received += len(data)
        done = self.received // REPLY_SIZE
        if done > self.replies:
            n, self.replies = done - self.replies, done
            if self.on_reply:
                self.on_reply(self, n)

    def connection_lost(self, exc):
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(RuntimeError("closed during the handshake"))


async def open_tunnel(port, on_reply=None):
    loop = asyncio.get_running_loop()
    _, tunnel = await loop.create_connection(lambda: Tunnel(on_reply), "127.0.0.1", port, ssl=TLS,
                                             server_hostname="localhost" if TLS else None)
    await asyncio.wait_for(tunnel.opened, 10)
    return tunnel


async def one_message_each(port, count, batch=200):
    """Opens `count` tunnels (`batch` at a time), each sends FRAME and waits for its echo."""
    tunnels = []

    async def one():
        t = await open_tunnel(port)
        t.t.write(FRAME)
        deadline = time.monotonic() + 10
        while t.replies < 1:
            if time.monotonic() > deadline or t.closed:
                raise RuntimeError("no echo within 10 s")
            await asyncio.sleep(0.005)
        return t

    for i in range(0, count, batch):
        tunnels += await asyncio.gather(*(one() for _ in range(min(batch, count - i))))
    return tunnels


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))


async def idle(a):
    pids = [int(p) for p in a.pids.split(",") if p]
    raise_nofile(a.tunnels + 256)
    for t in await one_message_each(a.port, 20):  # warm-up: pools and caches the first tunnels grow
        t.t.close()
    await asyncio.sleep(1)
    before = rss_kib(pids)
    tunnels = await one_message_each(a.port, a.tunnels)
    await asyncio.sleep(a.hold)
    after = rss_kib(pids)
    closed = sum(t.closed for t in tunnels)
    for t in tunnels:
        t.t.close()
    per = (after - before) * 1024 / a.tunnels
    print(f"tunnels={a.tunnels} rss_before_kib={before} rss_after_kib={after} per_tunnel_b={per:.0f} "
          f"closed_during_hold={closed}")
    return 1 if closed else 0


async def rtt(a):
    pids = [int(p) for p in a.pids.split(",") if p]
    raise_nofile(a.connections + 256)
    sent_at = {}
    latencies = []
    measuring = [False]

    def on_reply(t, n):
        q = sent_at[t]
        now = time.perf_counter()
        for _ in range(n):
            s = q.pop(0)
            if measuring[0]:
                latencies.append(now - s)

    tunnels = [await open_tunnel(a.port, on_reply) for _ in range(a.connections)]
    for t in tunnels:
        sent_at[t] = []
    max_outstanding = 16  # per tunnel: beyond this a send is skipped (counted), the rate is not met
    state = {"sent": 0, "skipped": 0}

    async def pace(seconds):
        start = time.perf_counter()
        due = 0
        i = 0
        while True:
            now = time.perf_counter()
            if now - start >= seconds:
                return
            target = int((now - start) * a.rate)
            while due < target:
                t = tunnels[i % len(tunnels)]
                i += 1
                due += 1
                if len(sent_at[t]) >= max_outstanding:
                    state["skipped"] += 1
                    continue
                sent_at[t].append(time.perf_counter())
                t.t.write(FRAME)
                state["sent"] += 1
            await asyncio.sleep(0.001)

    await pace(a.warmup)
    replies0 = sum(t.replies for t in tunnels)
    cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
    measuring[0] = True
    skipped0 = state["skipped"]
    await pace(a.duration)
    cpu1, wall1 = cpu_seconds(pids), time.perf_counter()
    measuring[0] = False
    replies = sum(t.replies for t in tunnels) - replies0
    skipped = state["skipped"] - skipped0
    closed = sum(t.closed for t in tunnels)
    for t in tunnels:
        t.t.close()
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6 if latencies else float("nan")

    cpu_us = (cpu1 - cpu0) * 1e6 / replies if replies else float("nan")
    print(f"round_trips={replies} rate={replies / (wall1 - wall0):.0f} cpu_s={cpu1 - cpu0:.2f} "
          f"cpu_us_per_rt={cpu_us:.1f} p50_us={pct(0.5):.0f} p99_us={pct(0.99):.0f} skipped={skipped} "
          f"closed={closed}")
    return 1 if closed or not replies else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--port", type=int, required=True)
    i = sub.add_parser("idle")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--tunnels", type=int, default=2000)
    i.add_argument("--hold", type=float, default=2, help="seconds between the last echo and the RSS reading")
    i.add_argument("--pids", required=True)
    i.add_argument("--tls", action="store_true")
    r = sub.add_parser("rtt")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--connections", type=int, default=50)
    r.add_argument("--rate", type=float, default=10000, help="round-trips per second, all connections together")
    r.add_argument("--duration", type=float, default=10)
    r.add_argument("--warmup", type=float, default=1)
    r.add_argument("--pids", required=True)
    r.add_argument("--tls", action="store_true")
    a = ap.parse_args()
    run = {"echo": echo, "idle": idle, "rtt": rtt}[a.cmd]
    global TLS
    if getattr(a, "tls", False):
        TLS = client_tls_context()
    try:
        sys.exit(asyncio.run(run(a)) or 0)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
