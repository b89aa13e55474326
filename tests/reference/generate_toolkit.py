#!/usr/bin/env python3
"""Reference data for descend's gradient toolkit (tests/test_toolkit_reference.cpp):
gradient clipping, maximize, parameter groups, clipping inside trajectories,
and learning-rate schedules driving an optimizer.

Two sources, the second checked against the first inside this script:

  * REAL PyTorch 1.13 (Debian's python3-torch), float64, foreach=False:
    torch.nn.utils.clip_grad_norm_ and clip_grad_value_ on sets of gradients
    of different shapes, and torch.optim's SGD, Adagrad, RMSprop, Adadelta,
    Adam and AdamW stepped as users step them (gradients written into .grad,
    then clip_grad_norm_ if any, then optimizer.step(), then
    scheduler.step() if any), recording the parameters and every state
    buffer after each step.
  * An INDEPENDENT plain-Python implementation (floats and lists, no torch) of
    clip_grad_norm_ from its published formula,
        n_i = ||g_i||_p,  total = ||(n_1, ..., n_k)||_p  (p = inf: max |g|),
        c = min(max_norm / (total + 1e-6), 1),  g_i = c g_i,
    of clip_grad_value_ (g = clamp(g, -v, v)), and of SGD and Adam (the
    "Algorithm" blocks of the PyTorch docs, maximize: g = -g first, AMSGrad's
    maximum of the raw second moment as torch/optim/adam.py keeps it), which
    reproduces every clip case and every SGD, Adam and AdamW trajectory
    without a schedule to 1e-12 relative (absolute below 1e-3). The
    schedules' own rates are checked against the published formulas in
    generate_schedules.py.

The trajectories run on three parameters of shapes 2x3, 3 and 2x2 (13
coefficients, listed in torch's row-major order) with the gradient field
    g = sign * (c * (x - x_star) + 0.3 * sin(2 x))
per coefficient (sign -1 for the maximize cases, so that ascent converges).
Run from the repository root with the system Python that has torch 1.13:
    /usr/bin/python3 tests/reference/generate_toolkit.py > tests/reference/toolkit.inc
CI has no torch: the output is committed.
"""

import math
import re
import sys
import warnings

import torch
from torch.optim import lr_scheduler as S

assert torch.__version__.startswith("1.13"), torch.__version__
warnings.simplefilter("error")  # a warning means the case is not run as users run it
# ... except the one SequentialLR raises itself when it steps the next schedule with epoch 0.
warnings.filterwarnings("ignore", message=re.escape(S.EPOCH_DEPRECATION_WARNING))
torch.set_default_dtype(torch.float64)

INF = math.inf
TOL = 1e-12
SHAPES = [(2, 3), (3,), (2, 2)]
X0 = [1.5, -0.8, 0.3, -2.0, 0.05, 1.1, 0.7, -1.2, 2.1, -0.4, 0.9, -1.6, 0.25]
C = [1.0, 3.0, 0.5, 2.0, 10.0, 0.1, 4.0, 0.8, 1.5, 2.5, 0.3, 6.0, 1.2]
X_STAR = [0.5, 0.2, -0.4, 0.1, -0.3, 0.7, -0.5, 0.6, 1.0, 0.3, -0.2, 0.4, -0.9]


def size(shape):
    return math.prod(shape)


def slices():
    out, k = [], 0
    for shape in SHAPES:
        out.append(slice(k, k + size(shape)))
        k += size(shape)
    return out


def close(a, b, floor=1e-3):
    return abs(a - b) <= TOL * max(abs(b), floor)


def check_close(what, actual, expected):
    for i, (a, b) in enumerate(zip(actual, expected)):
        if not close(a, b):
            sys.exit(f"{what}: value {i}: independent {a!r} != torch {b!r}")
    if len(actual) != len(expected):
        sys.exit(f"{what}: {len(actual)} values != {len(expected)}")


# ---------------------------------------------------------------- options

def parse(text):
    o = {}
    for item in text.split():
        key, value = item.split("=")
        o[key] = float(value)
    return o


TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
         "adadelta": torch.optim.Adadelta, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
FLAGS = {"nesterov", "centered", "amsgrad", "maximize"}


def torch_group(o):
    g = {}
    for key, value in o.items():
        if key in ("beta1", "beta2"):
            continue
        g[key] = bool(value) if key in FLAGS else value
    if "beta1" in o or "beta2" in o:
        g["betas"] = (o.get("beta1", 0.9), o.get("beta2", 0.999))
    return g


