#!/usr/bin/env python3
"""Reference trajectories for descend's optimizer tests.

An implementation of the published update equations, written element by
element in plain Python (IEEE double, no numpy, nothing from descend):

  * PyTorch 2.x documentation, the "Algorithm" block of each optimizer page:
    https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
    https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html
    https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html
    https://pytorch.org/docs/stable/generated/torch.optim.Adadelta.html
    https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
    https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
    For AMSGrad the running maximum is taken of the raw second moment and then
    bias-corrected, as torch/optim/adam.py does (`torch.maximum(max_exp_avg_sq,
    exp_avg_sq)`, then `/ bias_correction2_sqrt`).
  * The design documents in shared/seeds/: inverse-time decay
    lr / (1 + decay * t) (seed 000, t counting earlier updates), eps inside the
    square root (Paddle NNDL book, seed 003), the learning rate inside the
    momentum buffer (cute-dl seed 002, NNDL book), Adadelta with eps outside
    both square roots (cute-dl).

Each case runs 50 updates of a 6-element parameter on the gradient field
    g(x) = c * (x - x_star) + 0.3 * sin(2 x)
and records the parameter after every update. Run from the repository root:
    python3 tests/reference/generate.py > tests/reference/trajectories.inc
"""

import math

STEPS = 50
X0 = [1.5, -0.8, 0.3, -2.0, 0.05, 1.1]
C = [1.0, 3.0, 0.5, 2.0, 10.0, 0.1]
X_STAR = [0.5, 0.2, -0.4, 0.1, -0.3, 0.7]


def gradient(x):
    return [C[i] * (x[i] - X_STAR[i]) + 0.3 * math.sin(2.0 * x[i]) for i in range(len(x))]


def decayed(o, t):
    return o.get("lr") / (1.0 + o.get("decay", 0.0) * (t - 1))


def sgd(o):
    lr_inside = o.get("style") == "inside"
    mu, damp, wd = o.get("momentum", 0.0), o.get("dampening", 0.0), o.get("weight_decay", 0.0)
    nesterov = o.get("nesterov", 0) == 1
    b = None

    def step(x, g, t, lr):
        nonlocal b
        g = [g[i] + wd * x[i] for i in range(len(x))] if wd != 0 else g
        if lr_inside:
            g = [lr * gi for gi in g]
        if mu != 0:
            if t == 1:
                b = list(g)
            else:
                b = [mu * b[i] + (1 - damp) * g[i] for i in range(len(x))]
            d = [g[i] + mu * b[i] for i in range(len(x))] if nesterov else b
        else:
            d = g
        scale = 1.0 if lr_inside else lr
        return [x[i] - scale * d[i] for i in range(len(x))]

    return step


def adagrad(o):
    lr_decay, wd, eps = o.get("lr_decay", 0.0), o.get("weight_decay", 0.0), o.get("eps", 1e-10)
    inside = o.get("eps_at") == "inside"
    s = [o.get("initial_accumulator_value", 0.0)] * len(X0)

    def step(x, g, t, lr):
        clr = lr / (1 + (t - 1) * lr_decay)
        g = [g[i] + wd * x[i] for i in range(len(x))]
        for i in range(len(x)):
            s[i] = s[i] + g[i] * g[i]
        den = [math.sqrt(s[i] + eps) if inside else math.sqrt(s[i]) + eps for i in range(len(x))]
        return [x[i] - clr * g[i] / den[i] for i in range(len(x))]

    return step


def rmsprop(o):
    alpha, eps, wd = o.get("alpha", 0.99), o.get("eps", 1e-8), o.get("weight_decay", 0.0)
    mu, centered = o.get("momentum", 0.0), o.get("centered", 0) == 1
    inside, lr_inside = o.get("eps_at") == "inside", o.get("style") == "inside"
    n = len(X0)
    v, a, b = [0.0] * n, [0.0] * n, [0.0] * n

    def step(x, g, t, lr):
        g = [g[i] + wd * x[i] for i in range(n)]
        out = []
        for i in range(n):
            v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i]
            vt = v[i]
            if centered:
                a[i] = alpha * a[i] + (1 - alpha) * g[i]
                vt = vt - a[i] * a[i]
            den = math.sqrt(vt + eps) if inside else math.sqrt(vt) + eps
            if mu > 0:
                if lr_inside:
                    b[i] = mu * b[i] + lr * g[i] / den
                    out.append(x[i] - b[i])
                else:
                    b[i] = mu * b[i] + g[i] / den
                    out.append(x[i] - lr * b[i])
            else:
                out.append(x[i] - lr * g[i] / den)
        return out

    return step


def adadelta(o):
    rho, eps, wd = o.get("rho", 0.9), o.get("eps", 1e-6), o.get("weight_decay", 0.0)
    outside = o.get("eps_at") == "outside"
    n = len(X0)
    v, u = [0.0] * n, [0.0] * n

    def step(x, g, t, lr):
        out = []
        for i in range(n):
            gi = g[i] + wd * x[i]
            v[i] = rho * v[i] + (1 - rho) * gi * gi
            if outside:
                d = (math.sqrt(u[i]) + eps) / (math.sqrt(v[i]) + eps) * gi
            else:
                d = math.sqrt(u[i] + eps) / math.sqrt(v[i] + eps) * gi
            u[i] = rho * u[i] + (1 - rho) * d * d
            out.append(x[i] - lr * d)
        return out

    return step


