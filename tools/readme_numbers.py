#!/usr/bin/env python3
"""Prints, as Markdown to paste into the README, every number the README
quotes about the example programs, by running them from a build directory.

    python3 tools/readme_numbers.py [BUILD_DIR] [--jobs N]

BUILD_DIR (default: build/default under the repository) must already hold the
built examples (`cmake --build BUILD_DIR --target spiral compare linear_fit
trajectories training_loop`); this script builds nothing. It runs:

  - spiral with no flags (the Adam preset, seed 28): its output, shortened;
  - spiral's Adam preset over seeds 0-30 and its SGD preset over seeds 0-11:
    the final accuracy and loss, their median, minimum and maximum, and how
    many seeds reach accuracy >= 0.95 and loss <= 0.10 (the criterion of the
    ctest example.spiral_adam_preset);
  - compare with no flags: its table;
  - linear_fit (seed 0) and trajectories: their summaries, and linear_fit's
    RMSProp distance from (0.5, 0.8) over seeds 0-5;
  - training_loop with no flags: its output;
  - curve_fit with no flags, and its evaluation counts over seeds 1-3;
  - mnist (when it is built and Debian's dataset-fashion-mnist is installed,
    unless --no-mnist): the default run (Adam, 10 epochs, seed 0), seed 1,
    and 30 epochs at a constant rate, with StepLR and with cosine annealing:
    about 130 epochs of ~1-2 s.

About 45 spiral runs of ~1-2 s each on a 2-core machine: a minute or two
with --jobs 1 (the default, so that the timed runs are not disturbed), less
with --jobs 2. Progress goes to stderr, the Markdown to stdout. Seconds in
the output are the machine's and its load's, not descend's; the accuracy and
loss depend on the build's floating-point code (compiler, flags such as
-march=native with FMA), so the header names the build. Uses only the
standard library.
"""

import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAM_SEEDS = range(0, 31)
SGD_SEEDS = range(0, 12)
LINEAR_SEEDS = range(0, 6)
CURVE_FIT_SEEDS = range(1, 4)
FINAL = re.compile(r"^final: epochs (\d+), acc ([0-9.]+), loss ([0-9.]+), ", re.M)


def progress(message):
    print(message, file=sys.stderr, flush=True)


def run(binary, *args):
    """stdout of one example run; exits with a message when the run fails."""
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1: spiral's --require-* not met, still a result
        sys.exit("readme_numbers: %s %s failed with status %d:\n%s" % (
            binary, " ".join(args), result.returncode, result.stderr))
    return result.stdout, result.returncode


def build_info(build):
    """One line naming the build and the source revision the numbers come from."""
    cache = {}
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                m = re.match(r"^([A-Za-z_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
                if m:
                    cache[m.group(1)] = m.group(2)
    except OSError:
        pass
    build_type = cache.get("CMAKE_BUILD_TYPE") or "no build type"
    flags = " ".join(f for f in (cache.get("CMAKE_CXX_FLAGS", ""),
                                 cache.get("CMAKE_CXX_FLAGS_" + build_type.upper(), "")) if f)
    compiler = cache.get("CMAKE_CXX_COMPILER", "?")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True,
                                 text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        version = compiler
    source = cache.get("CMAKE_HOME_DIRECTORY", REPO)
    git = ["git", "-C", source]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    where = os.path.abspath(build)
    if where.startswith(REPO + os.sep):
        where = os.path.relpath(where, REPO)
    return "%s, %s, `%s`, %s, commit %s%s" % (
        where, build_type, flags, version, commit,
        " with uncommitted changes" if dirty else "")


def spiral_final(spiral, optimizer, seed):
    out, status = run(spiral, "--optimizer", optimizer, "--seed", str(seed), "--print-every", "0",
                      "--require-loss", "0.10")
    m = FINAL.search(out)
    if not m:
        sys.exit("readme_numbers: no final line from spiral --seed %d:\n%s" % (seed, out))
    acc, loss = float(m.group(2)), float(m.group(3))
    # The accuracy is k/300, so its 3 printed decimals decide >= 0.95 exactly;
    # the loss is judged by spiral's own --require-loss (exit status 1).
    return {"seed": seed, "acc": acc, "loss": loss, "acc_ok": acc >= 0.95, "loss_ok": status == 0}


def sweep(spiral, optimizer, seeds, jobs):
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(spiral_final, spiral, optimizer, s): s for s in seeds}
        for n, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            r = future.result()
            results[r["seed"]] = r
            progress("  %s seed %2d: acc %.3f, loss %.3f   (%d/%d)" % (
                optimizer, r["seed"], r["acc"], r["loss"], n, len(seeds)))
    return [results[s] for s in seeds]


