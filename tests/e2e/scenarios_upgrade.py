"""The upgrade scenarios (issue 17, 4-6): the runbook with maintenance mode, and a node upgrading with no node up,
seen by API clients, a WebSocket and the browser through gatehouse."""
import json
import os
import re
import threading
import time

from clients import Api, WebSocket
from cluster import E2EFailure, wait_until
from scenarios import GATEHOUSE_CODES, browser_sign_in_and_list_users, check


class Upgrade:
    """`nocobase upgrade --skip-code-update` sent to running node `name` over its IPC socket, in a thread (the code is
    pinned and already installed: this is the runbook's upgrade step, migrations and reload, without npm)."""

    def __init__(self, w, name):
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(w, name), daemon=True)
        self.thread.start()

    def _run(self, w, name):
        try:
            w.nocobase.run_cli(name, ["upgrade", "--skip-code-update"], 240, f"upgrade-{name}-{int(time.time())}.log")
        except Exception as e:  # noqa: BLE001 - reported by wait()
            self.error = e

    def wait(self, timeout=240):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise E2EFailure("nocobase upgrade did not finish")
        if self.error:
            raise E2EFailure(f"nocobase upgrade failed: {self.error}")


def maintaining_error(status, body):
    """NocoBase's maintaining JSON's `error` object, or None."""
    try:
        e = json.loads(body)["error"]
        return e if status == 503 and e.get("maintaining") is True else None
    except (ValueError, KeyError, TypeError):
        return None


def scenario_4_upgrade_runbook(w):
    """The seed's runbook with gatehouse's commands, from maintenance on to the browser back in the app."""
    gh, b, nb = w.gh, w.browser, w.nocobase
    base = f"http://127.0.0.1:{gh.port}"
    b.navigate(base + "/admin/settings/users-permissions/users")
    print(gh.cli("maintenance", "on", "--reason", "Upgrading NocoBase"), end="")
    b.navigate(base + "/")
    wait_until("the maintenance page in the browser", lambda: "Upgrading NocoBase" in b.text(), 20, 0.3)
    b.screenshot(os.path.join(w.out, "maintenance-page.png"))
    status, _, body = Api(gh.port).request("GET", "/api/app:getInfo")
    e = maintaining_error(status, body)
    check(e and e.get("code") == "APP_COMMANDING" and e.get("command", {}).get("name") == "upgrade",
          f"an API client during maintenance got {status} {body[:300]!r}")

    for name in nb.nodes:
        nb.stop(name)
    wait_until("both nodes down in gatehouse", lambda: set(gh.node_health().values()) == {"down"}, 30, 0.3)
    first = next(iter(nb.nodes))
    nb.start(first)
    nb.wait_healthy(first)
    upgrade = Upgrade(w, first)
    seen = wait_until(f"`gatehouse nodes` to show {first} starting with NocoBase's command and message",
                      lambda: re.search(rf"^{first}\s.*starting.*APP_COMMANDING upgrade: \S.*$",
                                        gh.cli("nodes"), re.M), 120, 0.2)
    w.note(f"scenario 4: gatehouse nodes showed: {seen.group(0).split()[0]} ... {seen.group(0)[-90:]}")
    upgrade.wait()
    wait_until(f"{first} up after its upgrade", lambda: gh.node_health()[first] == "up", 30, 0.2)

    verify = Api(gh.port, cookie=f"{gh.cookie[0]}={gh.cookie[1]}")
    status, j = verify.json("GET", "/api/app:getInfo")
    check(status == 200 and j["data"]["version"], f"verification with the bypass cookie got {status} {j}")
    status, _, body = Api(gh.port).request("GET", "/api/app:getInfo")
    check(maintaining_error(status, body), f"a client without the cookie got {status} {body[:200]!r} while verifying")
    check("Upgrading NocoBase" in b.text(), "the browser left the maintenance page while the operator verified")

    for name in nb.nodes:
        if name != first:
            nb.start(name)
            nb.wait_healthy(name)
    wait_until("every node up", lambda: set(gh.node_health().values()) == {"up"}, 30, 0.3)
    print(gh.cli("maintenance", "off"), end="")
    # The maintenance page reloads itself: the browser is back in the app with no navigation from us.
    wait_until("the browser back in the app by itself", lambda: b.execute(
        "return !!document.querySelector('#root') && document.body.innerText.indexOf('Upgrading NocoBase') < 0 && "
        "document.body.innerText.length > 20;"), 40, 0.5)


class Poller:
    """Polls one URL through gatehouse every 100 ms in a thread, keeping every distinct answer."""

    def __init__(self, port, path):
        self.answers, self.stop_flag = [], threading.Event()
        self.thread = threading.Thread(target=self._run, args=(port, path), daemon=True)
        self.thread.start()

    def _run(self, port, path):
        api = Api(port, source="127.0.0.60")
        deadline = time.monotonic() + 240
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                status, headers, body = api.request("GET", path)
                self.answers.append((time.monotonic(), status, headers, body))
            except Exception as e:  # noqa: BLE001 - kept as an answer the client saw
                self.answers.append((time.monotonic(), 0, {}, str(e).encode()))
            time.sleep(0.1)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)


