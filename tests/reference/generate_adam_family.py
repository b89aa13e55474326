#!/usr/bin/env python3
"""Reference data for descend's NAdam, RAdam and Adamax (tests/test_adam_family.cpp).

The problem is generate_toolkit.py's: three parameters of shapes 2x3, 3 and
2x2 (13 coefficients, row-major), gradient sign * (c (x - x*) + 0.3 sin(2x))
per coefficient, 50 steps; each step records every group's lr, then per
parameter its values and every state buffer (descend's buffer_names() order).

Sources, per optimizer:

  * RAdam and Adamax: REAL PyTorch 1.13 (Debian's python3-torch), float64,
    foreach=False, stepped as users step them (gradients into .grad,
    optimizer.step(), scheduler.step() if any). Where descend has an option
    1.13 lacks, the torch run is the later torch code's meaning of it, made
    from 1.13's own ops:
      - maximize (RAdam, PyTorch 2.0): torch 1.13's RAdam is given the
        negated gradient, which is what 2.x's `grad = -grad` first does;
      - decoupled_weight_decay (RAdam, PyTorch 2.1): param.mul_(1 - lr * wd)
        before optimizer.step() on a group whose weight_decay is 0, which is
        what 2.1's `param.mul_(1 - lr * weight_decay)` first does.
    An independent plain-Python implementation (floats, no torch) of each
    rule reproduces every one of these runs to 1e-12 relative (absolute below
    1e-3), checked here.
  * NAdam: the plain-Python implementation of the CORRECTED rule that descend
    follows (PyTorch >= 2.0: mu_product_next = mu_product * mu_next, where
    1.13 has mu_product * mu * mu_next; the running product in the
    parameter's precision, float64 here, where torch keeps a float32 tensor
    unless the default dtype is float64; maximize and decoupled weight decay
    as PyTorch 2.x), and, under a schedule that changes beta1, the product of
    the current beta1's factors recomputed from t = 1 (descend's documented
    semantics). Two cross-checks, here:
      - the same plain implementation switched to 1.13's formula reproduces
        torch 1.13's NAdam (to 1e-12; with the default dtype float32, so
        that torch's mu_product is a float32 tensor, with the product rounded
        to float32 at each step; and with float64), on every NAdam case 1.13
        can run (maximize by negated gradients, no decoupled weight decay);
      - PyTorch 2.x's _single_tensor_nadam (non-differentiable path),
        transcribed below from the 2.x source and run on torch 1.13 tensors
        with a float64 mu_product, reproduces the corrected plain
        implementation to 1e-12 on every NAdam case without a schedule.

Run from the repository root with the system Python that has torch 1.13:
    /usr/bin/python3 tests/reference/generate_adam_family.py > tests/reference/adam_family.inc
CI has no torch: the output is committed.
"""

import math
import os
import sys

import numpy as np
import torch
from torch.optim import lr_scheduler as S

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_toolkit as tk  # noqa: E402  (the problem, the option parser; sets float64)

assert torch.__version__.startswith("1.13"), torch.__version__

STEPS = 50
FLAGS = {"maximize", "decoupled"}


class Case:
    def __init__(self, name, optimizer, groups, membership=(0, 0, 0), sign=1.0, schedule=""):
        self.name, self.optimizer, self.groups = name, optimizer, groups
        self.membership, self.sign, self.schedule = membership, sign, schedule
        self.options = [tk.parse(g) for g in groups]


def buffers(name):
    return {"nadam": ["exp_avg", "exp_avg_sq"], "radam": ["exp_avg", "exp_avg_sq"],
            "adamax": ["exp_avg", "exp_inf"]}[name]


DEFAULT_LR = {"nadam": 2e-3, "radam": 1e-3, "adamax": 2e-3}

