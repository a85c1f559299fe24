#!/usr/bin/python3
"""Open event streams and admissions: what one admission costs with N streams
open on one instance (bench/streams/RESULTS.md).

Run by bench/streams/run.sh, which starts a throwaway cluster and a
`boxoffice serve` with SCHEDULER=off (this script runs the admissions, so
it knows when each one committed). Needs track_functions = 'pl' on the
database so that pg_stat_user_functions times the functions the streams call.

For each N: N users join one concert (in SQL, quickly), N streams are
opened over raw HTTP/1.1 and read their first event; then
  - idle:    30 s with nothing happening: the streams' refresh cost;
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
    return subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


FLUSH = 11  # s: an idle backend reports its function statistics within 10 s (PGSTAT_IDLE_INTERVAL)


def function_stats(dsn):
    """(queue_status calls, watermark reads, total ms) of the functions event streams call."""
    row = psql(dsn, """select coalesce(sum(calls) filter (where funcname = 'queue_status'), 0) || ' '
                             || coalesce(sum(calls) filter (where funcname = 'queue_events_watermark'), 0) || ' '
                             || coalesce(sum(total_time), 0)
                        from pg_stat_user_functions
                        where schemaname = 'api' and funcname in ('queue_status', 'queue_events_watermark', 'queue_events_place')""")
    calls, marks, total = row.split()
    return int(calls), int(marks), float(total)


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
    await asyncio.sleep(FLUSH)
    c0, _, t0 = function_stats(dsn)
    cpu0 = cpu_seconds(args.pid)
    w0 = time.monotonic()
    await asyncio.sleep(args.idle)
    idle_wall = time.monotonic() - w0
    c1, _, t1 = function_stats(dsn)
    idle_cpu = (cpu_seconds(args.pid) - cpu0) / idle_wall
    idle_calls, idle_db = (c1 - c0) / idle_wall, (t1 - t0) / idle_wall

    # rounds of B
    admitted = 0
    rounds = []
    for _ in range(args.rounds):
        batch = streams[admitted:admitted + args.batch]
        c0, m0, t0 = function_stats(dsn)
        r0 = reads(args.port)
        cpu0 = cpu_seconds(args.pid)
        sent = time.monotonic()
        psql(dsn, f"select api.setting_set('queue_active_cap', '{admitted + args.batch}'); select api.queue_admit()")
        committed = time.monotonic()
        while any(s.active_at is None for s in batch) and time.monotonic() - sent < 60:
            await asyncio.sleep(0.005)
        cpu_heard = cpu_seconds(args.pid) - cpu0
        heard_window = time.monotonic() - sent
        r1 = reads(args.port)
        await asyncio.sleep(FLUSH)
        c1, m1, t1 = function_stats(dsn)
        window = time.monotonic() - sent
        cpu = cpu_heard - idle_cpu * heard_window
        lat = sorted((s.active_at - committed) * 1000 for s in batch if s.active_at)
        rounds.append({"scan_reads": r1["scan"] - r0["scan"], "refresh_reads": r1["refresh"] - r0["refresh"],
                       "calls": c1 - c0 - idle_calls * window, "watermarks": m1 - m0,
                       "db_ms": t1 - t0 - idle_db * window, "cpu_ms": cpu * 1000,
                       "p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99) - 1], "last": lat[-1], "heard": len(lat),
                       "admit_ms": (committed - sent) * 1000})
        admitted += args.batch

    # everyone left at once
    rest = streams[admitted:]
    c0, m0, t0 = function_stats(dsn)
    r0 = reads(args.port)
    cpu0 = cpu_seconds(args.pid)
    psql(dsn, f"select api.setting_set('queue_active_cap', '{n}'); select api.queue_admit()")
    committed = time.monotonic()
    while any(s.active_at is None for s in rest) and time.monotonic() - committed < 120:
        await asyncio.sleep(0.005)
    cpu = cpu_seconds(args.pid) - cpu0
    r1 = reads(args.port)
    await asyncio.sleep(FLUSH)
    c1, m1, t1 = function_stats(dsn)
    lat = sorted((s.active_at - committed) * 1000 for s in rest if s.active_at)
    everyone = {"n": len(rest), "heard": len(lat), "p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99) - 1],
                "last": lat[-1], "calls": c1 - c0, "watermarks": m1 - m0, "db_ms": t1 - t0, "cpu_ms": cpu * 1000,
                "scan_reads": r1["scan"] - r0["scan"]}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"n": n, "open_s": open_seconds, "rss_before_mib": rss_before, "rss_open_mib": rss_open,
            "idle": {"cpu_per_s": idle_cpu, "calls_per_s": idle_calls, "db_ms_per_s": idle_db},
            "rounds": rounds, "everyone": everyone}


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
        e = r["everyone"]
        print(f"\n{r['n']} streams (opened in {r['open_s']:.1f} s); server RSS {r['rss_before_mib']:.0f} -> {r['rss_open_mib']:.0f} MiB")
        print(f"  idle: {r['idle']['calls_per_s']:.0f} ticket reads/s, {r['idle']['db_ms_per_s']:.1f} ms database/s, "
              f"{r['idle']['cpu_per_s'] * 100:.1f} % of a core")
        print(f"  admission of {args.batch} (median of {len(rs)}): {med('scan_reads'):.0f} ticket reads by the scan "
              f"({med('refresh_reads'):.0f} refreshes meanwhile), {med('watermarks'):.0f} watermark reads, "
              f"{med('db_ms'):.1f} ms database, "
              f"{med('cpu_ms'):.0f} ms server CPU; heard after p50 {med('p50'):.0f} ms, p99 {med('p99'):.0f} ms, last {med('last'):.0f} ms")
        print(f"  everyone left at once ({e['n']}): heard {e['heard']}, p50 {e['p50']:.0f} ms, p99 {e['p99']:.0f} ms, "
              f"last {e['last']:.0f} ms; {e['scan_reads']} ticket reads by the scan, {e['calls']} queue_status calls in all, {e['db_ms']:.0f} ms database, "
              f"{e['cpu_ms']:.0f} ms server CPU")


if __name__ == "__main__":
    main()