def buffers(name, o):
    """The state buffers, in descend's order (buffer_names())."""
    if name == "sgd":
        return ["momentum_buffer"] if o.get("momentum", 0) != 0 else []
    if name == "adagrad":
        return ["sum"]
    if name == "rmsprop":
        return (["square_avg"] + (["grad_avg"] if o.get("centered", 0) else [])
                + (["momentum_buffer"] if o.get("momentum", 0) > 0 else []))
    if name == "adadelta":
        return ["square_avg", "acc_delta"]
    return ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if o.get("amsgrad", 0) else [])


# ---------------------------------------------------------------- cases

class Case:
    def __init__(self, name, optimizer, groups, membership=(0, 0, 0), clip=None, sign=1.0,
                 steps=8, schedule=""):
        self.name, self.optimizer, self.groups = name, optimizer, groups
        self.membership, self.clip, self.sign, self.steps = membership, clip, sign, steps
        self.schedule = schedule
        self.options = [parse(g) for g in groups]


MAXIMIZE = [
    ("sgd", "lr=0.05 maximize=1"),
    ("sgd", "lr=0.02 momentum=0.9 nesterov=1 weight_decay=0.1 maximize=1"),
    ("sgd", "lr=0.02 momentum=0.8 dampening=0.3 maximize=1"),
    ("adagrad", "lr=0.1 weight_decay=0.1 maximize=1"),
    ("rmsprop", "lr=0.01 centered=1 momentum=0.5 weight_decay=0.05 maximize=1"),
    ("adadelta", "lr=1.0 weight_decay=0.1 maximize=1"),
    ("adam", "lr=0.05 maximize=1"),
    ("adam", "lr=0.05 amsgrad=1 weight_decay=0.1 maximize=1"),
    ("adamw", "lr=0.05 weight_decay=0.2 maximize=1"),
]

# Group 0 holds the 2x3 parameter, group 1 the other two.
TWO_GROUPS = [
    ("sgd", "lr=0.05", "lr=0.02 momentum=0.9 nesterov=1 weight_decay=0.1"),
    ("sgd", "lr=0.03 momentum=0.5", "lr=0.01 momentum=0.9 dampening=0.2 weight_decay=0.05"),
    ("adagrad", "lr=0.1",
     "lr=0.05 lr_decay=0.05 weight_decay=0.1 eps=1e-06 initial_accumulator_value=0.1"),
    ("rmsprop", "lr=0.01", "lr=0.005 alpha=0.9 eps=0.0001 centered=1 momentum=0.5 weight_decay=0.05"),
    ("adadelta", "lr=1.0", "lr=0.5 rho=0.95 eps=1e-05 weight_decay=0.1"),
    ("adam", "lr=0.05", "lr=0.02 beta1=0.8 beta2=0.99 eps=1e-06 weight_decay=0.1 amsgrad=1"),
    ("adamw", "lr=0.05", "lr=0.02 beta1=0.85 beta2=0.95 eps=1e-07 weight_decay=0.2"),
]

CASES = (
    [Case(f"maximize: {n} {o}", n, [o], sign=-1.0) for n, o in MAXIMIZE]
    + [Case(f"two groups: {n} [{a}] [{b}]", n, [a, b], membership=(0, 1, 1))
       for n, a, b in TWO_GROUPS]
    # Clipping on some steps only: the total norm falls below max_norm (9.5, 5.0, 2.0
    # start around 12.3; the script checks that both kinds of step occur).
    + [
        Case("clip_grad_norm_ (2-norm): sgd momentum", "sgd", ["lr=0.05 momentum=0.9"],
             clip=dict(max_norm=7.0, norm_type=2.0), steps=10),
        Case("clip_grad_norm_ (1-norm): sgd momentum nesterov weight_decay", "sgd",
             ["lr=0.02 momentum=0.9 nesterov=1 weight_decay=0.1"],
             clip=dict(max_norm=25.0, norm_type=1.0), steps=10),
        Case("clip_grad_norm_ (2-norm): adam", "adam", ["lr=0.1"],
             clip=dict(max_norm=11.0, norm_type=2.0), steps=10),
        Case("clip_grad_norm_ (inf-norm): adam amsgrad, maximize", "adam",
             ["lr=0.1 amsgrad=1 maximize=1"], clip=dict(max_norm=9.0, norm_type=INF), sign=-1.0,
             steps=10),
        Case("clip_grad_norm_ of group 1 only: sgd momentum, two groups", "sgd",
             ["lr=0.05 momentum=0.9", "lr=0.05 momentum=0.5"], membership=(0, 1, 1),
             clip=dict(max_norm=4.0, norm_type=2.0, group=1), steps=10),
        Case("clip_grad_norm_ of group 1 only: adam, two groups", "adam",
             ["lr=0.1", "lr=0.2 beta1=0.8"], membership=(0, 1, 1),
             clip=dict(max_norm=11.5, norm_type=2.0, group=1), steps=10),
    ]
    # scheduler.step() once after each optimizer.step(). OneCycleLR cycles SGD's
    # momentum (0.95 -> 0.85 -> 0.95) and steps to e = total_steps.
    + [
        Case("schedule: sgd momentum, two groups, CosineAnnealingLR past T_max", "sgd",
             ["lr=0.05 momentum=0.9", "lr=0.02 momentum=0.5 weight_decay=0.05"],
             membership=(0, 1, 1), schedule="cosine T_max=6 eta_min=0.001", steps=10),
        Case("schedule: adam, StepLR, clip_grad_norm_ (2-norm)", "adam", ["lr=0.1"],
             clip=dict(max_norm=11.0, norm_type=2.0),
             schedule="step step_size=3 gamma=0.5", steps=10),
        Case("schedule: sgd nesterov, OneCycleLR cycling momentum", "sgd",
             ["lr=0.01 momentum=0.9 nesterov=1"],
             schedule="onecycle max_lr=0.1 total_steps=10", steps=10),
        Case("schedule: adamw, LinearLR warmup then CosineAnnealingLR (SequentialLR)", "adamw",
             ["lr=0.05 weight_decay=0.1"],
             schedule="warmup_cosine start_factor=0.1 total_iters=3 T_max=7 eta_min=0.0001 "
                      "milestone=3", steps=10),
    ]
)


