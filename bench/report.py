#!/usr/bin/env python3
"""Summarises descend_bench JSON output as Markdown tables.

    python3 bench/report.py RESULT.json [RESULT.json ...]

For each file: the ratio of every update to its in-place stream roofline
("roofline", 1.0 = memory speed) by optimizer, scalar and size, then the
1000 x 64 case and the spiral epoch. Uses only the standard library.
"""

import json
import sys
from collections import defaultdict


def table(path):
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    rows = defaultdict(dict)
    extra = []
    threads = None
    for b in data["benchmarks"]:
        name = b["name"]
        if name.startswith("update/"):
            _, config, scalar, n = name.split("/")
            rows[(config, scalar)][int(n)] = b["roofline"]
            threads = int(b.get("threads", 1))
        elif name.startswith("many_small"):
            extra.append(f"- Adam, 1000 parameters x 64 floats: descend {b['descend_us']:.0f} us, "
                         f"raw loop {b['raw_us']:.0f} us, ratio **{b['ratio_to_raw']:.2f}**")
        elif name.startswith("spiral_epoch"):
            extra.append(f"- spiral epoch: {b['epoch_us']:.1f} us, 10001 epochs in "
                         f"**{b['s_per_10001_epochs']:.2f} s**")
    sizes = sorted({n for r in rows.values() for n in r})
    out = [f"`{path}` ({ctx.get('num_cpus', '?')} CPUs, {threads} thread(s)):", ""]
    out.append("| optimizer | scalar | " + " | ".join(f"N={n:.0e}" for n in sizes) + " |")
    out.append("|---|---|" + "---|" * len(sizes))
    for (config, scalar), r in sorted(rows.items()):
        cells = " | ".join(f"{r[n]:.2f}" if n in r else "" for n in sizes)
        out.append(f"| {config} | {scalar} | {cells} |")
    out.append("")
    out.extend(extra)
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("\n\n".join(table(p) for p in sys.argv[1:]))
