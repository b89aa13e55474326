#!/usr/bin/env python3
"""Reference data for descend's Rprop, ASGD and Lion (tests/test_rprop_asgd_lion.cpp).

Sources, each checked against an independent second one inside this script:

  * Rprop: REAL PyTorch 1.13 (Debian's python3-torch), float64, foreach=False
    (torch/optim/rprop.py, _single_tensor_rprop), stepped as users step it
    (gradients written into .grad, optimizer.step(), then scheduler.step() if
    any); checked against a plain-Python transcription of that code (floats,
    with sign as torch.sign: 0 for +-0 and NaN).
  * ASGD: REAL PyTorch 1.13, float64 parameters, with ONE deviation, the one
    descend makes: torch.optim.ASGD keeps eta and mu as torch.tensor(x),
    float32 by default even for float64 parameters; descend computes them in
    the parameter's precision. The data is generated with
    torch.set_default_dtype(torch.float64), which makes those tensors float64
    and changes nothing else. The script shows that this is the only
    difference: a plain-Python transcription of _single_tensor_asgd with eta
    and mu rounded to float32 reproduces stock torch (default dtype float32),
    and the same transcription without the rounding reproduces the data.
    Schedules: PyTorch computes the eta of step t from the lr of step t - 1;
    descend from the lr of step t. The schedule case is the transcription with
    descend's rule, and the script checks that the same transcription fed the
    previous step's lr reproduces torch.
  * Lion (no PyTorch core version): a numpy transcription of the authors'
    code (github.com/google/automl, lion/lion_pytorch.py), checked against an
    independent torch implementation written here (torch.lerp and
    torch.sign, the form of lucidrains/lion-pytorch), maximize added as
    PyTorch adds it to its own optimizers (g = -g first).

The trajectories run on three parameters of shapes 2x3, 3 and 2x2 (13
coefficients, in torch's row-major order), the problem of generate_toolkit.py,
with the gradient field
    g = sign * (c * (x - x_star) + 0.3 * sin(2 x))
per coefficient (sign -1 for the maximize cases), 50 steps. Each row of the
output: each group's lr at the step, then per parameter its values and its
state buffers (row-major). Run from the repository root with the system
Python that has torch 1.13 and numpy:
    /usr/bin/python3 tests/reference/generate_rprop_asgd_lion.py > tests/reference/rprop_asgd_lion.inc
CI has no torch: the output is committed.
"""

import math
import sys
import warnings

import numpy as np
import torch
from torch.optim import lr_scheduler as S

assert torch.__version__.startswith("1.13"), torch.__version__
warnings.simplefilter("error")

TOL = 1e-12
STEPS = 50
SHAPES = [(2, 3), (3,), (2, 2)]
X0 = [1.5, -0.8, 0.3, -2.0, 0.05, 1.1, 0.7, -1.2, 2.1, -0.4, 0.9, -1.6, 0.25]
C = [1.0, 3.0, 0.5, 2.0, 10.0, 0.1, 4.0, 0.8, 1.5, 2.5, 0.3, 6.0, 1.2]
X_STAR = [0.5, 0.2, -0.4, 0.1, -0.3, 0.7, -0.5, 0.6, 1.0, 0.3, -0.2, 0.4, -0.9]

DEFAULTS = {
    "rprop": dict(lr=1e-2, etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0),
    "asgd": dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0),
    "lion": dict(lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0),
}
BUFFERS = {"rprop": ["prev", "step_size"], "asgd": ["ax"], "lion": ["exp_avg"]}


def size(shape):
    return math.prod(shape)


def slices():
    out, k = [], 0
    for shape in SHAPES:
        out.append(slice(k, k + size(shape)))
        k += size(shape)
    return out


def parse(text):
    o = {}
    for item in text.split():
        key, value = item.split("=")
        o[key] = float(value)
    return o


def options(name, text):
    o = dict(DEFAULTS[name])
    o["maximize"] = 0.0
    o.update(parse(text))
    return o


class Case:
    def __init__(self, name, optimizer, groups, membership=(0, 0, 0), sign=1.0, schedule=""):
        self.name, self.optimizer, self.groups = name, optimizer, groups
        self.membership, self.sign, self.schedule = membership, sign, schedule
        self.options = [options(optimizer, g) for g in groups]


