#!/usr/bin/env python3
"""Summarises descend_bench JSON output as Markdown tables.

    python3 bench/report.py RESULT.json [RESULT.json ...]
    python3 bench/report.py --summary RESULT.json [RESULT.json ...]
    python3 bench/report.py --levels PORTABLE.json AVX2.json AVX512.json

For each file: the ratio of every update to its in-place stream roofline
("roofline", 1.0 = memory speed) by optimizer, scalar and size, each next to
"fused_ratio" (the hand-fused loop with the same arithmetic over the update,
1.0 = descend as fast as the loop; issue 14's target is >= 0.95), with the
bound the arithmetic alone sets (see bound()), then the fixed costs, the
1000 x 64 cases and the spiral epoch. --summary prints one table of the
N = 1e7 ratios (roofline with its bound, and fused_ratio) with columns per
file. --levels compares the builds of bench/dispatch.sh (see levels()).
Files from before fused_ratio existed show "—" in its place. Uses only
the standard library.
"""

import json
import sys
from collections import defaultdict

MISSING = "—"  # a figure the file does not have (fused_ratio before issue 14)


def ratio(value):
    return MISSING if value is None else f"{value:.2f}"


def bound(ns):
    """The best roofline ratio the arithmetic allows at N = 1e7: the stream
    loop's time per element there over the update's time per element at
    N = 1e3, where all arrays sit in L1 and the update is pure arithmetic.
    Below 1, the update cannot reach memory speed on this build."""
    if 1000 not in ns or 10000000 not in ns:
        return ""
    return f"{min(1.0, ns[10000000][1] / ns[1000][0]):.2f}"


def table(path):
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    rows = defaultdict(dict)  # (roofline, fused_ratio or None)
    ns = defaultdict(dict)  # (update, stream) ns per element
    extra = []
    threads = None
    for b in data["benchmarks"]:
        name = b["name"]
        if name.startswith("update/"):
            _, config, scalar, n = name.split("/")
            rows[(config, scalar)][int(n)] = (b["roofline"], b.get("fused_ratio"))
            ns[(config, scalar)][int(n)] = (b["ns_per_element"],
                                            b["ns_per_element"] * b["roofline"])
            threads = int(b.get("threads", 1))
        elif name.startswith("fixed_cost/update"):
            extra.append(f"- fixed cost, SGD update() of 1000 floats: {b['update_ns']:.0f} ns, "
                         f"fused loop {b['fused_ns']:.0f} ns, {b['overhead_ns']:.0f} ns more, "
                         f"ratio **{b['update_over_fused']:.2f}** (target <= 1.15)")
        elif name.startswith("fixed_cost/step") and name.endswith("/arena"):
            extra.append(f"- Adam step() over 1000 x 64 floats in an Arena: {b['many_us']:.1f} us, "
                         f"over 1 x 64000: {b['one_us']:.1f} us, "
                         f"ratio **{b['many_over_one']:.2f}** (target <= 1.15)")
        elif name.startswith("fixed_cost/step"):
            extra.append(f"- fixed cost, Adam step() over 1000 x 64 floats: {b['many_us']:.1f} us, "
                         f"over 1 x 64000: {b['one_us']:.1f} us, "
                         f"{b['overhead_ns_per_param']:.0f} ns more per parameter, "
                         f"ratio **{b['many_over_one']:.2f}** (target <= 1.15)")
        elif name.startswith("many_small"):
            how = name.split("/")[-1]  # step or update
            extra.append(f"- Adam, 1000 parameters x 64 floats, {how}(): "
                         f"descend {b['descend_us']:.0f} us, "
                         f"raw loop {b['raw_us']:.0f} us, ratio **{b['ratio_to_raw']:.2f}**")
        elif name.startswith("spiral_epoch"):
            extra.append(f"- spiral epoch: {b['epoch_us']:.1f} us, 10001 epochs in "
                         f"**{b['s_per_10001_epochs']:.2f} s**")
    sizes = sorted({n for r in rows.values() for n in r})
    out = [f"`{path}` ({ctx.get('num_cpus', '?')} CPUs, {threads} thread(s)):", ""]
    out.append("roofline: stream loop time / update time; fused: hand-fused loop time / "
               "update time (1 = as fast as the loop).")
    out.append("")
    out.append("| optimizer | scalar | " +
               " | ".join(f"N={n:.0e} roofline | N={n:.0e} fused" for n in sizes) +
               " | compute bound at N=1e7 |")
    out.append("|---|---|" + "---|" * (2 * len(sizes) + 1))
    for (config, scalar), r in sorted(rows.items()):
        cells = " | ".join(f"{r[n][0]:.2f} | {ratio(r[n][1])}" if n in r else " | "
                           for n in sizes)
        out.append(f"| {config} | {scalar} | {cells} | {bound(ns[(config, scalar)])} |")
    out.append("")
    out.extend(extra)
    return "\n".join(out)


