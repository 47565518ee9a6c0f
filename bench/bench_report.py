#!/usr/bin/env python3
"""Helper for bench/proxy_bench.sh (python3 standard library only).

  bench_report.py wrk FILE      parse one `wrk --latency` output; prints one tab-separated line:
                                requests  req/s  p50_ms  p99_ms  non2xx  connect  read  write  timeout
  bench_report.py table TSV     render the results file written by proxy_bench.sh as markdown
"""
import csv
import re
import sys

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
PROXY_ORDER = ["upstream", "gatehouse", "gatehouse_nometrics", "nginx", "haproxy"]
PROXY_LABEL = {"upstream": "upstream alone", "gatehouse": "gatehouse", "gatehouse_nometrics": "gatehouse, metrics off",
               "nginx": "nginx", "haproxy": "haproxy"}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unrecognised wrk time {text!r}")
    return float(m.group(1)) * UNITS_MS[m.group(2)]


def parse_wrk(text):
    """Returns a dict with requests, rps, p50_ms, p99_ms, non2xx, connect, read, write, timeout (None when absent)."""
    r = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None,
         "non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
    in_dist = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Latency Distribution"):
            in_dist = True
            continue
        if in_dist:
            m = re.fullmatch(r"([0-9.]+)%\s+(\S+)", s)
            if m:
                pct = float(m.group(1))
                if pct == 50:
                    r["p50_ms"] = to_ms(m.group(2))
                elif pct == 99:
                    r["p99_ms"] = to_ms(m.group(2))
                continue
            in_dist = False
        m = re.match(r"(\d+) requests in ", s)
        if m:
            r["requests"] = int(m.group(1))
        m = re.match(r"Requests/sec:\s+([0-9.]+)", s)
        if m:
            r["rps"] = float(m.group(1))
        m = re.match(r"Non-2xx or 3xx responses:\s+(\d+)", s)
        if m:
            r["non2xx"] = int(m.group(1))
        m = re.match(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", s)
        if m:
            r["connect"], r["read"], r["write"], r["timeout"] = map(int, m.groups())
    return r


def cmd_wrk(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        r = parse_wrk(f.read())
    if r["requests"] is None or r["rps"] is None:
        sys.exit(f"bench_report.py: no wrk summary in {path}")

    def fmt(v):
        return "nan" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))

    print("\t".join(fmt(r[k]) for k in
                    ("requests", "rps", "p50_ms", "p99_ms", "non2xx", "connect", "read", "write", "timeout")))


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x != x else x  # NaN -> None


def f_rps(x):
    return "n/a" if x is None else f"{x:,.0f}"


def f_ms(x):
    if x is None:
        return "n/a"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def f1(x):
    return "n/a" if x is None else f"{x:.1f}"


def f2(x):
    return "n/a" if x is None else f"{x:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


def node_conns_per_1k(row):
    """New node connections per 1,000 requests (None for the upstream alone, or a results file without them)."""
    n, requests = num(row.get("node_conns")), num(row.get("requests"))
    if row.get("proxy") == "upstream" or n is None or not requests:
        return None
    return max(n, 0.0) * 1000 / requests


def f_per_1k(x):
    if x is None:
        return "n/a"
    return f"{x:.2f}" if x < 10 else f"{x:.0f}"


def errors_text(row):
    parts = []
    for key, label in (("non2xx", "non-2xx/3xx"), ("connect", "connect"), ("read", "read"),
                       ("write", "write"), ("timeout", "timeout")):
        n = int(float(row.get(key) or 0))
        if n:
            parts.append(f"{label} {n}")
    return ", ".join(parts) if parts else "0"


INTERFERENCE_PCT = 15.0


def interfered(row):
    """True when core 1 (the proxy's own) was much busier than the proxy: another process competed with it."""
    core1, own = num(row.get("core1_pct")), num(row.get("cpu_pct"))
    return core1 is not None and own is not None and core1 - own >= INTERFERENCE_PCT


