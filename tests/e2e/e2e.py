#!/usr/bin/env python3
"""The end-to-end suite's driver (tests/e2e/run.sh installs what it needs, then runs this): PostgreSQL and Redis on
private ports, the NocoBase database installed once, two nodes, gatehouse in front (ip_hash, and a round-robin
instance), headless Chromium; then scenarios 1-6 of issue 17 in order. Every process is stopped by its own PID at the
end; on a failure the logs of the nodes and of gatehouse are printed. Exit status 0 only when every scenario passed."""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clients import Browser  # noqa: E402
from cluster import E2EFailure, Gatehouse, NocoBase, Postgres, Redis, make_certificate, tail, wait_until  # noqa: E402
import scenarios  # noqa: E402
import scenarios_upgrade  # noqa: E402

SCENARIOS = [
    ("1 browser, sign-in, users list and WebSocket through gatehouse (plain and TLS)",
     scenarios.scenario_1_browser_and_websocket),
    ("2 ip_hash keeps a browser on one node; round-robin spreads the API", scenarios.scenario_2_balancing),
    ("3 a node killed under steady API load", scenarios.scenario_3_node_killed_under_load),
    ("4 the upgrade runbook with maintenance mode", scenarios_upgrade.scenario_4_upgrade_runbook),
    ("5+6 a node upgrading with no node up; an open WebSocket through it",
     scenarios_upgrade.scenario_5_6_upgrade_without_maintenance),
]


class World:
    """Everything the scenarios use; built by start(), torn down by stop()."""

    def __init__(self, args):
        self.args, self.out = args, args.out
        self.root = tempfile.mkdtemp(prefix="gatehouse-e2e-")
        os.chmod(self.root, 0o755)  # PostgreSQL runs as its own user when we are root
        self.notes, self.started = [], []
        self.pg = self.redis = self.nocobase = self.gh = self.gh_rr = self.browser = None

    def note(self, text):
        print("e2e: " + text, flush=True)
        self.notes.append(text)

    def timed(self, what, fn):
        start = time.monotonic()
        value = fn()
        self.note(f"{what}: {time.monotonic() - start:.1f} s")
        return value

    def start(self):
        cert, key = make_certificate(self.root)
        page = os.path.join(self.root, "maintenance.html")
        with open(os.path.join(os.path.dirname(__file__), "../../conf/maintenance.html")) as src, open(page, "w") as dst:
            dst.write(src.read().replace('content="30"', 'content="3"').replace("every 30 seconds", "every 3 seconds"))
        self.pg = self.timed("PostgreSQL initdb and start", lambda: Postgres(self.root))
        self.redis = Redis(self.root)
        self.nocobase = NocoBase(self.args.app, self.args.node, self.root, self.pg, self.redis)
        for name in ("node1", "node2"):
            self.nocobase.add_node(name)
        self.timed("nocobase install", lambda: self.nocobase.run_cli("node1", ["install"], 400, "install.log"))

        def start_nodes():
            # One node first, as NocoBase's cluster docs say: the first start seeds data, and two nodes seeding the
            # same fresh database at once collide (a unique violation leaves one in APP_ERROR).
            for name in self.nocobase.nodes:
                self.nocobase.start(name)
                self.nocobase.wait_healthy(name, 180)
        self.timed("two nodes started", start_nodes)
        nodes = [(n, v["port"]) for n, v in self.nocobase.nodes.items()]
        self.gh = Gatehouse(self.args.gatehouse, self.root, "gatehouse", nodes, "ip_hash", cert, key, page)
        self.gh_rr = Gatehouse(self.args.gatehouse, self.root, "gatehouse-rr", nodes, "round_robin", cert, key, page)
        for gh in (self.gh, self.gh_rr):
            wait_until(f"both nodes up in {gh.name}", lambda: set(gh.node_health().values()) == {"up"}, 30, 0.2)
        self.browser = self.timed("Chromium started", lambda: Browser(self.root))

    def ensure_cluster(self):
        """Before a scenario: maintenance off, every node running and up in both gatehouses (a scenario that failed
        half-way leaves the next one a normal cluster)."""
        for gh in (self.gh, self.gh_rr):
            gh.admin("DELETE", "/api/maintenance")
        for name, node in self.nocobase.nodes.items():
            if not node["proc"] or not node["proc"].alive():
                self.nocobase.start(name)
                self.nocobase.wait_healthy(name, 180)
        for gh in (self.gh, self.gh_rr):
            wait_until(f"every node up in {gh.name}", lambda: set(gh.node_health().values()) == {"up"}, 60, 0.2)

    def stop(self):
        if self.browser:
            self.browser.close()
        for gh in (self.gh, self.gh_rr):
            if gh:
                gh.proc.stop()
        if self.nocobase:
            self.nocobase.stop_all()
        for p in (self.redis, self.pg):
            if p:
                p.proc.stop()

    def dump_logs(self):
        """The logs that explain a failure: every node, gatehouse's event log, PostgreSQL."""
        logs = [os.path.join(self.root, f) for f in sorted(os.listdir(self.root)) if f.endswith(".log")]
        logs += [os.path.join(self.root, g, "gatehouse.log") for g in ("gatehouse", "gatehouse-rr")]
        for path in logs:
            if os.path.exists(path):
                print(f"----- {path} (last lines)\n{tail(path, 25)}", flush=True)
        if self.browser:
            print(f"----- chromedriver\n{self.browser.log_tail()}")

    def keep_logs(self):
        dest = os.path.join(self.out, "logs")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(self.root, dest, ignore=shutil.ignore_patterns("pg", "storage", "profile", "*.sock", "pm2"),
                        ignore_dangling_symlinks=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--app", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--gatehouse", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--only", default="", help="comma-separated scenario numbers to run (default: all)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # A SIGTERM (CI's time limit) unwinds like an error: every process started is still stopped by its PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    w = World(args)
    failed, start = [], time.monotonic()
    try:
        try:
            w.start()
        except Exception:
            traceback.print_exc()
            w.dump_logs()
            print("e2e: FAILED while starting the cluster", flush=True)
            return 1
        for title, fn in SCENARIOS:
            if args.only and not set(title.split()[0].split("+")) & set(args.only.split(",")):
                continue
            t = time.monotonic()
            print(f"=== e2e scenario {title}", flush=True)
            try:
                w.ensure_cluster()
                fn(w)
                print(f"=== e2e scenario {title}: passed in {time.monotonic() - t:.1f} s", flush=True)
            except Exception as e:  # noqa: BLE001 - every scenario runs; failures are reported at the end
                traceback.print_exc()
                failed.append(f"{title}: {e}")
                print(f"=== e2e scenario {title}: FAILED in {time.monotonic() - t:.1f} s", flush=True)
                try:
                    w.browser.screenshot(os.path.join(args.out, f"failure-{title.split()[0]}.png"))
                except Exception:  # noqa: BLE001 - a screenshot is a bonus
                    pass
        if failed:
            w.dump_logs()
    finally:
        w.stop()
        w.keep_logs()
        shutil.rmtree(w.root, ignore_errors=True)
    print("e2e notes:\n  " + "\n  ".join(w.notes))
    print(f"e2e: {len(SCENARIOS) - len(failed) if not args.only else '-'} passed, {len(failed)} failed "
          f"in {time.monotonic() - start:.0f} s; screenshots and logs in {args.out}")
    for f in failed:
        print("FAILED: " + f[:2000])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
