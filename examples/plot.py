#!/usr/bin/env python3
"""Plots the CSV files the examples write, one PNG per file.

    python3 examples/plot.py [--out-dir DIR] FILE...

Each file's kind is recognised from its header line:

    optimizer,epoch,acc,loss,lr      spiral --csv, compare --csv: loss, accuracy, lr per epoch
    optimizer,kind,x0,x1,label       spiral --grid: decision regions and the training points
    optimizer,epoch,loss             linear_fit --csv: mean loss per epoch
    problem,optimizer,step,x0,x1,f   trajectories: each optimizer's path over the contours
    epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds
                                     mnist --csv: loss, accuracy (training and validation), lr
    run,optimizer,lr,epoch,train_loss,train_acc,val_loss,val_acc,seconds
                                     mnist_compare --csv: validation loss and accuracy per run
    run,true,predicted,count         mnist_compare --confusion: the test-set confusion matrix

and each title is made from what the file holds (optimizers, epochs, final
values, problem). DIR/NAME.png is written for NAME.csv (DIR: the current
directory by default). Exit status: 0 when every file was plotted, 1 when one
could not be read or is of no known kind (the others are still plotted), 2
for a usage error such as no FILE. Needs matplotlib and numpy (Debian:
python3-matplotlib, for /usr/bin/python3).
"""

import argparse
import csv
import os
import sys
from collections import OrderedDict

KINDS = {
    ("optimizer", "epoch", "acc", "loss", "lr"): "training",
    ("optimizer", "kind", "x0", "x1", "label"): "regions",
    ("optimizer", "epoch", "loss"): "linear",
    ("problem", "optimizer", "step", "x0", "x1", "f"): "trajectories",
    ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"): "mnist",
    ("run", "optimizer", "lr", "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
     "seconds"): "mnist_compare",
    ("run", "true", "predicted", "count"): "confusion",
}

# The trajectories example's functions, for the contour lines, and a view that
# keeps the book's picture (momentum leaves the saddle towards x1 -> -inf).
PROBLEMS = {
    "sphere": ("f = 0.2 x0² + 2 x1²", lambda a, b: 0.2 * a**2 + 2 * b**2, (-3.5, 3.5, -4.5, 4.5)),
    "saddle": ("f = x0² + x1² + x1³ + x0·x1", lambda a, b: a**2 + b**2 + b**3 + a * b,
               (-1.5, 3, -1.5, 3.5)),
}


class Unplottable(Exception):
    pass


def read(path):
    """The header and the rows of a CSV file, the rows as dicts of strings."""
    try:
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise Unplottable("cannot read it (%s)" % (e.strerror if isinstance(e, OSError) else e))
    if not lines:
        raise Unplottable("empty file")
    header = tuple(lines[0])
    if header not in KINDS:
        raise Unplottable("not a CSV file of the examples (header '%s')" % ",".join(header)[:80])
    rows = [dict(zip(header, line)) for line in lines[1:] if line]
    if not rows:
        raise Unplottable("no data rows under the header")
    for number, line in enumerate(lines[1:], start=2):
        if line and len(line) != len(header):
            raise Unplottable("line %d has %d fields, the header %d" % (number, len(line), len(header)))
    return KINDS[header], rows


def number(text):
    """A CSV value as a float; an empty one (mnist without validation) as NaN."""
    return float(text) if text != "" else float("nan")


def series(rows, key, *columns):
    """{rows[key]: {column: [float, ...]}} in the order the keys first appear."""
    out = OrderedDict()
    for r in rows:
        s = out.setdefault(r[key], {c: [] for c in columns})
        for c in columns:
            s[c].append(number(r[c]))
    return out


def plot_training(plt, rows):
    runs = series(rows, "optimizer", "epoch", "loss", "acc", "lr")
    fig, (ax_loss, ax_acc, ax_lr) = plt.subplots(1, 3, figsize=(15, 4))
    for name, s in runs.items():
        ax_loss.plot(s["epoch"], s["loss"], label=name, lw=1)
        ax_acc.plot(s["epoch"], s["acc"], label=name, lw=1)
        ax_lr.plot(s["epoch"], s["lr"], label=name, lw=1)
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    ax_lr.set(xlabel="epoch", ylabel="learning rate applied", yscale="log")
    ax_acc.legend()
    epochs = max(len(s["epoch"]) for s in runs.values())
    if len(runs) == 1:
        (name, s), = runs.items()
        title = "spiral, %s, %d epochs: last epoch's accuracy %.3f, loss %.3f" % (
            name, epochs, s["acc"][-1], s["loss"][-1])
    else:
        title = "spiral, %d epochs: %s" % (epochs, ", ".join(runs))
    fig.suptitle(title)
    return fig


