#!/usr/bin/env python3
"""Reference trajectories of torch.optim.LBFGS for descend's L-BFGS
(tests/test_lbfgs.cpp, include/descend/optim/lbfgs.hpp).

REAL PyTorch 1.13 (Debian's python3-torch), float64, torch.optim.LBFGS with
line_search_fn None and 'strong_wolfe', on three problems:

  rosenbrock  f = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), one parameter
              of 2 coefficients;
  expfit      0.5 sum_i (a exp(-b t_i) + c - y_i)^2 on 20 fixed points
              (t_i = 0.25 i, y_i = 2.5 exp(-1.3 t_i) + 0.4 + 0.02 sin(3.7 i)),
              from (a, b, c) = (1, 0.5, 0); parameters [a, b] and [c];
  linear      0.5 sum_k |W x_k + v - y_k|^2, W 2x3 and v of 2, on 8 fixed
              points; W is held as its transpose (3, 2), whose row-major
              order is the column-major order of an Eigen 2x3 Matrix.

The closure computes the loss and writes p.grad itself, with plain Python
floats in a fixed order (math.exp), which the C++ test repeats operation by
operation: both sides evaluate the same function bit for bit, and any
difference comes from the optimizer. Every closure evaluation is recorded
(the parameters it sees, the loss it returns), and after each step() the
returned loss, state['n_iter'], state['func_evals'] and the parameters.

With the argument "schedule" it writes instead the runs driven by a
learning-rate schedule, as PyTorch allows with LBFGS: StepLR(step_size=2,
gamma=0.5) built after the optimizer, scheduler.step() after each
opt.step(closure), on Rosenbrock with and without strong_wolfe; each step's
row also holds the lr that step used (group['lr'] before opt.step()).

Run from the repository root with the system Python that has torch 1.13:
    /usr/bin/python3 tests/reference/generate_lbfgs.py > tests/reference/lbfgs.inc
    /usr/bin/python3 tests/reference/generate_lbfgs.py schedule \
        > tests/reference/lbfgs_schedule.inc
CI has no torch: the output is committed.
"""

import math
import sys

import torch

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_default_dtype(torch.float64)

T_EXP = [0.25 * i for i in range(20)]
Y_EXP = [2.5 * math.exp(-1.3 * t) + 0.4 + 0.02 * math.sin(3.7 * i) for i, t in enumerate(T_EXP)]
X_LIN = [[math.sin(1.1 * k + j) for j in range(3)] for k in range(8)]
Y_LIN = [[math.cos(0.7 * k + 2 * o) + 0.5 * o for o in range(2)] for k in range(8)]


def rosenbrock(v):
    x, y = v[0]
    a = 1.0 - x
    b = y - x * x
    f = a * a + 100.0 * (b * b)
    return f, [[-2.0 * a - 400.0 * (x * b), 200.0 * b]]


def expfit(v):
    (a, b), (c,) = v
    f = ga = gb = gc = 0.0
    for t, y in zip(T_EXP, Y_EXP):
        e = math.exp(-b * t)
        r = a * e + c - y
        f += r * r
        ga += r * e
        gb -= r * (a * t * e)
        gc += r
    return 0.5 * f, [[ga, gb], [gc]]


def linear(v):
    wt, bias = v  # wt: W transposed, 3 x 2 row-major, i.e. W column-major
    W = [[wt[2 * j + o] for j in range(3)] for o in range(2)]
    f = 0.0
    gW = [[0.0] * 3 for _ in range(2)]
    gb = [0.0, 0.0]
    for x, y in zip(X_LIN, Y_LIN):
        for o in range(2):
            acc = bias[o]
            for j in range(3):
                acc += W[o][j] * x[j]
            r = acc - y[o]
            f += r * r
            for j in range(3):
                gW[o][j] += r * x[j]
            gb[o] += r
    return 0.5 * f, [[gW[o][j] for j in range(3) for o in range(2)], gb]


PROBLEMS = {
    "rosenbrock": (rosenbrock, [[-1.5, 2.0]]),
    "expfit": (expfit, [[1.0, 0.5], [0.0]]),
    "linear": (linear, [[0.1, -0.2, 0.3, 0.0, -0.1, 0.2], [0.05, -0.05]]),
}

# name, problem, steps, options (torch's names; max_eval None: its default)
CASES = [
    ("rosen_default", "rosenbrock", 3, dict()),
    ("rosen_wrap", "rosenbrock", 12, dict(history_size=3, max_iter=5)),
    ("rosen_lr", "rosenbrock", 6, dict(lr=0.25, history_size=2, max_iter=7, max_eval=9)),
    ("exp_default", "expfit", 3, dict()),
    ("exp_wrap", "expfit", 10, dict(history_size=3, max_iter=4)),
    ("exp_tol", "expfit", 8,
     dict(history_size=5, max_iter=6, tolerance_grad=1e-5, tolerance_change=1e-6)),
    ("linear_default", "linear", 3, dict()),
    ("linear_one", "linear", 12, dict(history_size=1, max_iter=3, lr=0.8)),
]


