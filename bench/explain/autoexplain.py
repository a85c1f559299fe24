#!/usr/bin/env python3
"""Reads psql's stderr with auto_explain's JSON plans (autoexplain.sql) and
prints, per statement that reads a table: its time, rows read (as
bench.rows_read counts them), its scan nodes and its text, and a line for each
api call (its total time) after the statements it ran, so the plans of the real api calls can be set
beside those of the copied statements in queries.sql."""
import json
import re
import sys

SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan", "Tid Scan")
ROWS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan")


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


text = sys.stdin.read()
decoder = json.JSONDecoder()
for m in re.finditer(r"LOG:  duration: ([\d.]+) ms  plan:\n", text):
    doc, _ = decoder.raw_decode(text[m.end():].lstrip())
    all_nodes = list(nodes(doc["Plan"]))
    scans = []
    for n in all_nodes:
        if n["Node Type"] in SCANS:
            s = n["Node Type"] + (" using " + n["Index Name"] if "Index Name" in n else " on " + n["Relation Name"])
            if s not in scans:
                scans.append(s)
    rows = sum((n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0))
               * n.get("Actual Loops", 1) for n in all_nodes if n["Node Type"] in ROWS)
    query = " ".join(doc.get("Query Text", "").split())
    top = query.startswith("select api.") or query.startswith("select (api.")
    if not scans and not top:
        continue  # app.setting(), pg_notify() and the like: nothing read
    if top:
        print()
    if len(query) > 160:
        query = query[:157] + "..."
    print(f"{float(m.group(1)):9.3f} ms  rows read {int(rows):>8}  {', '.join(scans) or '-'}\n             {query}")