def field(k, x, sign):
    """The gradient of coefficient k at x, in plain floats."""
    return sign * (C[k] * (x - X_STAR[k]) + 0.3 * math.sin(2.0 * x))


# ---------------------------------------------------------------- torch runs

def torch_schedule(opt, text):
    kind, _, rest = text.partition(" ")
    o = parse(rest)
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=int(o["T_max"]), eta_min=o["eta_min"])
    if kind == "step":
        return S.StepLR(opt, step_size=int(o["step_size"]), gamma=o["gamma"])
    if kind == "onecycle":
        return S.OneCycleLR(opt, max_lr=o["max_lr"], total_steps=int(o["total_steps"]))
    assert kind == "warmup_cosine", kind
    warmup = S.LinearLR(opt, start_factor=o["start_factor"], total_iters=int(o["total_iters"]))
    cosine = S.CosineAnnealingLR(opt, T_max=int(o["T_max"]), eta_min=o["eta_min"])
    return S.SequentialLR(opt, [warmup, cosine], milestones=[int(o["milestone"])])


def clip_norm_torch(params, max_norm, norm_type):
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type).item()
    return total, max_norm / (total + 1e-6) < 1


def run_torch(case):
    """Rows of: total norm, clipped, each group's lr at the step, then per
    parameter its values and its buffers (row-major)."""
    params = [torch.tensor(X0[s]).reshape(shape).requires_grad_()
              for s, shape in zip(slices(), SHAPES)]
    c = [torch.tensor(C[s]).reshape(shape) for s, shape in zip(slices(), SHAPES)]
    x_star = [torch.tensor(X_STAR[s]).reshape(shape) for s, shape in zip(slices(), SHAPES)]
    groups = [{"params": [p for p, m in zip(params, case.membership) if m == g],
               "foreach": False, **torch_group(o)} for g, o in enumerate(case.options)]
    opt = TORCH[case.optimizer](groups)
    if case.optimizer == "adagrad":
        # PyTorch 1.13 fills every "sum" with the constructor's
        # initial_accumulator_value (0 here), ignoring a group's own
        # (torch/optim/adagrad.py, __init__); descend starts each group's from
        # the group's value. Refilled as descend does; the updates are torch's.
        for g in opt.param_groups:
            for p in g["params"]:
                opt.state[p]["sum"].fill_(g["initial_accumulator_value"])
    schedule = torch_schedule(opt, case.schedule) if case.schedule else None
    rows = []
    for _ in range(case.steps):
        with torch.no_grad():
            for p, ci, xi in zip(params, c, x_star):
                p.grad = case.sign * (ci * (p - xi) + 0.3 * torch.sin(2.0 * p))
        total, clipped = 0.0, False
        if case.clip:
            group = case.clip.get("group")
            clipped_params = params if group is None else opt.param_groups[group]["params"]
            total, clipped = clip_norm_torch(clipped_params, case.clip["max_norm"],
                                             case.clip["norm_type"])
        row = [total, float(clipped)] + [g["lr"] for g in opt.param_groups]
        opt.step()
        if schedule:
            schedule.step()
        for p, m in zip(params, case.membership):
            row += p.detach().flatten().tolist()
            for b in buffers(case.optimizer, case.options[m]):
                row += opt.state[p][b].flatten().tolist()
        rows.append(row)
    return rows


