"""The processes of the end-to-end suite: PostgreSQL, Redis, NocoBase nodes and gatehouse, each on 127.0.0.1, each
started in its own process group and stopped by its own PID (the group it leads). Every wait is bounded."""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

LOOPBACK = "127.0.0.1"


class E2EFailure(Exception):
    """A scenario's check failed; the message says what the client saw."""


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout, interval=0.1):
    """Polls predicate() until it returns a true value (returned) or `timeout` seconds pass (E2EFailure)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a poll that throws is "not yet"
            last = e
        time.sleep(interval)
    raise E2EFailure(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last})" if last else ""))


def tail(path, lines=60, width=400):
    """The last `lines` lines of a log, each cut at `width` characters (NocoBase logs long JSON lines)."""
    try:
        with open(path, errors="replace") as f:
            return "".join(l if len(l) <= width else l[:width] + "...\n" for l in f.readlines()[-lines:])
    except OSError as e:
        return f"({path}: {e})"


class Process:
    """One started process, leader of its own process group; its output goes to `log`."""

    def __init__(self, name, argv, log, env=None, cwd=None, user=None):
        self.name, self.log = name, log
        out = open(log, "ab")
        self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                      cwd=cwd, start_new_session=True, user=user)
        out.close()

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal_group(self, sig):
        try:
            os.killpg(self.popen.pid, sig)  # the group this process leads: it and the children it started
        except ProcessLookupError:
            pass

    def stop(self, timeout=15.0, sig=signal.SIGTERM):
        """Signals the group, waits up to `timeout` s, then SIGKILLs whatever of the group is left."""
        if self.alive():
            self.signal_group(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Postgres:
    """A private PostgreSQL 15 cluster (Debian's binaries) in `root`/pg, fsync off; run as user postgres when root."""

    def __init__(self, root):
        self.bin = self._bindir()
        self.dir = os.path.join(root, "pg")
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        os.makedirs(self.dir)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL, user=self.user, timeout=120)
        self.proc = Process("postgres", [os.path.join(self.bin, "postgres"), "-D", self.dir, "-p", str(self.port),
                                         "-k", self.dir, "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off",
                                         "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                            os.path.join(root, "postgres.log"), user=self.user)
        wait_until("PostgreSQL to accept connections", lambda: self.psql("select 1", check=False) == 0, 30)
        self.psql("create user nocobase password 'nocobase' superuser")
        self.psql("create database nocobase owner nocobase")

    @staticmethod
    def _bindir():
        for v in ("15", "16", "17"):
            d = f"/usr/lib/postgresql/{v}/bin"
            if os.path.exists(os.path.join(d, "postgres")):
                return d
        raise E2EFailure("PostgreSQL server binaries not found: install Debian's postgresql (deploy/setup.sh e2e does)")

    def psql(self, sql, check=True):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
        if check and r.returncode != 0:
            raise E2EFailure(f"psql {sql!r}: {r.stderr.decode(errors='replace')}")
        return r.returncode


class Redis:
    def __init__(self, root):
        self.port = free_port()
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = Process("redis", [exe, "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                                      "--appendonly", "no", "--dir", root], os.path.join(root, "redis.log"))
        wait_until("Redis to accept connections", lambda: socket.create_connection((LOOPBACK, self.port), 1).close()
                   or True, 20)


class NocoBase:
    """The app's CLI and nodes. Every node shares the database, storage, APP_KEY and the AES key; each has its own
    port, IPC socket and PM2 home. `nocobase start` runs the server as its child: a node is its process group."""

    def __init__(self, app, node_bin, root, pg, redis):
        self.app, self.root = app, root
        # The CLI runs other commands of the app (nocobase-v1, yarn) by name, as `yarn nocobase` would find them.
        path = os.pathsep.join([os.path.join(app, "node_modules/.bin"), os.path.dirname(node_bin),
                                os.environ.get("PATH", "")])
        self.base_env = dict(os.environ, PATH=path, APP_ENV="production", NODE_ENV="production",
                             APP_KEY="gatehouse-e2e-app-key-0123456789abcdef0123456789abcdef",
                             APP_AES_SECRET_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                             DB_DIALECT="postgres", DB_HOST=LOOPBACK, DB_PORT=str(pg.port), DB_DATABASE="nocobase",
                             DB_USER="nocobase", DB_PASSWORD="nocobase", STORAGE_PATH=os.path.join(root, "storage"),
                             APP_LAUNCH_MODE="node", APP_HOST=LOOPBACK, CACHE_DEFAULT_STORE="redis",
                             CACHE_REDIS_URL=f"redis://{LOOPBACK}:{redis.port}/0", LOGGER_TRANSPORT="console",
                             INIT_ROOT_EMAIL="admin@nocobase.com", INIT_ROOT_PASSWORD="admin123", TZ="UTC")
        self.cli = [node_bin, os.path.join(app, "node_modules/@nocobase/cli-v1/bin/index.js")]
        self.nodes = {}

    def env(self, name):
        port = self.nodes[name]["port"]
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        return dict(self.base_env, APP_PORT=str(port), SOCKET_PATH=os.path.join(d, "gateway.sock"),
                    PM2_HOME=os.path.join(d, "pm2"))

    def add_node(self, name):
        self.nodes[name] = {"port": free_port(), "proc": None}
        return self.nodes[name]["port"]

    def run_cli(self, name, args, timeout, log_name):
        """Runs `nocobase <args>` with node `name`'s environment to the end (within `timeout` s)."""
        log = os.path.join(self.root, log_name)
        p = Process(log_name, self.cli + args, log, env=self.env(name), cwd=self.app)
        try:
            rc = p.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            p.stop()
            raise E2EFailure(f"nocobase {' '.join(args)} took over {timeout} s:\n{tail(log)}")
        if rc != 0:
            raise E2EFailure(f"nocobase {' '.join(args)} failed ({rc}):\n{tail(log)}")

    def start(self, name):
        n = self.nodes[name]
        n["proc"] = Process(name, self.cli + ["start"], os.path.join(self.root, name + ".log"), env=self.env(name),
                            cwd=self.app)
        return n["proc"]

    def health(self, name):
        return http_status(f"http://{LOOPBACK}:{self.nodes[name]['port']}/api/__health_check", 1.0)

    def wait_healthy(self, name, timeout=90):
        proc = self.nodes[name]["proc"]

        def ok():
            if not proc.alive():
                raise E2EFailure(f"{name} exited:\n{tail(proc.log)}")
            return self.health(name) == (200, b"ok")
        try:
            wait_until(f"{name} to pass its health check", ok, timeout, 0.1)
        except E2EFailure as e:
            raise E2EFailure(f"{e}\n--- {name} log:\n{tail(proc.log)}") from None

    def stop(self, name, sig=signal.SIGTERM):
        proc = self.nodes[name]["proc"]
        if proc:
            proc.stop(sig=sig)

    def stop_all(self):
        for name in self.nodes:
            self.stop(name)


class Gatehouse:
    """The Release binary with a generated configuration (plain and TLS listeners, admin API with a token)."""

    def __init__(self, binary, root, name, nodes, balance, cert, key, page):
        self.binary, self.name = binary, name
        self.port, self.tls_port, self.admin_port = free_port(), free_port(), free_port()
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.token = os.urandom(16).hex()
        self.cookie = ("gh_bypass", os.urandom(20).hex())
        self.access_log = os.path.join(self.dir, "access.log")
        with open(os.path.join(self.dir, "token"), "w") as f:
            f.write(self.token + "\n")
        node_text = "".join(f'[[upstream.node]]\nname = "{n}"\naddress = "{LOOPBACK}:{p}"\n\n' for n, p in nodes)
        self.config = os.path.join(self.dir, "gatehouse.toml")
        with open(self.config, "w") as f:
            f.write(f"""[proxy]
listen = ["{LOOPBACK}:{self.port}"]
workers = 2
[tls]
listen = ["{LOOPBACK}:{self.tls_port}"]
cert = "{cert}"
key = "{key}"
[upstream]
balance = "{balance}"
{node_text}[health_check]
interval = "2s"
jitter = "200ms"
[admin]
listen = "{LOOPBACK}:{self.admin_port}"
token_file = "token"
[maintenance]
page = "{page}"
retry_after = "5s"
bypass_cookie = "{self.cookie[0]}={self.cookie[1]}"
[log]
access = "access.log"
access_format = "json"
""")
        self.proc = Process(name, [binary, "serve", "-c", self.config], os.path.join(self.dir, "gatehouse.log"))
        wait_until(f"{name} to listen", lambda: socket.create_connection((LOOPBACK, self.port), 1).close() or True, 20)

    def admin(self, method, path, body=None):
        req = urllib.request.Request(f"http://{LOOPBACK}:{self.admin_port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read() or b"{}")

    def cli(self, *args):
        """`gatehouse <args>` against this instance's admin API (as an operator types it); returns its output."""
        r = subprocess.run([self.binary, *args, "-c", self.config], capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise E2EFailure(f"gatehouse {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def node_health(self):
        return {n["name"]: n["health"] for n in self.admin("GET", "/api/status")["nodes"]}

    def access_lines(self):
        out = []
        try:
            with open(self.access_log) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        except OSError:
            pass
        return out


def make_certificate(root):
    cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", f"subjectAltName=DNS:localhost,IP:{LOOPBACK}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key