def spread(results, key):
    values = [r[key] for r in results]
    return statistics.median(values), min(values), max(values)


def spread_ints(values):
    return "%d-%d" % (min(values), max(values)) if values else "(none)"


def code(text):
    return "```\n" + text.rstrip("\n") + "\n```\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", nargs="?", default=os.path.join(REPO, "build", "default"),
                        metavar="BUILD_DIR", help="a build directory with the examples built")
    parser.add_argument("--jobs", type=int, default=1, choices=range(1, 65), metavar="N",
                        help="seed runs at a time (default 1)")
    parser.add_argument("--no-mnist", action="store_true", help="skip the mnist runs")
    args = parser.parse_args()
    bins = {name: os.path.join(args.build, "examples", name)
            for name in ("spiral", "compare", "linear_fit", "trajectories", "training_loop",
                         "curve_fit")}
    missing = [b for b in bins.values() if not os.access(b, os.X_OK)]
    if missing:
        sys.exit("readme_numbers: not built: %s\nbuild them first: cmake --build %s --target "
                 "spiral compare linear_fit trajectories training_loop curve_fit" % (", ".join(missing), args.build))
    spiral = bins["spiral"]
    md = []
    md.append("<!-- Generated by tools/readme_numbers.py from %s. -->\n" % build_info(args.build))

    progress("spiral, default run")
    out, _ = run(spiral)
    lines = out.splitlines()
    keep = [l for l in lines if not l.startswith("epoch: ")
            or l.startswith(("epoch: 0,", "epoch: 100,", "epoch: 10000,"))]
    keep.insert(keep.index(next(l for l in keep if l.startswith("epoch: 10000,"))), "...")
    m = FINAL.search(out)
    md.append("#### spiral: the default run (Adam preset, seed 28)\n")
    md.append(code("\n".join(keep)))
    md.append("The default run ends at **accuracy %s, loss %s** (the seconds on the final line "
              "are this machine's and vary with its load).\n" % (m.group(2), m.group(3)))

    progress("spiral, Adam preset over seeds %d-%d" % (ADAM_SEEDS[0], ADAM_SEEDS[-1]))
    adam = sweep(spiral, "adam", ADAM_SEEDS, args.jobs)
    progress("spiral, SGD preset over seeds %d-%d" % (SGD_SEEDS[0], SGD_SEEDS[-1]))
    sgd = sweep(spiral, "sgd", SGD_SEEDS, args.jobs)
    acc_med, acc_min, acc_max = spread(adam, "acc")
    loss_med, loss_min, loss_max = spread(adam, "loss")
    n = len(adam)
    good_acc = sum(r["acc_ok"] for r in adam)
    good_loss = sum(r["loss_ok"] for r in adam)
    both = [r["seed"] for r in adam if r["acc_ok"] and r["loss_ok"]]
    sgd_med, sgd_min, sgd_max = spread(sgd, "acc")
    md.append("#### spiral: the spread over seeds\n")
    md.append(
        "Over seeds %d–%d the Adam preset ends between %.3f and %.3f accuracy (median %.3f; "
        "%d of %d seeds ≥ 0.95) and between %.3f and %.3f loss (median %.3f; %d of %d ≤ 0.10); "
        "%d of %d reach both (seeds %s). The SGD preset ends between %.3f and %.3f accuracy over "
        "seeds %d–%d (median %.3f).\n" % (
            ADAM_SEEDS[0], ADAM_SEEDS[-1], acc_min, acc_max, acc_med, good_acc, n, loss_min,
            loss_max, loss_med, good_loss, n, len(both), n,
            ", ".join(map(str, both)) or "none", sgd_min, sgd_max, SGD_SEEDS[0], SGD_SEEDS[-1],
            sgd_med))
    md.append("<details><summary>Final accuracy and loss per seed</summary>\n")
    md.append("| seed | Adam acc | Adam loss | SGD acc | SGD loss |\n|---|---|---|---|---|")
    sgd_by_seed = {r["seed"]: r for r in sgd}
    for r in adam:
        s = sgd_by_seed.get(r["seed"])
        md.append("| %d | %.3f | %.3f | %s | %s |" % (
            r["seed"], r["acc"], r["loss"], "%.3f" % s["acc"] if s else "",
            "%.3f" % s["loss"] if s else ""))
    md.append("\n</details>\n")

    progress("compare")
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = run(bins["compare"], "--csv", os.path.join(tmp, "compare.csv"))
        table = "\n".join(l for l in out.splitlines() if not l.startswith("wrote "))
        md.append("#### compare\n")
        md.append(code(table))
        md.append("(The seconds are this machine's.)\n")

        progress("linear_fit")
        out, _ = run(bins["linear_fit"])
        summary = [l for l in out.splitlines() if " w = (" in l or "learned w" in l
                   or l.startswith("FAILED")]
        md.append("#### linear_fit (seed 0)\n")
        md.append(code("\n".join(summary)))
        hover = []
        for seed in LINEAR_SEEDS:
            progress("  linear_fit --seed %d" % seed)
            out, _ = run(bins["linear_fit"], "--seed", str(seed))
            m = re.search(r"^\s*rmsprop\s+w = .*max\|w - \(0.5, 0.8\)\| = ([0-9.]+)", out, re.M)
            hover.append(float(m.group(1)))
        md.append("RMSProp at the book's constant learning rate ends %.3f to %.3f from (0.5, 0.8) "
                  "over seeds %d–%d.\n" % (min(hover), max(hover), LINEAR_SEEDS[0],
                                           LINEAR_SEEDS[-1]))

        progress("trajectories")
        out, _ = run(bins["trajectories"], "--out-dir", tmp)
        md.append("#### trajectories\n")
        md.append(code(out))
        m = re.search(r"^saddle.*?^\s*momentum\s+diverged at step (\d+)", out, re.M | re.S)
        if m:
            md.append("On the saddle, momentum diverges at step %s.\n" % m.group(1))

    progress("training_loop")
    out, _ = run(bins["training_loop"])
    md.append("#### training_loop\n")
    md.append(code(out))

    progress("curve_fit")
    out, _ = run(bins["curve_fit"])
    md.append("#### curve_fit\n")
    md.append(code(out))
    evaluations = {"lbfgs": [], "adam": []}
    for seed in CURVE_FIT_SEEDS:
        out, _ = run(bins["curve_fit"], "--seed", str(seed))
        for name in evaluations:
            m = re.search(r"^%s .*evaluations (\d+)" % name, out, re.M)
            if m:
                evaluations[name].append(int(m.group(1)))
    md.append("Over seeds %d-%d: L-BFGS %s evaluations, Adam %s.\n" % (
        CURVE_FIT_SEEDS[0], CURVE_FIT_SEEDS[-1],
        spread_ints(evaluations["lbfgs"]), spread_ints(evaluations["adam"])))
    mnist = os.path.join(args.build, "examples", "mnist")
    if args.no_mnist:
        progress("mnist: skipped (--no-mnist)")
    elif not os.access(mnist, os.X_OK) or not os.path.isdir(MNIST_DIR):
        progress("mnist: skipped (not built, or no %s)" % MNIST_DIR)
    else:
        md.extend(mnist_section(mnist))
    print("\n".join(md))
    return 0