CASES = []
for opt in ["nadam", "radam", "adamax"]:
    CASES += [
        Case(f"{opt}: defaults", opt, [f"lr={DEFAULT_LR[opt]}"]),
        Case(f"{opt}: lr 0.05", opt, ["lr=0.05"]),
        Case(f"{opt}: weight_decay", opt, ["lr=0.05 weight_decay=0.1"]),
        Case(f"{opt}: maximize", opt, ["lr=0.05 weight_decay=0.05 maximize=1"], sign=-1.0),
        Case(f"{opt}: betas, eps", opt, ["lr=0.03 beta1=0.8 beta2=0.95 eps=1e-06"]),
        Case(f"{opt}: two groups", opt,
             ["lr=0.05", "lr=0.02 beta1=0.85 beta2=0.99 eps=1e-07 weight_decay=0.1"
              + (" momentum_decay=0.01" if opt == "nadam" else "")],
             membership=(0, 1, 1)),
    ]
    if opt != "adamax":
        CASES += [
            Case(f"{opt}: decoupled weight decay", opt, ["lr=0.05 weight_decay=0.2 decoupled=1"]),
            Case(f"{opt}: decoupled weight decay, maximize, two groups", opt,
                 ["lr=0.05 weight_decay=0.2 decoupled=1 maximize=1",
                  "lr=0.02 weight_decay=0.1 maximize=1"], membership=(0, 1, 1), sign=-1.0),
        ]
CASES += [
    Case("nadam: momentum_decay 0.04", "nadam", ["lr=0.05 momentum_decay=0.04"]),
    Case("nadam: momentum_decay 0", "nadam", ["lr=0.05 momentum_decay=0"]),
    # rho_inf = 19, rho_t = 1, 1.95, 2.86, 3.74, 4.58, 5.39, ...: rectified from t = 6.
    Case("radam: beta2 0.9 (rectified from t = 6)", "radam", ["lr=0.05 beta2=0.9"]),
    # rho_inf = 2 / (1 - 0.6) - 1 = 4 in double: rho_t < 4, never rectified.
    Case("radam: beta2 0.6 (never rectified)", "radam", ["lr=0.05 beta2=0.6"]),
    Case("radam: StepLR", "radam", ["lr=0.05 beta2=0.95"], schedule="step step_size=10 gamma=0.5"),
    Case("nadam: StepLR, two groups", "nadam", ["lr=0.05", "lr=0.02 beta1=0.8"],
         membership=(0, 1, 1), schedule="step step_size=10 gamma=0.5"),
    Case("adamax: OneCycleLR cycling beta1", "adamax", ["lr=0.01"],
         schedule="onecycle max_lr=0.1 total_steps=50"),
    Case("radam: OneCycleLR cycling beta1", "radam", ["lr=0.01 beta2=0.95"],
         schedule="onecycle max_lr=0.1 total_steps=50"),
    Case("nadam: OneCycleLR cycling beta1", "nadam", ["lr=0.01"],
         schedule="onecycle max_lr=0.1 total_steps=50"),
]


def close(a, b, floor=1e-3):
    return abs(a - b) <= tk.TOL * max(abs(b), floor)


def check_close(what, actual, expected):
    if len(actual) != len(expected):
        sys.exit(f"{what}: {len(actual)} values != {len(expected)}")
    for i, (a, b) in enumerate(zip(actual, expected)):
        if not close(a, b):
            sys.exit(f"{what}: value {i}: {a!r} != {b!r}")


# ---------------------------------------------------------------- torch runs

def torch_group(name, o):
    g = {"lr": o["lr"]}
    if "beta1" in o or "beta2" in o:
        g["betas"] = (o.get("beta1", 0.9), o.get("beta2", 0.999))
    for key in ["eps", "momentum_decay"]:
        if key in o:
            g[key] = o[key]
    # Decoupled weight decay is applied by hand (run_torch); 1.13 has no option.
    g["weight_decay"] = 0.0 if o.get("decoupled", 0) else o.get("weight_decay", 0.0)
    if name == "adamax":
        g["maximize"] = bool(o.get("maximize", 0))
    return g


def schedule_for(opt, text):
    if not text:
        return None
    kind, _, rest = text.partition(" ")
    o = tk.parse(rest)
    if kind == "step":
        return S.StepLR(opt, step_size=int(o["step_size"]), gamma=o["gamma"])
    assert kind == "onecycle", kind
    return S.OneCycleLR(opt, max_lr=o["max_lr"], total_steps=int(o["total_steps"]))


