#!/usr/bin/python3
"""Open event streams and admissions: what one admission costs with N streams
open on one instance (bench/streams/RESULTS.md).

Run by bench/streams/run.sh, which starts a throwaway cluster and a
`boxoffice serve` with SCHEDULER=off (this script runs the admissions, so
it knows when each one committed, and how many it admitted). Needs the
pg_stat_statements extension in the database (the cluster preloads it): the
database time of the fan-out is the execution time of the server's own
statements for it, the ticket read and the watermark read.

For each N: N users join one concert (in SQL, quickly), N streams are
opened over raw HTTP/1.1 and read their first event; then
  - idle:    nothing happening: the streams' refresh cost;
  - rounds:  R admissions of B tickets each: database time and server CPU
             per admission, and how late the B admitted streams hear it;
  - all:     one admission of everyone left: how late the last stream hears.
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time

CLK = os.sysconf("SC_CLK_TCK")


def psql(dsn, sql):
    return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# The fan-out's two statements, as QueueNotifier sends them (prepared, so
# pg_stat_statements keeps them under this text).
TICKET_SQL = "select api.queue_status(token => $1::uuid)::text, api.queue_events_place(token => $1::uuid)::text"
WATERMARK_SQL = "select api.queue_events_watermark(concert_id => $1::bigint)::text"


def statement_stats(dsn):
    """{'ticket': (calls, ms), 'watermark': (calls, ms), 'admit': (calls, ms)}:
    pg_stat_statements' totals of the fan-out's statements run by the
    server's role (execution time; each runs prepared, planned once per
    connection), and of the bench's own api.queue_admit()."""
    found = {"ticket": (0, 0.0), "watermark": (0, 0.0), "admit": (0, 0.0)}
    rows = psql(dsn, f"""select case s.query when $q${TICKET_SQL}$q$ then 'ticket'
                                             when $q${WATERMARK_SQL}$q$ then 'watermark' else 'admit' end,
                                sum(s.calls), sum(s.total_exec_time)
                         from pg_stat_statements s
                         where s.dbid = (select oid from pg_database where datname = current_database())
                           and ((s.userid = 'boxoffice_api'::regrole and s.query in ($q${TICKET_SQL}$q$, $q${WATERMARK_SQL}$q$))
                                or s.query = 'select api.queue_admit()')
                         group by 1""")
    for line in rows.splitlines():
        kind, calls, ms = line.split("|")
        found[kind] = (int(calls), float(ms))
    return found


def stats_delta(a, b):
    return {k: (b[k][0] - a[k][0], b[k][1] - a[k][1]) for k in a}


def reads(port):
    """The fan-out's reads so far, by reason (GET /metrics): open, scan, refresh, watermark."""
    import re
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    found = dict(re.findall(r'boxoffice_queue_event_reads_total\{reason="(\w+)"\} (\d+)', text))
    return {k: int(found.get(k, 0)) for k in ("open", "scan", "refresh", "watermark")}


