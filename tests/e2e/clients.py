"""Real clients of the end-to-end suite (standard library only): HTTP(S) API calls from a chosen loopback source
address, a WebSocket client (RFC 6455, plain or TLS), and a W3C WebDriver client for Debian's headless Chromium
(the same protocol tests/browser/webdriver.cpp speaks)."""
import base64
import http.client
import json
import os
import socket
import ssl
import struct
import subprocess
import time

from cluster import LOOPBACK, E2EFailure, Process, free_port, tail, wait_until

UNVERIFIED = ssl._create_unverified_context()  # our own self-signed certificate, on loopback


class Api:
    """NocoBase API calls through gatehouse from source address `source` (127.0.0.x: ip_hash sees distinct clients)."""

    def __init__(self, port, tls=False, source=LOOPBACK, token=None, cookie=None):
        self.port, self.tls, self.source, self.token, self.cookie = port, tls, source, token, cookie
        self.conn = None

    def _connection(self):
        if self.conn is None:
            if self.tls:
                self.conn = http.client.HTTPSConnection(LOOPBACK, self.port, timeout=15, context=UNVERIFIED,
                                                        source_address=(self.source, 0))
            else:
                self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=15, source_address=(self.source, 0))
        return self.conn

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers dict (lower-case names), body bytes). A broken connection raises."""
        h = {"User-Agent": "gatehouse-e2e", "Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.cookie:
            h["Cookie"] = self.cookie
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        try:
            c = self._connection()
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except Exception:
            self.close()
            raise

    def json(self, method, path, body=None, headers=None):
        status, _, data = self.request(method, path, body, headers)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data[:300].decode(errors="replace")}

    def sign_in(self):
        status, j = self.json("POST", "/api/auth:signIn", {"account": "admin@nocobase.com", "password": "admin123"},
                              {"X-Authenticator": "basic"})
        if status != 200:
            raise E2EFailure(f"sign-in through gatehouse answered {status}: {j}")
        self.token = j["data"]["token"]
        return self.token

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


class WebSocket:
    """One WebSocket (text frames) to `path` through gatehouse; raises E2EFailure when the handshake is refused."""

    def __init__(self, port, tls=False, path="/ws", source=LOOPBACK, timeout=10):
        raw = socket.create_connection((LOOPBACK, port), timeout, source_address=(source, 0))
        self.sock = UNVERIFIED.wrap_socket(raw, server_hostname="localhost") if tls else raw
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"User-Agent: gatehouse-e2e\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise E2EFailure(f"WebSocket handshake: connection closed after {head[:200]!r}")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        self.status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in self.status_line + " ":
            raise E2EFailure(f"WebSocket handshake refused: {head[:400].decode(errors='replace')}")

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("WebSocket connection closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self, timeout):
        """The next text message (str); None on a close frame; raises socket.timeout / ConnectionError."""
        self.sock.settimeout(timeout)
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                return None
            if opcode in (1, 2):
                return payload.decode(errors="replace")

    def receive_json(self, timeout):
        msg = self.receive(timeout)
        return None if msg is None else json.loads(msg)

    def authenticate(self, token):
        self.send(json.dumps({"type": "auth:token", "payload": {"token": token, "authenticator": "basic"}}))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = self.receive_json(max(0.1, deadline - time.monotonic()))
            if m is None:
                raise E2EFailure("the WebSocket was closed instead of authorizing")
            if m.get("type") == "authorized":
                return
        raise E2EFailure("no {type: authorized} within 15 s after auth:token")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """Headless Chromium through chromedriver (W3C WebDriver over HTTP), its own profile under `root`."""

    def __init__(self, root):
        self.dir = os.path.join(root, "browser")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        driver = os.environ.get("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver")
        chromium = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")
        for exe in (driver, chromium):
            if not os.access(exe, os.X_OK):
                raise E2EFailure(f"{exe} is missing: install Debian's chromium and chromium-driver")
        self.driver = Process("chromedriver", [driver, f"--port={self.port}", f"--log-path={self.dir}/chromedriver.log"],
                              os.path.join(self.dir, "chromedriver.out"))
        wait_until("chromedriver to be ready", lambda: self._call("GET", "/status")["value"]["ready"], 20)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,900", "--ignore-certificate-errors",
                f"--user-data-dir={self.dir}/profile"]
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": chromium, "args": args},
                "timeouts": {"pageLoad": 60000, "script": 20000, "implicit": 0},
                "unhandledPromptBehavior": "ignore"}
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, 60)["value"]["sessionId"]

    def _call(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = json.loads(r.read() or b"{}")
        finally:
            c.close()
        if r.status != 200:
            raise E2EFailure(f"WebDriver {method} {path}: {data.get('value', data)}")
        return data

    def command(self, method, path, body=None, timeout=70):
        return self._call(method, f"/session/{self.session}{path}", body if body is not None else {}
                          if method == "POST" else None, timeout)["value"]

    def navigate(self, url):
        self.command("POST", "/url", {"url": url})

    def execute(self, script, *args):
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def text(self):
        return self.execute("return document.body ? document.body.innerText : '';") or ""

    def find(self, css):
        v = self.command("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def type_into(self, css, text):
        self.command("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.command("POST", f"/element/{self.find(css)}/click")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.command("GET", "/screenshot")))

    def close(self):
        try:
            self._call("DELETE", f"/session/{self.session}", timeout=20)
        except Exception:  # noqa: BLE001 - the driver's group is stopped below anyway
            pass
        self.driver.stop(5)

    def log_tail(self):
        return tail(os.path.join(self.dir, "chromedriver.log"), 20)


def run_quiet(argv, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