TWO = (0, 1, 1)  # group 0 holds the 2x3 parameter, group 1 the other two
CASES = [
    Case("rprop: defaults", "rprop", [""]),
    Case("rprop: etas, step_sizes", "rprop",
         ["lr=0.05 etaminus=0.3 etaplus=1.5 step_size_min=0.001 step_size_max=0.2"]),
    Case("rprop: maximize", "rprop", ["lr=0.02 maximize=1"], sign=-1.0),
    Case("rprop: two groups", "rprop",
         ["lr=0.01", "lr=0.03 etaminus=0.4 etaplus=1.1 step_size_min=0.0001 step_size_max=0.05"],
         membership=TWO),
    # lr only seeds step_size: the schedule changes the recorded lr, not the steps.
    Case("rprop: StepLR", "rprop", ["lr=0.02", "lr=0.05 etaplus=1.3"], membership=TWO,
         schedule="step step_size=5 gamma=0.5"),
    Case("asgd: defaults", "asgd", [""]),
    Case("asgd: lambd, alpha, small t0 (averaging from step 7)", "asgd",
         ["lr=0.05 lambd=0.01 alpha=0.5 t0=5"]),
    Case("asgd: weight_decay", "asgd", ["lr=0.02 lambd=0.001 t0=10 weight_decay=0.1"]),
    Case("asgd: maximize", "asgd", ["lr=0.03 t0=3 maximize=1"], sign=-1.0),
    Case("asgd: two groups", "asgd",
         ["lr=0.01 t0=5", "lr=0.04 lambd=0.05 alpha=1 t0=20 weight_decay=0.05"], membership=TWO),
    Case("asgd: StepLR", "asgd", ["lr=0.05 lambd=0.01 t0=8", "lr=0.02 alpha=1 lambd=0.1 t0=8"],
         membership=TWO, schedule="step step_size=7 gamma=0.5"),
    Case("lion: defaults", "lion", [""]),
    Case("lion: betas, weight_decay", "lion", ["lr=0.02 beta1=0.8 beta2=0.95 weight_decay=0.5"]),
    Case("lion: maximize", "lion", ["lr=0.01 weight_decay=0.1 maximize=1"], sign=-1.0),
    Case("lion: two groups", "lion", ["lr=0.01", "lr=0.03 beta1=0.5 beta2=0.9 weight_decay=1"],
         membership=TWO),
    Case("lion: StepLR", "lion", ["lr=0.04 weight_decay=0.2", "lr=0.01 beta1=0.95"],
         membership=TWO, schedule="step step_size=6 gamma=0.3"),
]


def field(k, x, sign):
    return sign * (C[k] * (x - X_STAR[k]) + 0.3 * math.sin(2.0 * x))