def make_params():
    return [torch.tensor(tk.X0[s], dtype=torch.float64).reshape(shape).requires_grad_()
            for s, shape in zip(tk.slices(), tk.SHAPES)]


def set_grads(case, params, negate_for_maximize):
    """The case's gradients; for a 1.13 rule without maximize, the negation
    maximize would apply first."""
    with torch.no_grad():
        for p, m, s in zip(params, case.membership, tk.slices()):
            sign = case.sign
            if negate_for_maximize and case.options[m].get("maximize", 0):
                sign = -sign
            p.grad = torch.tensor([tk.field(k, x, sign) for k, x in
                                   zip(range(s.start, s.stop), p.detach().flatten().tolist())],
                                  dtype=torch.float64).reshape(p.shape)


TORCH = {"nadam": torch.optim.NAdam, "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax}


def run_torch(case, rule=None):
    """Rows of: each group's lr, then per parameter its values and buffers.
    `rule` replaces opt.step() (the transcribed 2.x NAdam)."""
    params = make_params()
    groups = [{"params": [p for p, m in zip(params, case.membership) if m == g],
               "foreach": False, **torch_group(case.optimizer, o)}
              for g, o in enumerate(case.options)]
    opt = TORCH[case.optimizer](groups)
    schedule = schedule_for(opt, case.schedule)
    state = {}
    rows = []
    for _ in range(STEPS):
        set_grads(case, params, case.optimizer != "adamax")
        row = [g["lr"] for g in opt.param_groups]
        with torch.no_grad():
            for g, o in zip(opt.param_groups, case.options):
                if o.get("decoupled", 0) and rule is None:
                    for p in g["params"]:
                        p.mul_(1 - g["lr"] * o["weight_decay"])
        if rule:
            rule(opt, case, state)
        else:
            opt.step()
        if schedule:
            schedule.step()
        for p in params:
            row += p.detach().flatten().tolist()
            st = state[p] if rule else opt.state[p]
            for b in buffers(case.optimizer):
                row += st[b].flatten().tolist()
        rows.append(row)
    return rows


def nadam_2x(opt, case, state):
    """PyTorch 2.x's _single_tensor_nadam, non-differentiable path, transcribed
    (maximize and decoupled_weight_decay as 2.x), on torch tensors; mu_product
    a float64 tensor."""
    with torch.no_grad():
        for g, o in zip(opt.param_groups, case.options):
            beta1, beta2 = g["betas"]
            lr, eps, momentum_decay = g["lr"], g["eps"], g["momentum_decay"]
            weight_decay = o.get("weight_decay", 0.0)
            decoupled = bool(o.get("decoupled", 0))
            for param in g["params"]:
                grad = param.grad
                if o.get("maximize", 0):
                    raw = -grad  # the user's gradient (run_torch negated it for 1.13's rules)
                    grad = -raw  # 2.x: grad = -grad under maximize
                st = state.setdefault(param, {})
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["mu_product"] = torch.tensor(1.0, dtype=torch.float64)
                    st["exp_avg"] = torch.zeros_like(param)
                    st["exp_avg_sq"] = torch.zeros_like(param)
                exp_avg, exp_avg_sq, mu_product = st["exp_avg"], st["exp_avg_sq"], st["mu_product"]
                st["step"] += 1
                step = st["step"].item()
                bias_correction2 = 1 - beta2 ** step
                if weight_decay != 0:
                    if decoupled:
                        param.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(param, alpha=weight_decay)
                mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product *= mu
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.div(bias_correction2).sqrt()
                mu_product_next = mu_product.item() * mu_next
                denom.add_(eps)
                param.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - mu_product.item())))
                param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1. - mu_product_next))


# ---------------------------------------------------------------- plain Python

