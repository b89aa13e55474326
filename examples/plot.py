#!/usr/bin/env python3
"""Turns the examples' CSV files into the PNGs under docs/.

    python3 examples/plot.py CSV_DIR OUT_DIR

CSV_DIR holds what the examples wrote (see the README's "Pictures" section):
compare.csv, sphere.csv, saddle.csv, spiral_grid.csv, linear_fit.csv. Any that
is missing is skipped. Needs matplotlib (Debian: python3-matplotlib).
"""

import csv
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def by_optimizer(rows, *columns):
    out = defaultdict(lambda: {c: [] for c in columns})
    for r in rows:
        for c in columns:
            out[r["optimizer"]][c].append(float(r[c]))
    return out


def plot_compare(rows, out):
    series = by_optimizer(rows, "epoch", "loss", "acc")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for name, s in series.items():
        ax_loss.plot(s["epoch"], s["loss"], label=name, lw=1)
        ax_acc.plot(s["epoch"], s["acc"], label=name, lw=1)
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log", title="spiral: training loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="spiral: training accuracy")
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_trajectories(rows, f, extent, title, out):
    series = by_optimizer(rows, "x0", "x1")
    x0 = np.linspace(extent[0], extent[1], 300)
    x1 = np.linspace(extent[2], extent[3], 300)
    X0, X1 = np.meshgrid(x0, x1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    Z = f(X0, X1)
    levels = np.unique(np.quantile(Z, np.linspace(0, 1, 32)[1:-1]))  # even spread of lines
    ax.contour(X0, X1, Z, levels=levels, cmap="viridis", linewidths=0.7)
    for name, s in series.items():
        ax.plot(s["x0"], s["x1"], marker="o", ms=2.5, lw=1, label=name)
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="x0", ylabel="x1", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_spiral(rows, out):
    grid = [r for r in rows if r["kind"] == "grid"]
    samples = [r for r in rows if r["kind"] == "sample"]
    n = int(round(len(grid) ** 0.5))
    labels = np.array([int(r["label"]) for r in grid]).reshape(n, n)
    xs = [float(r["x0"]) for r in grid[:n]]
    ys = [float(grid[i * n]["x1"]) for i in range(n)]
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.contourf(xs, ys, labels, levels=[-0.5, 0.5, 1.5, 2.5], colors=["#fdd", "#dfd", "#ddf"])
    colors = ["#c00", "#080", "#00c"]
    for c in range(3):
        pts = [(float(r["x0"]), float(r["x1"])) for r in samples if int(r["label"]) == c]
        ax.scatter(*zip(*pts), s=8, color=colors[c])
    ax.set(title="spiral: decision regions after training (Adam preset)", xlabel="x0",
           ylabel="x1")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_linear(rows, out):
    series = by_optimizer(rows, "epoch", "loss")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, s in series.items():
        ax.plot(s["epoch"], s["loss"], marker="o", ms=3, label=name)
    ax.set(xlabel="epoch", ylabel="mean MSE/2 over the epoch's batches", yscale="log",
           title="linear fit (NNDL book settings)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)

    def have(name):
        return os.path.exists(os.path.join(src, name))

    made = []
    if have("compare.csv"):
        plot_compare(read(os.path.join(src, "compare.csv")), os.path.join(dst, "compare.png"))
        made.append("compare.png")
    if have("sphere.csv"):
        plot_trajectories(read(os.path.join(src, "sphere.csv")),
                          lambda a, b: 0.2 * a ** 2 + 2 * b ** 2, (-3.5, 3.5, -4.5, 4.5),
                          "sphere f = 0.2 x0² + 2 x1²", os.path.join(dst, "sphere.png"))
        made.append("sphere.png")
    if have("saddle.csv"):
        plot_trajectories(read(os.path.join(src, "saddle.csv")),
                          lambda a, b: a ** 2 + b ** 2 + b ** 3 + a * b, (-1.5, 3, -1.5, 3.5),
                          "saddle f = x0² + x1² + x1³ + x0·x1", os.path.join(dst, "saddle.png"))
        made.append("saddle.png")
    if have("spiral_grid.csv"):
        plot_spiral(read(os.path.join(src, "spiral_grid.csv")), os.path.join(dst, "spiral.png"))
        made.append("spiral.png")
    if have("linear_fit.csv"):
        plot_linear(read(os.path.join(src, "linear_fit.csv")), os.path.join(dst, "linear_fit.png"))
        made.append("linear_fit.png")
    print("wrote " + ", ".join(os.path.join(dst, m) for m in made) if made else "nothing to plot")


if __name__ == "__main__":
    main()