def plot_regions(plt, rows):
    import numpy as np

    grid = [r for r in rows if r["kind"] == "grid"]
    samples = [r for r in rows if r["kind"] == "sample"]
    if not grid or not samples:
        raise Unplottable("needs both 'grid' and 'sample' rows")
    xs = sorted({float(r["x0"]) for r in grid})
    ys = sorted({float(r["x1"]) for r in grid})
    labels = np.full((len(ys), len(xs)), np.nan)
    for r in grid:
        labels[ys.index(float(r["x1"])), xs.index(float(r["x0"]))] = int(r["label"])
    classes = 1 + max(int(r["label"]) for r in rows)
    colors = plt.get_cmap("tab10").colors
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.contourf(xs, ys, labels, levels=np.arange(classes + 1) - 0.5, colors=colors[:classes],
                alpha=0.25)
    for c in range(classes):
        pts = [(float(r["x0"]), float(r["x1"])) for r in samples if int(r["label"]) == c]
        if pts:
            ax.scatter(*zip(*pts), s=8, color=colors[c])
    optimizers = ", ".join(OrderedDict.fromkeys(r["optimizer"] for r in rows))
    ax.set(title="spiral, %s: decision regions, %d training points" % (optimizers, len(samples)),
           xlabel="x0", ylabel="x1")
    ax.set_aspect("equal")
    return fig


def plot_linear(plt, rows):
    runs = series(rows, "optimizer", "epoch", "loss")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, s in runs.items():
        ax.plot(s["epoch"], s["loss"], marker="o", ms=3, label=name)
    epochs = max(len(s["epoch"]) for s in runs.values())
    ax.set(xlabel="epoch", ylabel="mean loss over the epoch's batches", yscale="log",
           title="linear fit, %d epochs: %s" % (epochs, ", ".join(runs)))
    ax.legend()
    return fig


def plot_trajectories(plt, rows):
    import numpy as np

    problems = list(OrderedDict.fromkeys(r["problem"] for r in rows))
    if len(problems) != 1:
        raise Unplottable("holds %d problems, plots one per file" % len(problems))
    name = problems[0]
    runs = series(rows, "optimizer", "x0", "x1")
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    title = name
    if name in PROBLEMS:
        formula, f, extent = PROBLEMS[name]
        X0, X1 = np.meshgrid(np.linspace(extent[0], extent[1], 300),
                             np.linspace(extent[2], extent[3], 300))
        Z = f(X0, X1)
        levels = np.unique(np.quantile(Z, np.linspace(0, 1, 32)[1:-1]))  # an even spread of lines
        ax.contour(X0, X1, Z, levels=levels, cmap="viridis", linewidths=0.7)
        ax.set(xlim=extent[:2], ylim=extent[2:])
        title = "%s %s" % (name, formula)
    for optimizer, s in runs.items():
        ax.plot(s["x0"], s["x1"], marker="o", ms=2.5, lw=1, label=optimizer)
    ax.set(xlabel="x0", ylabel="x1", title=title)
    ax.legend()
    return fig


def plot_mnist(plt, rows):
    s = series([dict(r, run="mnist") for r in rows], "run", "epoch", "train_loss", "train_acc",
               "val_loss", "val_acc", "lr")["mnist"]
    fig, (ax_loss, ax_acc, ax_lr) = plt.subplots(1, 3, figsize=(15, 4))
    validated = any(a == a for a in s["val_acc"])  # not all NaN: there was a validation set
    for part in ("train", "val") if validated else ("train",):
        label = "training (means over the epoch)" if part == "train" else "validation"
        ax_loss.plot(s["epoch"], s[part + "_loss"], marker="o", ms=2.5, lw=1, label=label)
        ax_acc.plot(s["epoch"], s[part + "_acc"], marker="o", ms=2.5, lw=1, label=label)
    ax_lr.plot(s["epoch"], s["lr"], marker="o", ms=2.5, lw=1)
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    ax_lr.set(xlabel="epoch", ylabel="learning rate applied", yscale="log")
    ax_acc.legend()
    title = "mnist, %d epochs: last epoch's training accuracy %.4f" % (
        len(s["epoch"]), s["train_acc"][-1])
    if validated:
        title += ", validation accuracy %.4f" % s["val_acc"][-1]
    fig.suptitle(title)
    return fig