def plain_nadam(o, x, g, st, t, lr, beta1, mode):
    """mode "corrected": descend's rule (the product in float64, of the
    current beta1's factors from t = 1); "1.13/f32", "1.13/f64": torch 1.13's
    formula with its running product kept as a float32 / float64 tensor."""
    b2, eps = o.get("beta2", 0.999), o.get("eps", 1e-8)
    wd, psi = o.get("weight_decay", 0.0), o.get("momentum_decay", 4e-3)
    n = len(x)
    if not st:
        st.update(m=[0.0] * n, v=[0.0] * n, P=np.float32(1.0) if mode == "1.13/f32" else 1.0)
    if o.get("maximize", 0):
        g = [-gi for gi in g]
    if o.get("decoupled", 0):
        x = [xi * (1 - lr * wd) for xi in x]
    elif wd != 0:
        g = [gi + wd * xi for gi, xi in zip(g, x)]

    def mu_at(i):
        return beta1 * (1. - 0.5 * (0.96 ** (float(i) * psi)))

    mu, mu_next = mu_at(t), mu_at(t + 1)
    if mode == "corrected":
        P = 1.0
        for i in range(1, t + 1):
            P = P * mu_at(i)
        P_next = P * mu_next
    elif mode == "1.13/f32":
        st["P"] = np.float32(st["P"] * np.float32(mu))
        P = float(st["P"])
        P_next = float(np.float32(np.float32(st["P"] * np.float32(mu)) * np.float32(mu_next)))
    else:
        st["P"] = st["P"] * mu
        P = st["P"]
        P_next = P * mu * mu_next
    m = [mi * beta1 + (1 - beta1) * gi for mi, gi in zip(st["m"], g)]
    v = [vi * b2 + (1 - b2) * gi * gi for vi, gi in zip(st["v"], g)]
    st["m"], st["v"] = m, v
    bc2 = 1 - b2 ** t
    d = [math.sqrt(vi / bc2) + eps for vi in v]
    c_g = -lr * (1. - mu) / (1. - P)
    c_m = (-lr * mu_next) / (1. - P_next)
    x = [xi + c_g * gi / di for xi, gi, di in zip(x, g, d)]
    x = [xi + c_m * mi / di for xi, mi, di in zip(x, m, d)]
    return x, [m, v]


def plain_radam(o, x, g, st, t, lr, beta1, mode):
    b2, eps, wd = o.get("beta2", 0.999), o.get("eps", 1e-8), o.get("weight_decay", 0.0)
    n = len(x)
    if not st:
        st.update(m=[0.0] * n, v=[0.0] * n)
    if o.get("maximize", 0):
        g = [-gi for gi in g]
    if o.get("decoupled", 0):
        x = [xi * (1 - lr * wd) for xi in x]
    elif wd != 0:
        g = [gi + wd * xi for gi, xi in zip(g, x)]
    m = [mi * beta1 + (1 - beta1) * gi for mi, gi in zip(st["m"], g)]
    v = [vi * b2 + (1 - b2) * gi * gi for vi, gi in zip(st["v"], g)]
    st["m"], st["v"] = m, v
    bc1, bc2 = 1 - beta1 ** t, 1 - b2 ** t
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / bc2
    if rho_t > 5:
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        x = [xi - mi / bc1 * lr * (math.sqrt(bc2) / (math.sqrt(vi) + eps)) * r
             for xi, mi, vi in zip(x, m, v)]
    else:
        x = [xi - mi / bc1 * lr for xi, mi in zip(x, m)]
    return x, [m, v]


def plain_adamax(o, x, g, st, t, lr, beta1, mode):
    b2, eps, wd = o.get("beta2", 0.999), o.get("eps", 1e-8), o.get("weight_decay", 0.0)
    n = len(x)
    if not st:
        st.update(m=[0.0] * n, u=[0.0] * n)
    if o.get("maximize", 0):
        g = [-gi for gi in g]
    if wd != 0:
        g = [gi + wd * xi for gi, xi in zip(g, x)]
    m = [mi * beta1 + (1 - beta1) * gi for mi, gi in zip(st["m"], g)]
    u = [max(ui * b2, abs(gi) + eps) for ui, gi in zip(st["u"], g)]
    st["m"], st["u"] = m, u
    clr = lr / (1 - beta1 ** t)
    x = [xi - clr * mi / ui for xi, mi, ui in zip(x, m, u)]
    return x, [m, u]


PLAIN = {"nadam": plain_nadam, "radam": plain_radam, "adamax": plain_adamax}