class Stream:
    def __init__(self, token):
        self.token = token
        self.active_at = None
        self.events = 0

    async def run(self, port, opened):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((f"GET /api/queue/tokens/me/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.token}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        buffer = b""
        first = True
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                text = block.decode(errors="replace")
                if "event: ticket" not in text:
                    continue
                self.events += 1
                if first:
                    first = False
                    opened.release()
                if self.active_at is None and '"status": "ACTIVE"' in text:
                    self.active_at = time.monotonic()


async def bench(args, n):
    dsn = args.dsn
    concert = psql(dsn, "insert into app.concerts (title, venue) values ('Streams', 'Bench') returning concert_id").split()[0]
    psql(dsn, f"insert into app.queues (concert_id) values ({concert})")
    # the bench joins its users in SQL, without their keys
    psql(dsn, "select api.setting_set('user_keys', 'optional')")
    tokens = psql(dsn, f"""
        with u as (insert into app.users (name) select 'stream-' || g from generate_series(1, {n}) g returning user_id)
        select (api.queue_join(user_id => u.user_id, concert_id => {concert})).body->>'token' from u order by u.user_id""").split()
    # What the scheduler's admission run does every second (SCHEDULER=off
    # here): close the line and count its arrivals, so that a WAITING
    # ticket's position comes from the counters, not from the index.
    psql(dsn, f"select app.queue_line_close(interval '1 second'); select api.queue_blocks_rebuild({concert})")
    streams = [Stream(t) for t in tokens]
    opened = asyncio.Semaphore(0)
    rss_before = rss_mib(args.pid)
    tasks = []
    started = time.monotonic()
    for i, stream in enumerate(streams):
        tasks.append(asyncio.create_task(stream.run(args.port, opened)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    for _ in streams:
        await asyncio.wait_for(opened.acquire(), 120)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(2)
    rss_open = rss_mib(args.pid)

    # idle
    await asyncio.sleep(2)
    s0 = statement_stats(dsn)
    cpu0 = cpu_seconds(args.pid)
    w0 = time.monotonic()
    await asyncio.sleep(args.idle)
    idle_wall = time.monotonic() - w0
    d = stats_delta(s0, statement_stats(dsn))
    idle_cpu = (cpu_seconds(args.pid) - cpu0) / idle_wall
    idle = {"cpu_per_s": idle_cpu, "reads_per_s": d["ticket"][0] / idle_wall, "db_ms_per_s": d["ticket"][1] / idle_wall,
            "ms_per_read": d["ticket"][1] / max(d["ticket"][0], 1)}

    # rounds of B, then everyone left at once
    admitted = 0
    rounds = []
    for _ in range(args.rounds):
        rounds.append(await admission(args, dsn, streams[admitted:admitted + args.batch], admitted + args.batch, idle_cpu, 60))
        admitted += args.batch
    everyone = await admission(args, dsn, streams[admitted:], n, idle_cpu, 120)
    rss_end = rss_mib(args.pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"n": n, "open_s": open_seconds, "rss_before_mib": rss_before, "rss_open_mib": rss_open, "rss_end_mib": rss_end,
            "idle": idle, "rounds": rounds, "everyone": everyone}


async def admission(args, dsn, batch, cap, idle_cpu, timeout):
    """One api.queue_admit() with the cap raised to `cap`, from psql; what the
    fan-out did until every stream of `batch` heard ACTIVE (or `timeout` s),
    and how late each heard, from the moment psql returned (committed)."""
    s0 = statement_stats(dsn)
    r0 = reads(args.port)
    cpu0 = cpu_seconds(args.pid)
    sent = time.monotonic()
    out = psql(dsn, f"select api.setting_set('queue_active_cap', '{cap}'); select api.queue_admit()")
    committed = time.monotonic()
    admitted = int(out.splitlines()[-1])
    while any(s.active_at is None for s in batch) and time.monotonic() - committed < timeout:
        await asyncio.sleep(0.005)
    heard = time.monotonic()
    cpu = cpu_seconds(args.pid) - cpu0 - idle_cpu * (heard - sent)
    # the scan's last reads (the next in line) may still be running
    r1 = reads(args.port)
    while True:
        await asyncio.sleep(0.2)
        r2 = reads(args.port)
        if r2["scan"] == r1["scan"] and r2["watermark"] == r1["watermark"]:
            break
        r1 = r2
    d = stats_delta(s0, statement_stats(dsn))
    scan, refresh = r1["scan"] - r0["scan"], r1["refresh"] - r0["refresh"] + r1["open"] - r0["open"]
    # The ticket statement's time over the window, shared out by reads: the
    # scan's part (the refreshes that fell into the window are the rest).
    ticket_ms = d["ticket"][1] * scan / max(scan + refresh, 1)
    lat = sorted((s.active_at - committed) * 1000 for s in batch if s.active_at)
    pick = lambda q: lat[max(int(len(lat) * q) - 1, 0)] if lat else float("nan")
    return {"n": len(batch), "admitted": admitted, "heard": len(lat), "admit_ms": (committed - sent) * 1000,
            "admit_db_ms": d["admit"][1], "scan_reads": scan, "refresh_reads": refresh,
            "watermarks": d["watermark"][0], "db_ms": ticket_ms + d["watermark"][1], "cpu_ms": cpu * 1000,
            "p50": pick(0.5), "p99": pick(0.99), "last": lat[-1] if lat else float("nan")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--streams", default="1000,5000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=30)
    args = parser.parse_args()
    results = [asyncio.run(bench(args, int(n))) for n in args.streams.split(",")]
    print(json.dumps(results, indent=1))
    for r in results:
        rs = r["rounds"]
        med = lambda key: statistics.median(x[key] for x in rs)
        e, i = r["everyone"], r["idle"]
        print(f"\n{r['n']} streams (opened in {r['open_s']:.1f} s); server RSS {r['rss_before_mib']:.0f} -> "
              f"{r['rss_open_mib']:.0f} MiB open, {r['rss_end_mib']:.0f} MiB at the end")
        print(f"  idle: {i['reads_per_s']:.0f} ticket reads/s, {i['db_ms_per_s']:.1f} ms database/s "
              f"({i['ms_per_read']:.2f} ms a read), {i['cpu_per_s'] * 100:.1f} % of a core")
        print(f"  admission of {args.batch} (median of {len(rs)}; admitted {[x['admitted'] for x in rs]}, "
              f"heard {[x['heard'] for x in rs]}): {med('scan_reads'):.0f} ticket reads by the scan "
              f"({med('refresh_reads'):.0f} refreshes meanwhile), {med('watermarks'):.0f} watermark reads, "
              f"{med('db_ms'):.1f} ms database, {med('cpu_ms'):.0f} ms server CPU; "
              f"heard after p50 {med('p50'):.0f} ms, p99 {med('p99'):.0f} ms, last {med('last'):.0f} ms; "
              f"the admission itself {med('admit_db_ms'):.0f} ms database")
        print(f"  everyone left at once ({e['n']}): admitted {e['admitted']}, heard {e['heard']}, "
              f"p50 {e['p50']:.0f} ms, p99 {e['p99']:.0f} ms, last {e['last']:.0f} ms; "
              f"{e['scan_reads']} ticket reads by the scan ({e['refresh_reads']} refreshes meanwhile), "
              f"{e['watermarks']} watermark reads, {e['db_ms']:.0f} ms database, {e['cpu_ms']:.0f} ms server CPU; "
              f"the admission itself {e['admit_db_ms']:.0f} ms database")


if __name__ == "__main__":
    main()