def plot_mnist_compare(plt, rows):
    runs = series(rows, "run", "epoch", "val_loss", "val_acc")
    lrs = OrderedDict((r["run"], r["lr"]) for r in rows)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.8))
    for name, s in runs.items():
        label = "%s (lr %s)" % (name, lrs[name])
        ax_loss.plot(s["epoch"], s["val_loss"], lw=1.2, label=label)
        ax_acc.plot(s["epoch"], s["val_acc"], lw=1.2, label=label)
    ax_loss.set(xlabel="epoch", ylabel="validation loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy")
    ax_acc.legend(fontsize="small")
    best = max(runs, key=lambda n: max(runs[n]["val_acc"]))
    acc = runs[best]["val_acc"]
    epochs = max(len(s["epoch"]) for s in runs.values())
    fig.suptitle("mnist_compare, %d runs, up to %d epochs: best validation accuracy %.4f "
                 "(%s, epoch %d)" % (len(runs), epochs, max(acc), best,
                                     runs[best]["epoch"][acc.index(max(acc))]))
    return fig


def plot_confusion(plt, rows):
    import numpy as np

    names = list(OrderedDict.fromkeys(r["run"] for r in rows))
    if len(names) != 1:
        raise Unplottable("holds %d runs, plots one per file" % len(names))
    classes = 1 + max(max(int(r["true"]), int(r["predicted"])) for r in rows)
    counts = np.zeros((classes, classes), dtype=int)
    for r in rows:
        counts[int(r["true"]), int(r["predicted"])] += int(r["count"])
    total = counts.sum()
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(counts, cmap="Blues")
    for t in range(classes):
        for p in range(classes):
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                    color="white" if counts[t, p] > counts.max() / 2 else "black")
    ax.set(xticks=range(classes), yticks=range(classes), xlabel="predicted class",
           ylabel="true class",
           title="%s: test-set confusion matrix\n%d images, accuracy %.4f" % (
               names[0], total, np.trace(counts) / max(total, 1)))
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


PLOTTERS = {"training": plot_training, "regions": plot_regions, "linear": plot_linear,
            "trajectories": plot_trajectories, "mnist": plot_mnist,
            "mnist_compare": plot_mnist_compare, "confusion": plot_confusion}


def main():
    parser = argparse.ArgumentParser(
        description="Plots the CSV files the examples write, one PNG per file.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a CSV file an example wrote")
    parser.add_argument("--out-dir", default=".", metavar="DIR",
                        help="where NAME.png goes for NAME.csv (default: .)")
    args = parser.parse_args()
    try:  # after the arguments, so that --help and usage errors need no matplotlib
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        sys.exit("plot.py: %s; it needs matplotlib and numpy (Debian: python3-matplotlib, "
                 "for /usr/bin/python3)" % e)

    written, failed = [], 0
    for path in args.files:
        out = os.path.join(args.out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
        try:
            if out in written:
                raise Unplottable("another FILE already made %s" % out)
            kind, rows = read(path)
            try:
                fig = PLOTTERS[kind](plt, rows)
            except (KeyError, ValueError) as e:
                raise Unplottable("malformed %s data (%s)" % (kind, e))
            os.makedirs(args.out_dir, exist_ok=True)
            fig.tight_layout()
            fig.savefig(out, dpi=110)
            plt.close(fig)
        except (Unplottable, OSError) as e:
            print("plot.py: %s: %s" % (path, e), file=sys.stderr)
            failed += 1
            continue
        written.append(out)
        print("wrote " + out)
    if failed:
        print("plot.py: " + ("nothing plotted" if not written else
                             "%d of %d files not plotted" % (failed, len(args.files))),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