def summary(paths, n=10000000):
    """One table: per file, the roofline ratio at size n with its compute
    bound, and fused_ratio at size n."""
    cols = []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        ratios, ns = {}, defaultdict(dict)
        for b in data["benchmarks"]:
            if b["name"].startswith("update/"):
                _, config, scalar, size = b["name"].split("/")
                ns[(config, scalar)][int(size)] = (b["ns_per_element"],
                                                   b["ns_per_element"] * b["roofline"])
                if int(size) == n:
                    ratios[(config, scalar)] = (b["roofline"], b.get("fused_ratio"))
        cols.append((path, ratios, ns))
    keys = sorted({k for _, r, _ in cols for k in r})
    head = " | ".join(f"{name} roofline (bound) | {name} fused"
                      for name in (p.split('/')[-1].removesuffix('.json') for p, _, _ in cols))
    out = [f"| optimizer | scalar | {head} |", "|---|---|" + "---|" * (2 * len(cols))]
    for k in keys:
        cells = " | ".join(f"{r[k][0]:.2f} ({bound(ns[k])}) | {ratio(r[k][1])}" if k in r else " | "
                           for _, r, ns in cols)
        out.append(f"| {k[0]} | {k[1]} | {cells} |")
    return "\n".join(out)


def levels(paths):
    """Issue 14's builds side by side (bench/dispatch.sh): per file, the
    fused ratio at N = 1e3 and 1e7 and the speed-up over the first file
    (its time per element over this file's) at the same sizes; then each
    file's fixed costs."""
    cols, notes = [], []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        level = data.get("context", {}).get("descend_isa", "?")
        if level.startswith("none"):  # descend_bench: header-only, -O2 without -march
            level = "portable"
        name = path.split("/")[-1].removesuffix(".json")
        fused, ns = {}, {}
        for b in data["benchmarks"]:
            if b["name"].startswith("update/"):
                _, config, scalar, size = b["name"].split("/")
                fused[(config, scalar, int(size))] = b.get("fused_ratio")
                ns[(config, scalar, int(size))] = b["ns_per_element"]
            elif b["name"].startswith("fixed_cost/update"):
                notes.append(f"- {name}: SGD update() of 1000 floats {b['update_ns']:.0f} ns, "
                             f"fused loop {b['fused_ns']:.0f} ns, ratio "
                             f"**{b['update_over_fused']:.2f}** (target <= 1.15)")
            elif b["name"].startswith("fixed_cost/step") and b["name"].endswith("/arena"):
                notes.append(f"- {name}: Adam step() over 1000 x 64 floats in an Arena "
                             f"{b['many_us']:.1f} us, over 1 x 64000 {b['one_us']:.1f} us, ratio "
                             f"**{b['many_over_one']:.2f}** (target <= 1.15)")
            elif b["name"].startswith("fixed_cost/step"):
                notes.append(f"- {name}: Adam step() over 1000 x 64 floats {b['many_us']:.1f} us, "
                             f"over 1 x 64000 {b['one_us']:.1f} us, ratio "
                             f"**{b['many_over_one']:.2f}** (target <= 1.15)")
        cols.append((name, level, fused, ns))
    sizes = (1000, 10000000)
    keys = sorted({(c, s) for _, _, fused, _ in cols for (c, s, _) in fused})
    head, rule = [], []
    for i, (name, level, _, _) in enumerate(cols):
        for n in sizes:
            head.append(f"{level} fused N={n:.0e}")
            if i > 0:
                head.append(f"{level} speed-up N={n:.0e}")
    out = ["| optimizer | scalar | " + " | ".join(head) + " |",
           "|---|---|" + "---|" * len(head)]
    base_ns = cols[0][3]
    for config, scalar in keys:
        cells = []
        for i, (_, _, fused, ns) in enumerate(cols):
            for n in sizes:
                cells.append(ratio(fused.get((config, scalar, n))))
                if i > 0:
                    t, t0 = ns.get((config, scalar, n)), base_ns.get((config, scalar, n))
                    cells.append(MISSING if t is None or t0 is None else f"{t0 / t:.2f}")
        out.append(f"| {config} | {scalar} | " + " | ".join(cells) + " |")
    return "\n".join(out + [""] + notes)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "--summary":
        print(summary(args[1:]))
    elif args[0] == "--levels":
        print(levels(args[1:]))
    else:
        print("\n\n".join(table(p) for p in args))
