"""Summarises `cargo bench` output: one line per benchmark with its median time and throughput; with
`--pytorch FILE` (written by `benches/pytorch/bench.py --json FILE`), a table per group of nn, candle, burn and
PyTorch and nn's speed-up over the fastest of the others. The header names the CPU it runs on (run it on the machine
that ran the benchmarks) and the instruction sets `nn` chooses there.

    cargo bench -p nn-benches --bench networks 2>&1 | tee bench.log
    python3 benches/pytorch/bench.py --json pytorch.json
    python3 scripts/criterion_summary.py bench.log [--pytorch pytorch.json]
"""
import argparse
import json
import os
import re

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse(path):
    """[(group/function, seconds, "time unit", "throughput")] in the order criterion printed them."""
    name, rows = None, []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        # Function names may hold spaces (`lenet5_static_b1/nn forward_static`).
        head = re.match(r"^([A-Za-z0-9_]+/[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*)\s*(time:.*)?$", line)
        if head:
            name = head.group(1)
            line = head.group(2) or ""
        time = re.search(r"time:\s+\[\S+ \S+ (\S+) (ns|µs|us|ms|s)\b", line)
        if time and name:
            seconds = float(time.group(1)) * UNITS[time.group(2)]
            rows.append([name, seconds, f"{time.group(1)} {time.group(2)}", ""])
        thrpt = re.search(r"thrpt:\s+\[\S+ \S+ (\S+) ([KMG]?elem/s)", line)
        if thrpt and name and rows and rows[-1][0] == name and not rows[-1][3]:
            rows[-1][3] = f"{thrpt.group(1)} {thrpt.group(2)}"
    return rows


def show(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def cpu():
    """"model name (family F model M), instruction sets; nn's paths" from /proc/cpuinfo (Linux), else "unknown CPU"."""
    try:
        info = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        return "unknown CPU"
    field = lambda key: (re.search(rf"^{key}\s*:\s*(.*)$", info, re.M) or [None, "?"])[1]
    flags = set(field("flags").split())
    isas = [name for flag, name in (("avx512f", "AVX-512F"), ("avx2", "AVX2"), ("fma", "FMA")) if flag in flags]
    intel = field("vendor_id") == "GenuineIntel"
    products = "AVX-512" if "avx512f" in flags and intel else "AVX2" if "avx2" in flags else "scalar"
    other = "AVX2" if "avx2" in flags else "scalar"
    forced = os.environ.get("NN_KERNEL")
    paths = f"NN_KERNEL={forced} everywhere" if forced else f"nn: products, maps, gate passes and direct convolutions {products}; convolutions' weight gradients and pooling {other}"
    return f"{field('model name')} (family {field('cpu family')} model {field('model')}), {', '.join(isas)}; {paths}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("--pytorch", help="the JSON file benches/pytorch/bench.py wrote")
    args = parser.parse_args()
    rows = parse(args.log)
    print(f"CPU: {cpu()}\n")
    for name, _, time, thrpt in rows:
        print(f"{name:<50} {time:>12} {thrpt:>16}")
    if not args.pytorch:
        return
    torch = json.load(open(args.pytorch))
    groups = {}
    for name, seconds, _, _ in rows:
        group, function = name.split("/", 1)
        groups.setdefault(group, {})[function] = seconds
    for group, result in torch["groups"].items():
        if group in groups:
            groups[group]["pytorch"] = result["seconds"]
    print(f"\n| group | nn | candle | burn | PyTorch {torch['torch']} | nn ÷ fastest other |")
    print("|---|---:|---:|---:|---:|---:|")
    for group, times in groups.items():
        if "nn" not in times:
            continue
        others = [times[k] for k in ("candle", "burn", "pytorch") if k in times]
        ratio = f"**{min(others) / times['nn']:.2f}×**" if others else ""
        cells = [show(times[k]) if k in times else "—" for k in ("nn", "candle", "burn", "pytorch")]
        print(f"| `{group}` | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