# ---------------------------------------------------------------- independent

def plain_total(grads, p):
    if p == INF:
        return max(abs(v) for g in grads for v in g)
    norms = [sum(abs(v) ** p for v in g) ** (1 / p) for g in grads]
    return sum(n ** p for n in norms) ** (1 / p)


def plain_clip(grads, max_norm, p):
    total = plain_total(grads, p)
    c = min(max_norm / (total + 1e-6), 1.0)
    return total, c < 1, [[c * v for v in g] for g in grads]


def plain_sgd(o, x, g, state, t):
    lr, mu, wd = o["lr"], o.get("momentum", 0.0), o.get("weight_decay", 0.0)
    damp, nesterov = o.get("dampening", 0.0), o.get("nesterov", 0) == 1
    if o.get("maximize", 0):
        g = [-v for v in g]
    g = [gi + wd * xi for gi, xi in zip(g, x)]
    if mu == 0:
        return [xi - lr * gi for xi, gi in zip(x, g)], []
    if t == 1:
        b = list(g)
    else:
        b = [mu * bi + (1 - damp) * gi for bi, gi in zip(state[0], g)]
    d = [gi + mu * bi for gi, bi in zip(g, b)] if nesterov else b
    return [xi - lr * di for xi, di in zip(x, d)], [b]


def plain_adam(o, x, g, state, t, decoupled):
    lr, b1, b2 = o["lr"], o.get("beta1", 0.9), o.get("beta2", 0.999)
    eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 1e-2 if decoupled else 0.0)
    amsgrad = o.get("amsgrad", 0) == 1
    n = len(x)
    m, v, vmax = state if state else ([0.0] * n, [0.0] * n, [0.0] * n)
    if o.get("maximize", 0):
        g = [-gi for gi in g]
    if decoupled:
        x = [xi * (1 - lr * wd) for xi in x]
    elif wd != 0:
        g = [gi + wd * xi for gi, xi in zip(g, x)]
    m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
    v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
    r = v
    if amsgrad:
        vmax = [max(a, b) for a, b in zip(vmax, v)]
        r = vmax
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    x = [xi - lr / bc1 * mi / (math.sqrt(ri) / math.sqrt(bc2) + eps)
         for xi, mi, ri in zip(x, m, r)]
    return x, [m, v, vmax]


PLAIN = {"sgd": plain_sgd,
         "adam": lambda o, x, g, s, t: plain_adam(o, x, g, s, t, False),
         "adamw": lambda o, x, g, s, t: plain_adam(o, x, g, s, t, True)}


def run_plain(case):
    xs = [X0[s] for s in slices()]
    ks = [list(range(s.start, s.stop)) for s in slices()]
    states = [None] * len(xs)
    rows = []
    for t in range(1, case.steps + 1):
        grads = [[field(k, xi, case.sign) for k, xi in zip(kk, x)] for kk, x in zip(ks, xs)]
        total, clipped = 0.0, False
        if case.clip:
            group = case.clip.get("group")
            chosen = [i for i, m in enumerate(case.membership) if group is None or m == group]
            total, clipped, scaled = plain_clip([grads[i] for i in chosen], case.clip["max_norm"],
                                                case.clip["norm_type"])
            for i, g in zip(chosen, scaled):
                grads[i] = g
        row = [total, float(clipped)] + [o["lr"] for o in case.options]
        for i, m in enumerate(case.membership):
            o = case.options[m]
            xs[i], states[i] = PLAIN[case.optimizer](o, xs[i], grads[i], states[i], t)
            row += xs[i]
            for b in buffers(case.optimizer, o):
                row += states[i][["exp_avg", "exp_avg_sq", "max_exp_avg_sq"].index(b)
                                 if case.optimizer != "sgd" else 0]
        rows.append(row)
    return rows


# ---------------------------------------------------------------- clip cases

def clip_sets():
    """Sets of 2-3 gradients of different shapes: signs, a zero, one dominant element."""
    shapes = [[(2, 3), (4,)], [(3, 1), (2, 2), (5,)], [(1,), (2, 3), (3,)]]
    sets = []
    for s, set_shapes in enumerate(shapes):
        grads, k = [], 0
        for shape in set_shapes:
            values = []
            for _ in range(size(shape)):
                v = round(2.0 * math.sin(1.3 * k + s) + 0.5 * math.cos(3.1 * k), 6)
                values.append(0.0 if s == 2 and k % 4 == 0 else (7.5 if s == 1 and k == 5 else v))
                k += 1
            grads.append(values)
        sets.append((set_shapes, grads))
    return sets


