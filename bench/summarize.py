#!/usr/bin/env python3
"""Reads bench/results/{wrk,pgbench}-*.txt and prints the Markdown tables of the run.

    python3 bench/summarize.py bench/results > bench/results/summary.md
"""

import pathlib
import re
import sys

ENDPOINTS = [
    ("first", "list, first page", "GET /api/v1/offers"),
    ("deep", "list, page 51 (cursor)", "GET /api/v1/offers?limit=20&cursor=…"),
    ("department", "filter by department", "GET /api/v1/offers?department=Direction de la Culture"),
    ("search-cooperation", "search `coopération`", "GET /api/v1/offers?q=coop%C3%A9ration"),
    ("search-numerique", "search `numérique`", "GET /api/v1/offers?q=num%C3%A9rique"),
    ("search-tiznit", "search `Tiznit` (rare)", "GET /api/v1/offers?q=Tiznit"),
    ("search-relevance", "search `coopération`, sort=relevance", "GET /api/v1/offers?q=coop%C3%A9ration&sort=relevance"),
    ("slug", "one offer by slug", "GET /api/v1/offers/{slug}"),
]
COUNTS = [  # label, pgbench page, pgbench count, explain page, explain count
    ("all published", "page-only-first", "count-all", "page-first", "count-all"),
    ("department", "page-only-department", "count-department", "page-department", "count-department"),
    ("search `coopération`", "page-only-cooperation", "count-cooperation",
     "page-search-cooperation", "count-search-cooperation"),
    ("search `Tiznit`", None, None, "page-search-tiznit", "count-search-tiznit"),
]


def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(path):
    text = path.read_text()
    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        out[f"p{pct}"] = ms(*m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["errors"] = int(m.group(1)) if m else 0
    return out


def pgbench(path):
    text = path.read_text()
    tps = re.search(r"^tps = ([\d.]+)", text, re.M)
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    return {"tps": float(tps.group(1)) if tps else float("nan"),
            "lat": float(lat.group(1)) if lat else float("nan"),
            "failed": int(failed.group(1)) if failed else 0}


def execution_ms(path):
    m = re.search(r"Execution Time: ([\d.]+) ms", path.read_text()) if path.exists() else None
    return float(m.group(1)) if m else float("nan")


def main():
    d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    print("| endpoint | req/s | p50 ms | p99 ms | pgbench TPS (same SQL) | req/s ÷ TPS |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label, _ in ENDPOINTS:
        w, p = d / f"wrk-{key}.txt", d / f"pgbench-{key}.txt"
        if not w.exists():
            continue
        w, p = wrk(w), pgbench(p)
        note = f" ({w['errors']} non-2xx)" if w["errors"] else ""
        print(f"| {label}{note} | {w['rps']:.0f} | {w['p50']:.2f} | {w['p99']:.2f} | "
              f"{p['tps']:.0f} | {100 * w['rps'] / p['tps']:.0f} % |")
    c4 = d / "wrk-search-cooperation-c4.txt"
    if c4.exists():
        w = wrk(c4)
        print(f"| search `coopération`, **4** connections | {w['rps']:.0f} | {w['p50']:.2f} | {w['p99']:.2f} | | |")
    print()
    print("| exact count vs page query | page TPS | count TPS | TPS ratio | page exec ms | count exec ms | exec ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, page, count, epage, ecount in COUNTS:
        tps = ["", "", ""]
        if page and (d / f"pgbench-{page}.txt").exists() and (d / f"pgbench-{count}.txt").exists():
            a, b = pgbench(d / f"pgbench-{page}.txt"), pgbench(d / f"pgbench-{count}.txt")
            tps = [f"{a['tps']:.0f}", f"{b['tps']:.0f}", f"{a['tps'] / b['tps']:.2f}×"]
        ea, eb = execution_ms(d / f"explain-{epage}.txt"), execution_ms(d / f"explain-{ecount}.txt")
        print(f"| {label} | {' | '.join(tps)} | {ea:.3f} | {eb:.3f} | {eb / ea:.1f}× |")
    a, b = d / "pgbench-first.txt", d / "pgbench-first-one-statement.txt"
    if a.exists() and b.exists():
        a, b = pgbench(a), pgbench(b)
        print()
        print("| first page, SQL per request (pgbench) | TPS | latency avg ms |")
        print("|---|---:|---:|")
        print(f"| as the service runs it: `catalog_version`, then the page (2 statements) | {a['tps']:.0f} | {a['lat']:.2f} |")
        print(f"| proposed: the version read inside the page query (1 statement) | {b['tps']:.0f} | {b['lat']:.2f} |")


if __name__ == "__main__":
    main()