MNIST_DIR = "/usr/share/datasets/fashion-mnist"
MNIST_TEST = re.compile(r"^test: loss ([0-9.]+)  acc ([0-9.]+)  \((\d+) images; (\d+) epochs, "
                        r"([0-9.]+) s per epoch\)", re.M)


def mnist_section(mnist):
    """The mnist example's default run, and how far more epochs and schedules take it."""
    md = []
    progress("mnist, default run (seed 0)")
    out, _ = run(mnist)
    md.append("#### mnist: the default run (Adam lr 1e-3, batch 128, 10 epochs, seed 0)\n")
    md.append(code(out))
    runs = [("constant lr, seed 1", ["--seed", "1"]),
            ("constant lr, 30 epochs", ["--epochs", "30"]),
            ("StepLR(10, 0.1), 30 epochs", ["--epochs", "30", "--schedule", "step",
                                             "--step-size", "10", "--gamma", "0.1"]),
            ("cosine to 0, 30 epochs", ["--epochs", "30", "--schedule", "cosine"])]
    rows = ["| run (Adam lr 1e-3, batch 128) | epochs | test loss | test accuracy |",
            "|---|---|---|---|"]
    m = MNIST_TEST.search(out)
    rows.append("| constant lr, seed 0 (above) | %s | %s | %s |" % (m.group(4), m.group(1),
                                                                    m.group(2)))
    for name, flags in runs:
        progress("mnist " + " ".join(flags))
        out, _ = run(mnist, *flags)
        m = MNIST_TEST.search(out)
        rows.append("| %s | %s | %s | %s |" % (name, m.group(4), m.group(1), m.group(2)))
    md.append("#### mnist: more epochs and schedules\n")
    md.append("\n".join(rows) + "\n")
    return md


if __name__ == "__main__":
    sys.exit(main())