def schedule_values(case):
    """Each step's (lr, beta1) per group, from torch's own scheduler on a
    torch optimizer that is never stepped with gradients (its rates are what
    the schedule sets)."""
    p = [torch.zeros(1, requires_grad=True) for _ in case.options]
    opt = torch.optim.Adam([{"params": [q], "lr": o["lr"], "betas": (o.get("beta1", 0.9),
                                                                        o.get("beta2", 0.999))}
                            for q, o in zip(p, case.options)])
    schedule = schedule_for(opt, case.schedule)
    out = []
    for _ in range(STEPS):
        out.append([(g["lr"], g["betas"][0]) for g in opt.param_groups])
        opt.step()
        if schedule:
            schedule.step()
    return out


def run_plain(case, mode="corrected"):
    xs = [tk.X0[s] for s in tk.slices()]
    ks = [list(range(s.start, s.stop)) for s in tk.slices()]
    states = [{} for _ in xs]
    values = schedule_values(case)
    rows = []
    for t in range(1, STEPS + 1):
        grads = [[tk.field(k, xi, case.sign) for k, xi in zip(kk, x)] for kk, x in zip(ks, xs)]
        row = [lr for lr, _ in values[t - 1]]
        for i, m in enumerate(case.membership):
            lr, beta1 = values[t - 1][m]
            xs[i], bufs = PLAIN[case.optimizer](case.options[m], xs[i], grads[i], states[i], t,
                                                lr, beta1, mode)
            row += xs[i]
            for b in bufs:
                row += b
        rows.append(row)
    return rows


# ---------------------------------------------------------------- output

def main():
    lines = ["// Generated by tests/reference/generate_adam_family.py; do not edit.",
             "// clang-format off",
             f'const char* const kShapes = "{tk.shape_text(tk.SHAPES)}";']
    for name, values in [("kX0", tk.X0), ("kC", tk.C), ("kXStar", tk.X_STAR)]:
        lines.append(f"const double {name}[] = {{{', '.join(map(tk.number, values))}}};")
    entries = []
    rectified_sides = set()
    for i, case in enumerate(CASES):
        plain = run_plain(case)
        if case.optimizer == "nadam":
            rows = plain
            if not any(o.get("decoupled", 0) for o in case.options) and "onecycle" not in case.schedule:
                for dtype, mode in [(torch.float32, "1.13/f32"), (torch.float64, "1.13/f64")]:
                    torch.set_default_dtype(dtype)  # the dtype of 1.13's mu_product tensor
                    try:
                        got = run_torch(case)
                    finally:
                        torch.set_default_dtype(torch.float64)
                    check_close(f"{case.name}: plain 1.13 formula ({mode}) vs torch 1.13",
                                sum(run_plain(case, mode), []), sum(got, []))
            if not case.schedule:
                check_close(f"{case.name}: plain corrected vs transcribed torch 2.x",
                            sum(plain, []), sum(run_torch(case, nadam_2x), []))
        else:
            rows = run_torch(case)
            check_close(f"{case.name}: plain vs torch", sum(plain, []), sum(rows, []))
        if case.optimizer == "radam":
            b2 = case.options[0].get("beta2", 0.999)
            rho_inf = 2 / (1 - b2) - 1
            for t in range(1, STEPS + 1):
                rectified_sides.add(rho_inf - 2 * t * b2 ** t / (1 - b2 ** t) > 5)
        lines.append(f"const double kSteps{i}[] = {{")
        lines += ["  " + ", ".join(map(tk.number, r)) + "," for r in rows]
        lines.append("};")
        bufs = " | ".join(" ".join(buffers(case.optimizer)) for _ in case.options)
        entries.append(f'  {{"{case.name}", "{case.optimizer}", "{" | ".join(case.groups)}", '
                       f'"{bufs}", "{" ".join(map(str, case.membership))}", "{case.schedule}", '
                       f"{tk.number(case.sign)}, {STEPS}, kSteps{i}, std::size(kSteps{i})}},")
    assert rectified_sides == {False, True}, "RAdam cases must cover both sides of rho_t > 5"
    lines += ["const FamilyCase kFamilyCases[] = {"] + entries + ["};"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