def cmd_table(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    groups = {}
    order = []
    for row in rows:
        key = (row["scenario"], int(row["conns"]))
        if key not in groups:
            groups[key] = {}
            order.append(key)
        groups[key][row["proxy"]] = row

    out = []
    flagged = False
    out.append("| scenario | conns | proxy | req/s | p50 ms | p99 ms | CPU µs/req | CPU s/100k req "
               "| proxy CPU % | RSS MiB | node conns/1k req | core0 % | core1 % | errors |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for key in order:
        scen, conns = key
        for proxy in sorted(groups[key], key=lambda p: PROXY_ORDER.index(p) if p in PROXY_ORDER else 99):
            r = groups[key][proxy]
            label = PROXY_LABEL.get(proxy, proxy)
            if proxy != "upstream" and interfered(r):
                label += " †"
                flagged = True
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                scen, conns, label, f_rps(num(r["rps"])), f_ms(num(r["p50_ms"])),
                f_ms(num(r["p99_ms"])), f1(num(r["cpu_us_per_req"])), f2(num(r["cpu_s_per_100k"])),
                f1(num(r["cpu_pct"])), f1(num(r["rss_mib"])), f_per_1k(node_conns_per_1k(r)),
                f1(num(r["core0_pct"])), f1(num(r["core1_pct"])),
                errors_text(r)))

    if flagged:
        out.append("")
        out.append(f"† core 1 was at least {INTERFERENCE_PCT:.0f} points busier than the proxy itself: something else ran "
                   "on the proxy's core during this run, so its figures are not comparable; rerun on an idle machine.")
    if any("gatehouse_nometrics" in g for g in groups.values()):
        out.append("")
        out.append("Cost of metrics: gatehouse (metrics on) / gatehouse (metrics off); req/s below 1× and CPU per request "
                   "above 1× are the cost:")
        out.append("")
        out.append("| scenario | conns | req/s | p99 | CPU/req |")
        out.append("|---|---:|---:|---:|---:|")
        for key in order:
            g = groups[key]
            if "gatehouse" not in g or "gatehouse_nometrics" not in g:
                continue
            on, off = g["gatehouse"], g["gatehouse_nometrics"]
            mark = " †" if interfered(on) or interfered(off) else ""
            out.append("| {} | {} | {}{} | {}{} | {}{} |".format(
                key[0], key[1], ratio(num(on["rps"]), num(off["rps"])), mark, ratio(num(on["p99_ms"]), num(off["p99_ms"])),
                mark, ratio(num(on["cpu_us_per_req"]), num(off["cpu_us_per_req"])), mark))
        print("\n".join(out))
        return
    out.append("")
    out.append("Ratios gatehouse / other (req/s: above 1× is better for gatehouse; p99 and CPU per request: "
               "below 1× is better for gatehouse; † = from a row marked † above):")
    out.append("")
    out.append("| scenario | conns | req/s vs nginx | req/s vs haproxy | p99 vs nginx | p99 vs haproxy "
               "| CPU/req vs nginx | CPU/req vs haproxy |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        g = groups[key]
        if "gatehouse" not in g:
            continue
        gh = g["gatehouse"]

        def r(other, col):
            if other not in g:
                return "n/a"
            mark = " †" if interfered(gh) or interfered(g[other]) else ""
            return ratio(num(gh[col]), num(g[other][col])) + mark

        out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            key[0], key[1], r("nginx", "rps"), r("haproxy", "rps"), r("nginx", "p99_ms"), r("haproxy", "p99_ms"),
            r("nginx", "cpu_us_per_req"), r("haproxy", "cpu_us_per_req")))
    print("\n".join(out))


def main(argv):
    if len(argv) == 3 and argv[1] == "wrk":
        cmd_wrk(argv[2])
    elif len(argv) == 3 and argv[1] == "table":
        cmd_table(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
