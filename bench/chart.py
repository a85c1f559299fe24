#!/usr/bin/env python3
"""Latency against load for the flow: p50, p95 and p99 of every request of
the flow (left) and of the whole purchase, queue wait included (right),
against the number of concurrent users, from a run of scripts/bench.

  chart.py RUN.json OUT.png
"""
import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def main(run_path, out_path):
    run = json.load(open(run_path))
    flows = sorted((r for k, r in run["http"].items() if re.fullmatch(r"flow-\d+", k)), key=lambda r: r["users"])
    if not flows:
        print("no flow results in", run_path, file=sys.stderr)
        return 1
    users = [r["users"] for r in flows]
    phases = [r["phases"][0] for r in flows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
        left.plot(users, [p["all"][key] for p in phases], style, label=key)
        right.plot(users, [(p["spans"][0][key] / 1000 if p["spans"] else None) for p in phases], style, label=key)
    # The documents' load test: k6, 10 virtual users, p95 2 to 2.8 s.
    left.fill_between([8, 12.5], 2000, 2800, color="grey", alpha=0.3, label="documents, k6 at 10 VUs: p95 2-2.8 s")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xticks(users)
        axis.set_xticklabels([str(u) for u in users])
        axis.set_xlabel("concurrent users (one keep-alive connection each)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    left.set_yscale("log")
    left.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    right.set_ylim(bottom=0)
    left.set_ylabel("latency per request (ms)")
    left.set_title("every request of the flow")
    for u, p in zip(users, phases):
        left.annotate(f"{p['throughput']:,.0f} req/s", (u, p["all"]["p99"]), textcoords="offset points", xytext=(0, 8),
                      ha="center", fontsize=8)
    right.set_ylabel("seconds")
    right.set_title("one purchase end to end, queue wait included")
    m = run["machine"]
    fig.suptitle(f"Box Office flow, {run['stamp']} ({m['cores']} cores, {m['cpu']}; server, PostgreSQL and load generator on one machine)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
