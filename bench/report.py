#!/usr/bin/env python3
"""Results of scripts/bench: gathers a run into one JSON file and writes its
markdown summary.

  report.py combine WORKDIR OUT.json [--commit C] [--load-before L] ...
      WORKDIR/http/*.json      reports of `boxoffice bench --json`
      WORKDIR/pgbench/NAME/    out.txt and the per-transaction logs (tx.*)
      WORKDIR/checks.txt       key=value lines (audit, on-sale counts)
      WORKDIR/pg_stat_statements.json
  report.py summary RUN.json OUT.md
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

# Each api function: its route, the HTTP phase that calls it alone
# (report, phase name) and the pgbench script that calls it directly.
FUNCTIONS = [
    ("api.user_create", "POST /api/users", ("calls", "user_create"), "user_create"),
    ("api.queue_join", "POST /api/queue/tokens", ("queue", "queue joins"), "queue_join"),
    ("api.queue_status", "GET /api/queue/tokens/me", ("queue", "queue status polls"), "queue_status"),
    ("api.concert_list", "GET /api/concerts", ("calls", "concert_list"), "concert_list"),
    ("api.concert_dates", "GET /api/concerts/{id}/dates", ("calls", "concert_dates"), "concert_dates"),
    ("api.seat_list", "GET /api/concerts/{id}/dates/{id}/seats", ("calls", "seat_list"), "seat_list"),
    ("api.balance_charge", "POST /api/balance/charge", ("calls", "balance_charge"), "balance_charge"),
    ("api.seat_hold, distinct seats", "POST /api/reservations", ("holds", "holds, distinct seats"), "seat_hold_distinct"),
    ("api.seat_hold, one contested seat", "POST /api/reservations", ("holds", "holds, one contested seat"), "seat_hold_one"),
    ("api.payment_create (SERIALIZABLE)", "POST /api/payments", ("payments", "payments"), "payment_create"),
]


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-fraction * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def parse_pgbench(directory):
    out = open(os.path.join(directory, "out.txt")).read()

    def number(pattern, cast=float):
        match = re.search(pattern, out, re.M)
        return cast(match.group(1)) if match else None

    latencies = []
    for path in glob.glob(os.path.join(directory, "tx*")):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]))
    latencies.sort()
    ms = lambda v: None if v is None else v / 1000.0
    return {
        "tps": number(r"^tps = ([\d.]+)"),
        "latencyAverage": number(r"^latency average = ([\d.]+) ms"),
        "transactions": number(r"^number of transactions actually processed: (\d+)", int),
        "failed": number(r"^number of failed transactions: (\d+)", int),
        "retried": number(r"^number of transactions retried: (\d+)", int),
        "retries": number(r"^total number of retries: (\d+)", int),
        "clients": number(r"^number of clients: (\d+)", int),
        "p50": ms(percentile(latencies, 0.50)),
        "p95": ms(percentile(latencies, 0.95)),
        "p99": ms(percentile(latencies, 0.99)),
        "output": out.strip().splitlines()[-14:],
    }


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memory_kib = int(f.readline().split()[1])
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True)
    return {
        "cores": os.cpu_count(),
        "memoryGiB": round(memory_kib / 1048576, 1),
        "cpu": cpu,
        "kernel": os.uname().release,
        "postgres": pg,
        "swift": (swift.stdout or swift.stderr).strip().splitlines()[0] if (swift.stdout or swift.stderr) else "",
    }


def combine(args):
    run = {
        "mode": args.mode,
        "commit": args.commit,
        "stamp": os.path.basename(args.out).removesuffix(".json"),
        "machine": machine(),
        "loadAverage": {"before": args.load_before, "after": args.load_after},
        "settings": args.settings,
        "http": {},
        "pgbench": {},
        "checks": {},
        "pgStatStatements": [],
    }
    for path in sorted(glob.glob(os.path.join(args.work, "http", "*.json"))):
        report = json.load(open(path))
        cpu = path[:-5] + ".cpu"
        if os.path.exists(cpu):
            report["cpu"] = json.load(open(cpu))
            report["cpu"]["loadGenerator"] = report.get("loadGeneratorCPUSeconds")
        run["http"][os.path.basename(path)[:-5]] = report
    for directory in sorted(glob.glob(os.path.join(args.work, "pgbench", "*"))):
        if os.path.exists(os.path.join(directory, "out.txt")):
            run["pgbench"][os.path.basename(directory)] = parse_pgbench(directory)
    checks = os.path.join(args.work, "checks.txt")
    if os.path.exists(checks):
        for line in open(checks):
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                run["checks"][key] = value
    for key, name in (("pgStatStatements", "pg_stat_statements.json"), ("pgStatStatementsNested", "pg_stat_statements_nested.json")):
        statements = os.path.join(args.work, name)
        if os.path.exists(statements) and os.path.getsize(statements) > 0:
            run[key] = json.load(open(statements))
    with open(args.out, "w") as f:
        json.dump(run, f, indent=1, sort_keys=True)


def phase(run, report, name):
    for candidate in run["http"].get(report, {}).get("phases", []):
        if candidate["name"] == name:
            return candidate
    return None


def statuses(route):
    return " ".join(f"{k}×{v}" for k, v in sorted(route["statuses"].items()))


def f(value, digits=1):
    return "–" if value is None else f"{value:,.{digits}f}"


def summary(args):
    run = json.load(open(args.run))
    m = run["machine"]
    lines = [
        f"# Benchmark run {run['stamp']} ({run['mode']})",
        "",
        f"- machine: {m['cores']} cores, {m['memoryGiB']} GiB, {m['cpu']}, kernel {m['kernel']}",
        f"- {m['postgres']}; {m['swift']}",
        f"- commit: {run['commit']}",
        f"- load average before: {run['loadAverage']['before']}, after: {run['loadAverage']['after']}",
        f"- settings: {run['settings']}",
        "",
        "## HTTP against pgbench, per function",
        "",
        "| function | route | HTTP req/s | HTTP p50 / p99 ms | pgbench tps | pgbench p50 / p99 ms | HTTP / pgbench |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for function, route, (report, name), script in FUNCTIONS:
        http = phase(run, report, name)
        pg = run["pgbench"].get(script)
        if http is None and pg is None:
            continue
        http_rate = http["throughput"] if http else None
        pg_rate = pg["tps"] if pg else None
        ratio = f"{http_rate / pg_rate:.2f}" if http_rate and pg_rate else "–"
        http_lat = f"{f(http['all']['p50'], 2)} / {f(http['all']['p99'], 2)}" if http else "–"
        pg_lat = f"{f(pg['p50'], 2)} / {f(pg['p99'], 2)}" if pg else "–"
        lines.append(f"| {function} | `{route}` | {f(http_rate, 0)} | {http_lat} | {f(pg_rate, 0)} | {pg_lat} | {ratio} |")

    flows = sorted((r for k, r in run["http"].items() if re.fullmatch(r"flow-\d+", k)), key=lambda r: r["users"])
    if flows:
        lines += [
            "",
            "## The flow (join, wait for admission, charge, concerts, dates, seats, reserve, pay)",
            "",
            "| users | req/s | flows/s | p50 ms | p95 ms | p99 ms | flow end to end p50 / p95 s | answers |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for report in flows:
            p = report["phases"][0]
            span = next(iter(p["spans"]), None)
            e2e = f"{span['p50'] / 1000:.2f} / {span['p95'] / 1000:.2f}" if span else "–"
            lines.append(
                f"| {report['users']} | {f(p['throughput'], 0)} | {f(p['counters'].get('flows per second'), 1)} | "
                f"{f(p['all']['p50'], 2)} | {f(p['all']['p95'], 2)} | {f(p['all']['p99'], 2)} | {e2e} | {statuses(p['all'])} |")
        lines += ["", "Per route, p50 / p95 / p99 ms:", ""]
        routes = sorted({r["route"] for report in flows for r in report["phases"][0]["routes"]})
        lines.append("| route | " + " | ".join(f"{r['users']} users" for r in flows) + " |")
        lines.append("|---|" + "---:|" * len(flows))
        for route in routes:
            cells = []
            for report in flows:
                hit = next((r for r in report["phases"][0]["routes"] if r["route"] == route), None)
                cells.append(f"{f(hit['p50'], 1)} / {f(hit['p95'], 1)} / {f(hit['p99'], 1)}" if hit else "–")
            lines.append(f"| `{route}` | " + " | ".join(cells) + " |")
        counters = flows[-1]["phases"][0]["counters"]
        lines += ["", f"Counters at {flows[-1]['users']} users: " + ", ".join(f"{k} {f(v, 0 if v == int(v) else 2)}" for k, v in sorted(counters.items()))]

    onsale = run["http"].get("onsale")
    if onsale:
        p = onsale["phases"][0]
        c = p["counters"]
        lines += [
            "",
            f"## On-sale: {f(c.get('people'), 0)} people after {f(c.get('seats on sale'), 0)} seats, "
            f"{onsale['users']} connections",
            "",
            f"- first admission after {f(c.get('seconds until first admission'), 2)} s; "
            f"all {f(c.get('seats paid'), 0)} seats paid after {f(c.get('seconds until sold out'), 2)} s",
            f"- run length {f(p['seconds'], 1)} s, {p['requests']} requests, {f(p['throughput'], 0)} req/s; "
            f"still waiting at the end: {f(c.get('still waiting at the end'), 0)}",
            f"- checks: audit: {run['checks'].get('audit', '–')}; payments for the on-sale concert: "
            f"{run['checks'].get('onsale_payments', '–')}; seats SOLD: {run['checks'].get('onsale_sold', '–')}",
            "",
            "| route | count | p50 ms | p95 ms | p99 ms | answers |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for r in p["routes"] + [p["all"]]:
            lines.append(f"| `{r['route']}` | {r['count']} | {f(r['p50'], 1)} | {f(r['p95'], 1)} | {f(r['p99'], 1)} | {statuses(r)} |")
        lines.append("")
        lines.append("Counters: " + ", ".join(f"{k} {f(v, 0 if v == int(v) else 2)}" for k, v in sorted(c.items())))

    holds = run["http"].get("holds")
    if holds:
        lines += ["", "## Seat holds", "", "| phase | holds/s | p50 ms | p99 ms | answers |", "|---|---:|---:|---:|---|"]
        for p in holds["phases"]:
            lines.append(f"| {p['name']} | {f(p['throughput'], 0)} | {f(p['all']['p50'], 2)} | {f(p['all']['p99'], 2)} | {statuses(p['all'])} |")

    payments = phase(run, "payments", "payments")
    if payments:
        c = payments["counters"]
        pg = run["pgbench"].get("payment_create")
        lines += [
            "",
            "## Payments",
            "",
            f"- HTTP: {f(payments['throughput'], 0)} payments/s, p50 {f(payments['all']['p50'], 2)} ms, "
            f"p99 {f(payments['all']['p99'], 2)} ms, {f(c.get('payments completed'), 0)} completed, "
            f"{f(c.get('payments retried at least once'), 0)} needed a retry "
            f"({f(100 * c.get('share of payments retried', 0), 1)} %), "
            f"{f(c.get('retried attempts (40001/40P01)'), 0)} retried attempts in all "
            f"({f(100 * c.get('retried attempts per payment', 0), 1)} per 100 payments), "
            f"{f(c.get('payments out of attempts (503)'), 0)} ran out of the server's 10 attempts (503)",
        ]
        if pg:
            share = 100.0 * (pg["retried"] or 0) / pg["transactions"] if pg.get("transactions") else None
            lines.append(
                f"- pgbench: {f(pg['tps'], 0)} tps, {pg['transactions']} payments, {pg['retried']} needed a retry "
                f"({f(share, 1)} %), {pg['retries']} retries in all, {pg['failed']} failed after 10 tries")

    with_cpu = [(k, r) for k, r in run["http"].items() if r.get("cpu")]
    if with_cpu:
        lines += [
            "",
            "## Where the CPU went, per load-generator run (seconds of CPU; setup included)",
            "",
            "| run | requests | machine busy | server | PostgreSQL | load generator | anything else | server ms per request | PostgreSQL ms per request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in with_cpu:
            c = r["cpu"]
            requests = sum(p["requests"] for p in r["phases"])
            loader = c.get("loadGenerator") or 0
            other = c["machineBusy"] - c["server"] - c["postgres"] - loader
            per = lambda v: f"{1000 * v / requests:.2f}" if requests else "–"
            lines.append(f"| {name} | {requests} | {f(c['machineBusy'])} | {f(c['server'])} | {f(c['postgres'])} | {f(loader)} | "
                         f"{f(other)} | {per(c['server'])} | {per(c['postgres'])} |")
        lines.append("")
        lines.append("Requests counts only the measured phases; setup requests (users, tokens, prepared holds) also cost CPU, so the per-request figures are upper bounds for runs with a setup.")

    for key, title, count in (
        ("pgStatStatements", "Top statements by total time (pg_stat_statements over the HTTP runs, top level)", 12),
        ("pgStatStatementsNested", "Inside the functions (pg_stat_statements.track = all, during the profiled flow at 100 users)", 20),
    ):
        if not run.get(key):
            continue
        lines += ["", f"## {title}", "", "| calls | total ms | mean ms | top level | statement |", "|---:|---:|---:|---|---|"]
        for s in run[key][:count]:
            query = s["query"].replace("|", "\\|")
            lines.append(f"| {s['calls']} | {f(s['total_ms'], 0)} | {f(s['mean_ms'], 3)} | {'yes' if s.get('toplevel', True) else 'no'} | `{query}` |")

    with open(args.out, "w") as out:
        out.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("combine")
    c.add_argument("work")
    c.add_argument("out")
    c.add_argument("--commit", default="")
    c.add_argument("--load-before", default="")
    c.add_argument("--load-after", default="")
    c.add_argument("--mode", default="full")
    c.add_argument("--settings", default="")
    s = sub.add_parser("summary")
    s.add_argument("run")
    s.add_argument("out")
    args = parser.parse_args()
    {"combine": combine, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