def step_lr(text, step):
    """StepLR's rate factor after `step` calls of scheduler.step()."""
    if not text:
        return 1.0
    kind, _, rest = text.partition(" ")
    assert kind == "step"
    o = parse(rest)
    return o["gamma"] ** (step // int(o["step_size"]))


# ---------------------------------------------------------------- torch runs

def torch_group(name, o):
    g = {"lr": o["lr"], "foreach": False, "maximize": bool(o["maximize"])}
    if name == "rprop":
        g["etas"] = (o["etaminus"], o["etaplus"])
        g["step_sizes"] = (o["step_size_min"], o["step_size_max"])
    else:
        for key in ("lambd", "alpha", "t0", "weight_decay"):
            g[key] = o[key]
    return g


def run_torch(case, eta_dtype=torch.float64):
    """Rprop or ASGD in torch, float64 parameters; eta_dtype is the default
    dtype while the optimizer runs (float32: PyTorch as shipped)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(eta_dtype)
    try:
        params = [torch.tensor(X0[s], dtype=torch.float64).reshape(shape).requires_grad_()
                  for s, shape in zip(slices(), SHAPES)]
        c = [torch.tensor(C[s], dtype=torch.float64).reshape(shape)
             for s, shape in zip(slices(), SHAPES)]
        x_star = [torch.tensor(X_STAR[s], dtype=torch.float64).reshape(shape)
                  for s, shape in zip(slices(), SHAPES)]
        cls = torch.optim.Rprop if case.optimizer == "rprop" else torch.optim.ASGD
        groups = [{"params": [p for p, m in zip(params, case.membership) if m == g],
                   **torch_group(case.optimizer, o)} for g, o in enumerate(case.options)]
        opt = cls(groups)
        schedule = None
        if case.schedule:
            o = parse(case.schedule.partition(" ")[2])
            schedule = S.StepLR(opt, step_size=int(o["step_size"]), gamma=o["gamma"])
        rows = []
        for _ in range(STEPS):
            with torch.no_grad():
                for p, ci, xi in zip(params, c, x_star):
                    p.grad = case.sign * (ci * (p - xi) + 0.3 * torch.sin(2.0 * p))
            row = [g["lr"] for g in opt.param_groups]
            opt.step()
            if schedule:
                schedule.step()
            for p in params:
                row += p.detach().flatten().tolist()
                for b in BUFFERS[case.optimizer]:
                    row += opt.state[p][b].flatten().tolist()
            rows.append(row)
        return rows
    finally:
        torch.set_default_dtype(previous)


# ---------------------------------------------------------------- transcriptions

def torch_sign(v):
    """torch.sign in 1.13: (0 < v) - (v < 0); 0 for +-0 and NaN."""
    return float((0 < v) - (v < 0))


def plain_rprop(o, x, g, state, t, lr):
    n = len(x)
    prev, step = state if state else ([0.0] * n, [lr] * n)  # step_size = fill_(lr) at t = 1
    if o["maximize"]:
        g = [-v for v in g]
    new_x, new_prev, new_step = [], [], []
    for xi, gi, pi, si in zip(x, g, prev, step):
        s = torch_sign(gi * pi)
        eta = o["etaplus"] if s > 0 else (o["etaminus"] if s < 0 else 1.0)
        si = min(max(si * eta, o["step_size_min"]), o["step_size_max"])
        if s < 0:
            gi = 0.0
        new_x.append(xi - torch_sign(gi) * si)  # addcmul_(sign(g), step, value=-1)
        new_prev.append(gi)
        new_step.append(si)
    return new_x, [new_prev, new_step]


def f32(v):
    return float(np.float32(v))


def plain_asgd(o, x, g, state, t, lr, round_scalars, lag_lr=None):
    """_single_tensor_asgd. PyTorch's eta, mu of update t are those it computed
    at the end of update t - 1 (with that update's lr: lag_lr); descend's
    use update t's lr. round_scalars: PyTorch's float32 eta and mu."""
    rnd = f32 if round_scalars else float
    ax = state[0] if state else [0.0] * len(x)
    if t == 1:
        eta, mu = rnd(lr), rnd(1.0)
    else:
        lr_eta = lr if lag_lr is None else lag_lr
        eta = rnd(lr_eta / math.pow(1 + o["lambd"] * lr_eta * (t - 1), o["alpha"]))
        mu = rnd(1 / max(1, (t - 1) - o["t0"]))
    if o["maximize"]:
        g = [-v for v in g]
    if o["weight_decay"] != 0:
        g = [gi + o["weight_decay"] * xi for gi, xi in zip(g, x)]
    x = [xi * (1 - o["lambd"] * eta) for xi in x]
    x = [xi + (-eta) * gi for xi, gi in zip(x, g)]
    if mu != 1:
        ax = [a + (xi - a) * mu for a, xi in zip(ax, x)]
    else:
        ax = list(x)
    return x, [ax]


def numpy_lion(o, x, g, state, t, lr):
    """google/automl lion/lion_pytorch.py, step(), in numpy float64."""
    p, grad = np.array(x), np.array(g)
    exp_avg = np.array(state[0]) if state else np.zeros_like(p)
    if o["maximize"]:
        grad = -grad
    beta1, beta2 = o["beta1"], o["beta2"]
    p = p * (1 - lr * o["weight_decay"])                  # p.data.mul_(1 - lr * wd)
    update = exp_avg * beta1 + grad * (1 - beta1)         # update = exp_avg*beta1 + grad*(1-beta1)
    p = p + (-lr) * np.sign(update)                       # p.add_(torch.sign(update), alpha=-lr)
    exp_avg = exp_avg * beta2 + grad * (1 - beta2)        # exp_avg.mul_(beta2).add_(grad, 1-beta2)
    return p.tolist(), [exp_avg.tolist()]


def run_plain(case, rule, **kw):
    xs = [X0[s] for s in slices()]
    ks = [list(range(s.start, s.stop)) for s in slices()]
    states = [None] * len(xs)
    rows = []
    for t in range(1, STEPS + 1):
        factor = step_lr(case.schedule, t - 1)
        lrs = [o["lr"] * factor for o in case.options]
        row = list(lrs)
        grads = [[field(k, xi, case.sign) for k, xi in zip(kk, x)] for kk, x in zip(ks, xs)]
        for i, m in enumerate(case.membership):
            o = case.options[m]
            args = {k: v for k, v in kw.items() if k != "lag"}
            if "lag" in kw:
                args["lag_lr"] = o["lr"] * step_lr(case.schedule, max(t - 2, 0))
            if case.optimizer == "rprop":
                # step_size is filled with the lr of the first step, and only then.
                xs[i], states[i] = rule(o, xs[i], grads[i], states[i], t,
                                        o["lr"] * step_lr(case.schedule, 0))
            else:
                xs[i], states[i] = rule(o, xs[i], grads[i], states[i], t, lrs[m], **args)
            row += xs[i]
            for s in states[i]:
                row += s
        rows.append(row)
    return rows


# ---------------------------------------------------------------- Lion, independently in torch

def torch_lion(case):
    """An independent Lion in torch (lerp form): c = lerp(m, g, 1 - beta1),
    w = w * (1 - lr wd) - lr sign(c), m = lerp(m, g, 1 - beta2)."""
    params = [torch.tensor(X0[s], dtype=torch.float64).reshape(shape)
              for s, shape in zip(slices(), SHAPES)]
    c = [torch.tensor(C[s], dtype=torch.float64).reshape(shape) for s, shape in zip(slices(), SHAPES)]
    x_star = [torch.tensor(X_STAR[s], dtype=torch.float64).reshape(shape)
              for s, shape in zip(slices(), SHAPES)]
    ms = [torch.zeros_like(p) for p in params]
    rows = []
    for t in range(1, STEPS + 1):
        factor = step_lr(case.schedule, t - 1)
        row = [o["lr"] * factor for o in case.options]
        for i, (p, ci, xi) in enumerate(zip(params, c, x_star)):
            o = case.options[case.membership[i]]
            lr = o["lr"] * factor
            g = case.sign * (ci * (p - xi) + 0.3 * torch.sin(2.0 * p))
            if o["maximize"]:
                g = -g
            update = torch.lerp(ms[i], g, 1 - o["beta1"]).sign()
            params[i] = p * (1 - lr * o["weight_decay"]) - lr * update
            ms[i] = torch.lerp(ms[i], g, 1 - o["beta2"])
            row += params[i].flatten().tolist() + ms[i].flatten().tolist()
        rows.append(row)
    return rows


# ---------------------------------------------------------------- checks

def worst(a, b, floor=1e-3):
    assert len(a) == len(b)
    return max(abs(x - y) / max(abs(y), floor) for x, y in zip(a, b))


def check_close(what, actual, expected, tol=TOL):
    w = worst(actual, expected)
    if not w <= tol:
        sys.exit(f"{what}: {w} > {tol}")
    return w


def flat(rows):
    return sum(rows, [])


def generate(case, report):
    if case.optimizer == "rprop":
        rows = run_torch(case)
        report.append((case.name, "torch vs transcription",
                       check_close(case.name, flat(run_plain(case, plain_rprop)), flat(rows))))
        if case.schedule:
            plain = Case(case.name, "rprop", case.groups, case.membership, case.sign)
            unscheduled = run_torch(plain)
            # Only the recorded lr differs from the run without a schedule.
            lrs = len(case.groups)
            assert all(a[lrs:] == b[lrs:] for a, b in zip(rows, unscheduled)), case.name
        return rows
    if case.optimizer == "asgd":
        shipped = run_torch(case, torch.float32)          # PyTorch 1.13 as shipped
        deviated = run_torch(case, torch.float64)         # eta, mu in float64
        kw = {"lag": True} if case.schedule else {}
        report.append((case.name, "stock torch vs transcription, eta/mu float32",
                       check_close(case.name + " (float32 eta, mu)",
                                   flat(run_plain(case, plain_asgd, round_scalars=True, **kw)),
                                   flat(shipped))))
        report.append((case.name, "float64-eta torch vs transcription, eta/mu float64",
                       check_close(case.name + " (float64 eta, mu)",
                                   flat(run_plain(case, plain_asgd, round_scalars=False, **kw)),
                                   flat(deviated))))
        report.append((case.name, "float32 vs float64 eta/mu (the deviation's size)",
                       worst(flat(shipped), flat(deviated))))
        if not case.schedule:
            return deviated
        rows = run_plain(case, plain_asgd, round_scalars=False)  # descend: eta from this step's lr
        report.append((case.name, "descend's eta (this step's lr) vs torch's (previous step's)",
                       worst(flat(rows), flat(deviated))))
        return rows
    rows = run_plain(case, numpy_lion)
    report.append((case.name, "numpy (authors' code) vs torch lerp implementation",
                   check_close(case.name, flat(torch_lion(case)), flat(rows))))
    return rows


def number(v):
    return repr(float(v))


def main():
    report = []
    lines = ["// Generated by tests/reference/generate_rprop_asgd_lion.py; do not edit.",
             "// clang-format off"]
    for name, values in [("kProblemX0", X0), ("kProblemC", C), ("kProblemXStar", X_STAR)]:
        lines.append(f"const double {name}[] = {{{', '.join(map(number, values))}}};")
    entries = []
    for i, case in enumerate(CASES):
        rows = generate(case, report)
        assert len(rows) == STEPS
        lines.append(f"const double kSteps{i}[] = {{")
        lines += ["  " + ", ".join(map(number, r)) + "," for r in rows]
        lines.append("};")
        groups = " | ".join(case.groups)
        entries.append(f'  {{"{case.name}", "{case.optimizer}", "{groups}", '
                       f'"{" ".join(map(str, case.membership))}", "{case.schedule}", '
                       f"{number(case.sign)}, kSteps{i}, std::size(kSteps{i})}},")
    lines += ["const RalCase kCases[] = {"] + entries + ["};"]
    print("\n".join(lines))
    for name, what, w in report:
        print(f"{name}: {what}: worst relative difference {w:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