def ws_messages_until_refresh(ws, timeout):
    """Reads maintaining frames until NocoBase's "running, refresh" one; returns every message read."""
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ws.receive_json(max(0.1, deadline - time.monotonic()))
        if m is None:
            raise E2EFailure(f"the WebSocket was closed during the upgrade after {got[-3:]}")
        got.append(m)
        p = m.get("payload") or {}
        if m.get("type") == "maintaining" and p.get("code") == "APP_RUNNING" and p.get("refresh"):
            return got
    raise E2EFailure(f"no APP_RUNNING refresh frame within {timeout} s; last frames {got[-3:]}")


def scenario_5_6_upgrade_without_maintenance(w):
    """No maintenance mode; the other node stopped: one node upgrades in place. Clients see NocoBase's own progress
    (5), a WebSocket open before stays open and hears the refresh (6), and the browser reloads itself."""
    gh, b, nb = w.gh, w.browser, w.nocobase
    names = list(nb.nodes)
    upgrading, other = names[0], names[1]
    api = Api(gh.port, source="127.0.0.61")
    token = api.sign_in()
    before = WebSocket(gh.port, source="127.0.0.62")  # scenario 6: open while the node is up
    before.authenticate(token)
    nb.stop(other)
    wait_until(f"{other} down in gatehouse", lambda: gh.node_health()[other] == "down", 30, 0.2)
    browser_sign_in_and_list_users(w, f"http://127.0.0.1:{gh.port}")
    b.execute("window.__e2e_before_upgrade = true;")
    poller = Poller(gh.port, "/api/app:getInfo")
    upgrade = Upgrade(w, upgrading)
    try:
        wait_until(f"gatehouse to see {upgrading} starting", lambda: gh.node_health()[upgrading] == "starting", 60, 0.1)
        during = WebSocket(gh.port, source="127.0.0.63")  # scenario 5: an upgrade with no node up goes to the node
        screen = wait_until("NocoBase's upgrade screen in the browser", lambda: (lambda t: t if "App upgrading" in t
                            or "App warning" in t else "")(b.text()), 60, 0.2)
        b.screenshot(os.path.join(w.out, "upgrading-through-gatehouse.png"))
        check("App warning" not in screen, f"the browser showed a generic warning, not the upgrade: {screen[-300:]}")
        frames_before = ws_messages_until_refresh(before, 180)
        frames_during = ws_messages_until_refresh(during, 60)
        ready = wait_until(f"{upgrading} to answer ok", lambda: nb.health(upgrading) == (200, b"ok") and
                           time.monotonic(), 60, 0.05)
        up = wait_until(f"{upgrading} up in gatehouse", lambda: gh.node_health()[upgrading] == "up" and
                        time.monotonic(), 30, 0.05)
        upgrade.wait()
    finally:
        poller.stop()
    before.authenticate(token)  # still open and served after the upgrade
    w.note(f"scenario 5: {upgrading} took traffic {up - ready:.2f} s after its health check passed; "
           f"{len(frames_before)} WebSocket frames during the upgrade")
    check(up - ready <= 1.0, f"{upgrading} took traffic {up - ready:.2f} s after it was ready (over 1 s)")
    check(any(f.get("type") == "maintaining" and f["payload"].get("code") == "APP_COMMANDING" for f in frames_before),
          f"no APP_COMMANDING progress frame on the open WebSocket: {frames_before[:3]}")
    progress = [maintaining_error(s, body) for _, s, h, body in poller.answers if s != 200]
    check(progress and all(progress), "during the upgrade a client got answers other than NocoBase's maintaining "
          f"JSON: {[(s, body[:120]) for _, s, h, body in poller.answers if s != 200][:5]}")
    ours = [e for e in progress if e.get("code") in GATEHOUSE_CODES]
    check(not ours, f"gatehouse answered with its own code during the upgrade: {ours[:2]}")
    check(any(e.get("code") == "APP_COMMANDING" and e.get("command", {}).get("name") == "upgrade" for e in progress),
          f"no APP_COMMANDING upgrade answer reached the client: {progress[:3]}")
    w.note(f"scenario 5: {len(progress)} maintaining answers relayed, e.g. {json.dumps(progress[len(progress) // 2])}")
    wait_until("the browser to reload itself after the upgrade", lambda: b.execute(
        "return window.__e2e_before_upgrade === undefined && document.body.innerText.length > 20;"), 60, 0.5)
    for ws in (before, during):
        ws.close()
    nb.start(other)
    nb.wait_healthy(other)