def adam(o, decoupled_default=False):
    b1, b2, eps = o.get("beta1", 0.9), o.get("beta2", 0.999), o.get("eps", 1e-8)
    wd = o.get("weight_decay", 1e-2 if decoupled_default else 0.0)
    decoupled = decoupled_default or o.get("decoupled", 0) == 1
    amsgrad, inside = o.get("amsgrad", 0) == 1, o.get("eps_at") == "inside"
    n = len(X0)
    m, v, vmax = [0.0] * n, [0.0] * n, [0.0] * n

    def step(x, g, t, lr):
        x = list(x)
        out = []
        for i in range(n):
            gi = g[i]
            if decoupled:
                x[i] = x[i] - lr * wd * x[i]
            elif wd != 0:
                gi = gi + wd * x[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            m_hat = m[i] / (1 - b1 ** t)
            if amsgrad:
                vmax[i] = max(vmax[i], v[i])
                v_hat = vmax[i] / (1 - b2 ** t)
            else:
                v_hat = v[i] / (1 - b2 ** t)
            den = math.sqrt(v_hat + eps) if inside else math.sqrt(v_hat) + eps
            out.append(x[i] - lr * m_hat / den)
        return out

    return step


MAKERS = {
    "sgd": sgd,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adadelta": adadelta,
    "adam": adam,
    "adamw": lambda o: adam(o, decoupled_default=True),
}

# (optimizer, options). "lr_at_25" sets the base learning rate before update 26
# (descend's set_lr), which is where the two momentum conventions part.
CASES = [
    ("sgd", "lr=0.05"),
    ("sgd", "lr=0.05 weight_decay=0.1"),
    ("sgd", "lr=0.05 decay=0.1"),
    ("sgd", "lr=0.02 momentum=0.9"),
    ("sgd", "lr=0.02 momentum=0.9 dampening=0.3"),
    ("sgd", "lr=0.02 momentum=0.9 nesterov=1"),
    ("sgd", "lr=0.02 momentum=0.8 nesterov=1 weight_decay=0.05 decay=0.02"),
    ("sgd", "lr=0.02 momentum=0.9 style=inside"),
    ("sgd", "lr=0.02 momentum=0.9 style=inside decay=0.05"),
    ("sgd", "lr=0.02 momentum=0.9 decay=0.05"),
    ("sgd", "lr=0.02 momentum=0.9 lr_at_25=0.005"),
    ("sgd", "lr=0.02 momentum=0.9 style=inside lr_at_25=0.005"),
    ("sgd", "lr=0.02 momentum=0.7 nesterov=1 style=inside decay=0.05"),
    ("sgd", "lr=0.02 momentum=0.9 dampening=0.5 style=inside weight_decay=0.1"),
    ("adagrad", "lr=0.1"),
    ("adagrad", "lr=0.1 lr_decay=0.05"),
    ("adagrad", "lr=0.1 decay=0.05"),
    ("adagrad", "lr=0.1 initial_accumulator_value=0.5 weight_decay=0.1"),
    ("adagrad", "lr=0.1 eps=1e-7 eps_at=inside"),
    ("adagrad", "lr=0.1 eps=1e-3 lr_decay=0.01 decay=0.02"),
    ("rmsprop", "lr=0.01"),
    ("rmsprop", "lr=0.01 alpha=0.9 weight_decay=0.1"),
    ("rmsprop", "lr=0.01 momentum=0.9"),
    ("rmsprop", "lr=0.01 centered=1"),
    ("rmsprop", "lr=0.01 centered=1 momentum=0.5 eps=1e-4"),
    ("rmsprop", "lr=0.01 alpha=0.9 eps=1e-7 eps_at=inside"),
    ("rmsprop", "lr=0.01 decay=0.05"),
    ("rmsprop", "lr=0.01 momentum=0.9 style=inside decay=0.05"),
    ("rmsprop", "lr=0.01 centered=1 eps=1e-6 eps_at=inside momentum=0.3 style=inside"),
    ("adadelta", "lr=1.0"),
    ("adadelta", "lr=0.5 rho=0.95 weight_decay=0.1"),
    ("adadelta", "lr=1.0 eps=1e-6 eps_at=outside"),
    ("adadelta", "lr=1.0 decay=0.05"),
    ("adam", "lr=0.05"),
    ("adam", "lr=0.05 amsgrad=1"),
    ("adam", "lr=0.05 weight_decay=0.1"),
    ("adam", "lr=0.05 weight_decay=0.1 decoupled=1"),
    ("adam", "lr=0.05 beta1=0.8 beta2=0.99 eps=1e-7 eps_at=inside"),
    ("adam", "lr=0.05 decay=0.05"),
    ("adam", "lr=0.05 amsgrad=1 eps_at=inside eps=1e-4 beta2=0.9"),
    ("adam", "lr=0.05 lr_at_25=0.01"),
    ("adamw", "lr=0.05"),
    ("adamw", "lr=0.05 weight_decay=0.2 amsgrad=1"),
]


def parse(text):
    options = {}
    for item in text.split():
        key, value = item.split("=")
        try:
            options[key] = float(value)
        except ValueError:
            options[key] = value
    return options


def run(name, text):
    o = parse(text)
    step = MAKERS[name](o)
    x, rows = list(X0), []
    for t in range(1, STEPS + 1):
        if "lr_at_25" in o and t == 26:
            o["lr"] = o["lr_at_25"]
        x = step(x, gradient(x), t, decayed(o, t))
        rows.append(x)
    return rows


def main():
    print("// Generated by tests/reference/generate.py; do not edit.")
    print(f"// {len(CASES)} cases x {STEPS} steps x {len(X0)} coefficients.")
    print("// clang-format off")
    for name, text in CASES:
        rows = run(name, text)
        print(f'{{"{name}", "{text}", {{')
        for r in rows:
            print("  {" + ", ".join(repr(v) for v in r) + "},")
        print("}},")


if __name__ == "__main__":
    main()
