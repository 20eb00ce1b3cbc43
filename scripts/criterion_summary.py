"""Summarises `cargo bench` output: one line per benchmark with its median time and throughput.

    cargo bench 2>&1 | tee bench.log; python3 scripts/criterion_summary.py bench.log
"""
import re
import sys

name = None
rows = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    head = re.match(r"^([A-Za-z0-9_]+/[A-Za-z0-9_]+)\s*(time:.*)?$", line)
    if head:
        name = head.group(1)
        line = head.group(2) or ""
    time = re.search(r"time:\s+\[\S+ \S+ (\S+) (ns|µs|us|ms|s)\b", line)
    if time and name:
        rows.append([name, f"{time.group(1)} {time.group(2)}", ""])
    thrpt = re.search(r"thrpt:\s+\[\S+ \S+ (\S+) ([KMG]?elem/s)", line)
    if thrpt and name and rows and rows[-1][0] == name and not rows[-1][2]:
        rows[-1][2] = f"{thrpt.group(1)} {thrpt.group(2)}"
for r in rows:
    print(f"{r[0]:<50} {r[1]:>12} {r[2]:>16}")