def torch_grads(shapes, grads):
    params = []
    for shape, values in zip(shapes, grads):
        p = torch.zeros(shape, requires_grad=True)
        p.grad = torch.tensor(values).reshape(shape)
        params.append(p)
    return params


def clip_cases():
    """(kind, shapes, max_norm or clip value, norm_type, total, clipped, inputs, outputs)."""
    out = []
    for shapes, grads in clip_sets():
        for p in [2.0, 1.0, INF, 3.0, 0.5]:
            total = torch.nn.utils.clip_grad_norm_(torch_grads(shapes, grads), INF, p).item()
            check_close(f"total {p}-norm", [plain_total(grads, p)], [total])
            for max_norm in [0.5 * total, 2.0 * total] + ([total] if p == 2.0 else []):
                params = torch_grads(shapes, grads)
                t, clipped = clip_norm_torch(params, max_norm, p)
                clipped_grads = [q.grad.flatten().tolist() for q in params]
                pt, pc, pg = plain_clip(grads, max_norm, p)
                check_close(f"clip_grad_norm_ {p}-norm, max_norm {max_norm}",
                            [pt] + sum(pg, []), [t] + sum(clipped_grads, []))
                assert pc == clipped and t == total
                out.append(("norm", shapes, max_norm, p, t, clipped, grads, clipped_grads))
        for value in [0.5, 1.5]:
            params = torch_grads(shapes, grads)
            torch.nn.utils.clip_grad_value_(params, value)
            clamped = [q.grad.flatten().tolist() for q in params]
            check_close(f"clip_grad_value_ {value}",
                        [min(max(v, -value), value) for g in grads for v in g], sum(clamped, []))
            out.append(("value", shapes, value, 0.0, 0.0, clamped != grads, grads, clamped))
    return out


# ---------------------------------------------------------------- output

def number(v):
    return "kInf" if v == INF else repr(v)


def shape_text(shapes):
    return " ".join(f"{s[0]}x{s[1] if len(s) > 1 else 1}" for s in shapes)


def main():
    lines = ["// Generated by tests/reference/generate_toolkit.py; do not edit.", "// clang-format off"]
    lines.append(f'const char* const kShapes = "{shape_text(SHAPES)}";')
    for name, values in [("kX0", X0), ("kC", C), ("kXStar", X_STAR)]:
        lines.append(f"const double {name}[] = {{{', '.join(map(number, values))}}};")

    entries = []
    for i, (kind, shapes, limit, p, total, clipped, grads, outputs) in enumerate(clip_cases()):
        values = sum(grads, []) + sum(outputs, [])
        lines.append(f"const double kClip{i}[] = {{{', '.join(map(number, values))}}};")
        entries.append(f'  {{"{kind}", "{shape_text(shapes)}", {number(limit)}, {number(p)}, '
                       f"{number(total)}, {int(clipped)}, kClip{i}}},")
    lines += ["const ClipCase kClipCases[] = {"] + entries + ["};"]

    entries = []
    for i, case in enumerate(CASES):
        rows = run_torch(case)
        if case.optimizer in PLAIN and not case.schedule:
            check_close(case.name, sum(run_plain(case), []), sum(rows, []))
        if case.clip:
            flags = {r[1] for r in rows}
            assert flags == {0.0, 1.0}, f"{case.name}: clipped at no step or at every step"
            margin = min(abs(r[0] / case.clip["max_norm"] - 1) for r in rows)
            assert margin > 1e-3, f"{case.name}: a total norm within {margin} of max_norm"
        lines.append(f"const double kSteps{i}[] = {{")
        lines += ["  " + ", ".join(map(number, r)) + "," for r in rows]
        lines.append("};")
        clip = ""
        if case.clip:
            clip = f"max_norm={case.clip['max_norm']!r} norm_type={case.clip['norm_type']!r}"
            if "group" in case.clip:
                clip += f" group={case.clip['group']}"
        bufs = " | ".join(" ".join(buffers(case.optimizer, o)) for o in case.options)
        entries.append(f'  {{"{case.name}", "{case.optimizer}", "{" | ".join(case.groups)}", '
                       f'"{bufs}", "{" ".join(map(str, case.membership))}", "{clip}", "{case.schedule}", '
                       f"{number(case.sign)}, {case.steps}, kSteps{i}, std::size(kSteps{i})}},")
    lines += ["const TrajectoryCase kTrajectoryCases[] = {"] + entries + ["};"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
