"""The end-to-end scenarios (issue 17), each asserting what a client sees through gatehouse. Each function gets the
running world (e2e.World) and raises E2EFailure with what went wrong."""
import json
import os
import signal
import threading
import time

from clients import Api, WebSocket
from cluster import E2EFailure, wait_until

GATEHOUSE_CODES = ("APP_UNAVAILABLE", "APP_STARTING")  # what gatehouse answers on its own when no node can serve


def check(condition, message):
    if not condition:
        raise E2EFailure(message)


def browser_sign_in_and_list_users(w, base):
    """The browser loads the app at `base`, signs in through the form (unless still signed in there) and opens the
    users list."""
    b = w.browser
    b.navigate(base + "/signin")
    form = wait_until(f"the sign-in form (or the app, still signed in) at {base}", lambda: b.execute(
        "return document.querySelector('input[type=password]') ? 'form' : "
        "(location.pathname.indexOf('/admin') === 0 ? 'app' : '');"), 90, 0.5)
    if form == "form":
        b.type_into("input[placeholder='Username/Email'], input[type=text]", "admin@nocobase.com")
        b.type_into("input[type=password]", "admin123")
        b.click("button[type=submit]")
        wait_until("the app after signing in", lambda: "/admin" in b.execute("return location.pathname;"), 60, 0.5)
    b.navigate(base + "/admin/settings/users-permissions/users")
    wait_until("the users list to show the admin user", lambda: "admin@nocobase.com" in b.text(), 90, 0.5)


def browser_websockets(w, gh):
    """Open WebSocket tunnels per node, as gatehouse's status counts them."""
    return {n["name"]: n["websockets"] for n in gh.admin("GET", "/api/status")["nodes"]}


def ws_round(w, port, tls, token):
    """A WebSocket through gatehouse: it authenticates, stays open for 3 s, and answers again."""
    ws = WebSocket(port, tls)
    try:
        ws.authenticate(token)
        time.sleep(3)
        ws.authenticate(token)
    finally:
        ws.close()


def scenario_1_browser_and_websocket(w):
    """The browser loads the app through gatehouse (plain and TLS), signs in, lists users; WebSockets authenticate."""
    gh = w.gh
    api = Api(gh.port)
    api.sign_in()
    for tls, port in ((False, gh.port), (True, gh.tls_port)):
        ws_round(w, port, tls, api.token)
    browser_sign_in_and_list_users(w, f"http://127.0.0.1:{gh.port}")
    browser_sign_in_and_list_users(w, f"https://127.0.0.1:{gh.tls_port}")
    wait_until("the browser's WebSocket through gatehouse", lambda: sum(browser_websockets(w, gh).values()) >= 1, 30)
    w.browser.screenshot(os.path.join(w.out, "app-through-gatehouse.png"))
    time.sleep(3)
    check(sum(browser_websockets(w, gh).values()) >= 1, "the browser's WebSocket did not stay open")


def nodes_of(lines, predicate):
    return {l["node"] for l in lines if predicate(l) and l.get("node") and l["node"] != "-"}


def scenario_2_balancing(w):
    """ip_hash keeps the browser's requests and WebSocket on one node; round-robin spreads the API."""
    gh, rr = w.gh, w.gh_rr
    browser_lines = [l for l in gh.access_lines() if "HeadlessChrome" in l.get("http_user_agent", "")]
    browser_nodes = nodes_of(browser_lines, lambda l: True)
    check(len(browser_lines) >= 10 and len(browser_nodes) == 1,
          f"ip_hash: the browser's {len(browser_lines)} requests went to {sorted(browser_nodes)}")
    ws = {n: c for n, c in browser_websockets(w, gh).items() if c}
    check(list(ws) == list(browser_nodes), f"ip_hash: the browser's WebSocket is on {ws}, its requests on "
                                           f"{sorted(browser_nodes)}")
    per_source = {}
    for i in range(2, 18):
        source = f"127.0.0.{i}"
        api = Api(gh.port, source=source)
        for _ in range(3):
            status, headers, _ = api.request("GET", "/api/app:getInfo", headers={"X-E2E-Source": source})
            check(status == 200, f"ip_hash: {source} got {status}")
        api.close()
    time.sleep(0.5)  # the access log is written every 100 ms
    for l in gh.access_lines():
        peer = l.get("peer_addr", "")
        if l.get("uri") == "/api/app:getInfo" and peer.startswith("127.0.0.") and peer != "127.0.0.1":
            per_source.setdefault(peer, set()).add(l["node"])
    check(all(len(n) == 1 for n in per_source.values()), f"ip_hash moved a client between nodes: {per_source}")
    check(len(set().union(*per_source.values())) == 2, f"ip_hash: 16 clients all on one node: {per_source}")
    api = Api(rr.port)
    for _ in range(20):
        check(api.request("GET", "/api/app:getInfo")[0] == 200, "round-robin: a request failed")
    time.sleep(0.5)
    counts = {}
    for l in rr.access_lines():
        if l.get("uri") == "/api/app:getInfo":
            counts[l["node"]] = counts.get(l["node"], 0) + 1
    check(len(counts) == 2 and min(counts.values()) >= 8, f"round-robin: 20 requests spread as {counts}")


class SteadyLoad:
    """Client threads (each its own source address) sending idempotent API requests until stopped."""

    def __init__(self, port, token, threads=4):
        self.stop_flag = threading.Event()
        self.failures, self.done, self.lock = [], 0, threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(port, token, f"127.0.0.{30 + t}"), daemon=True)
                        for t in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, port, token, source):
        api = Api(port, source=source, token=token)
        deadline = time.monotonic() + 120
        paths = ("/api/users:list", "/api/app:getInfo", "/api/roles:check")
        i = 0
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += 1
            try:
                status, _, body = api.request("GET", path)
                ok = status == 200
                what = f"{path}: {status} {body[:200]!r}"
            except Exception as e:  # noqa: BLE001 - a broken connection is a failure the client saw
                ok, what = False, f"{path}: {e}"
            with self.lock:
                self.done += 1
                if not ok:
                    self.failures.append(what)

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)


def scenario_3_node_killed_under_load(w):
    """A node is killed under steady API load: no failed idempotent request; the browser's WebSocket reconnects."""
    gh = w.gh
    ws = browser_websockets(w, gh)
    check(sum(ws.values()) >= 1, f"expected the browser's WebSocket open, status shows {ws}")
    victim = max(ws, key=ws.get)  # the node holding the browser's WebSocket
    survivor = next(n for n in w.nocobase.nodes if n != victim)
    survivor_before = ws.get(survivor, 0)
    api = Api(gh.port)
    api.sign_in()
    load = SteadyLoad(gh.port, api.token)
    try:
        time.sleep(3)
        w.nocobase.stop(victim, sig=signal.SIGKILL)
        wait_until(f"the browser's WebSocket to reconnect to {survivor}",
                   lambda: browser_websockets(w, gh).get(survivor, 0) > survivor_before, 30, 0.2)
        time.sleep(3)
    finally:
        load.stop()
    w.note(f"scenario 3: {load.done} requests under load, {len(load.failures)} failed; {victim} killed")
    check(load.done >= 50, f"only {load.done} requests were sent under load")
    check(not load.failures, f"{len(load.failures)} idempotent requests failed: {load.failures[:5]}")
    w.nocobase.start(victim)
    w.nocobase.wait_healthy(victim)
    wait_until(f"{victim} up in gatehouse", lambda: gh.node_health()[victim] == "up", 30)