# name, problem, steps, options, StepLR's (step_size, gamma)
SCHEDULED_CASES = [
    ("rosen_steplr", "rosenbrock", 10, dict(history_size=3, max_iter=4), (2, 0.5)),
    ("rosen_steplr_long", "rosenbrock", 6, dict(history_size=5, max_iter=12), (2, 0.5)),
]


def run(problem, steps, options, line_search, step_lr=None):
    func, x0 = PROBLEMS[problem]
    params = [torch.tensor(p) for p in x0]
    opt = torch.optim.LBFGS(params, line_search_fn=line_search, **options)
    scheduler = None
    if step_lr is not None:
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=step_lr[0], gamma=step_lr[1])
    evals, after = [], []
    step = [0]

    def closure():
        values = [p.detach().tolist() for p in params]
        f, grads = func(values)
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        evals.append([step[0], f] + [x for v in values for x in v])
        return f

    for s in range(steps):
        step[0] = s
        lr = opt.param_groups[0]["lr"]
        loss = opt.step(closure)
        if scheduler is not None:
            scheduler.step()
        state = opt.state[params[0]]
        x = [v for p in params for v in p.detach().tolist()]
        after.append([loss, state["n_iter"], state["func_evals"]] + x
                     + ([lr] if scheduler is not None else []))
        assert all(math.isfinite(v) for v in x), (problem, options, line_search)
    return evals, after, opt.param_groups[0]["max_eval"]


def numbers(rows):
    return ", ".join("%.17g" % v for row in rows for v in row)


def case_row(tag, problem, options, line_search, steps, evals, max_eval):
    o = dict(lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
             tolerance_change=1e-9, history_size=100)
    o.update(options)
    return ('{"%s", "%s", %r, %d, %d, %d, %r, %r, %d, %s, %d, %d, kEvals_%s, kAfter_%s}'
            % (tag, problem, float(o["lr"]), o["max_iter"],
               -1 if o["max_eval"] is None else o["max_eval"], max_eval,
               float(o["tolerance_grad"]), float(o["tolerance_change"]),
               o["history_size"], "true" if line_search else "false", steps,
               len(evals), tag, tag))


def main_schedule():
    out = sys.stdout
    out.write("// Generated by tests/reference/generate_lbfgs.py schedule with torch %s; "
              "do not edit.\n" % torch.__version__)
    out.write("// Needs lbfgs.inc (LbfgsCase) first. After-step rows end with the lr the step "
              "used.\n")
    out.write("// clang-format off\n")
    table = []
    for name, problem, steps, options, step_lr in SCHEDULED_CASES:
        for line_search in (None, "strong_wolfe"):
            evals, after, max_eval = run(problem, steps, options, line_search, step_lr)
            plain_evals, _, _ = run(problem, steps, options, line_search)
            assert plain_evals != evals, "the schedule must change the run"
            tag = "%s_%s" % (name, "wolfe" if line_search else "none")
            out.write("const double kEvals_%s[] = {%s};\n" % (tag, numbers(evals)))
            out.write("const double kAfter_%s[] = {%s};\n" % (tag, numbers(after)))
            table.append("  {%s, %d, %r},\n"
                         % (case_row(tag, problem, options, line_search, steps, evals,
                                     max_eval), step_lr[0], float(step_lr[1])))
    out.write("const LbfgsScheduledCase kScheduledCases[] = {\n%s};\n" % "".join(table))


def main():
    if sys.argv[1:] == ["schedule"]:
        return main_schedule()
    out = sys.stdout
    out.write("// Generated by tests/reference/generate_lbfgs.py with torch %s; do not edit.\n"
              % torch.__version__)
    out.write("// clang-format off\n")
    out.write("const double kExpT[] = {%s};\n" % numbers([T_EXP]))
    out.write("const double kExpY[] = {%s};\n" % numbers([Y_EXP]))
    out.write("const double kLinX[] = {%s};\n" % numbers(X_LIN))
    out.write("const double kLinY[] = {%s};\n" % numbers(Y_LIN))
    table = []
    for name, problem, steps, options in CASES:
        for line_search in (None, "strong_wolfe"):
            evals, after, max_eval = run(problem, steps, options, line_search)
            tag = "%s_%s" % (name, "wolfe" if line_search else "none")
            out.write("const double kEvals_%s[] = {%s};\n" % (tag, numbers(evals)))
            out.write("const double kAfter_%s[] = {%s};\n" % (tag, numbers(after)))
            table.append("  %s,\n"
                         % case_row(tag, problem, options, line_search, steps, evals, max_eval))
    out.write("const LbfgsCase kCases[] = {\n%s};\n" % "".join(table))


if __name__ == "__main__":
    main()
