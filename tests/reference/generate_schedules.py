#!/usr/bin/env python3
"""Reference learning rates for descend's schedule tests (tests/test_schedule.cpp).

Two sources, each checked against the other where both exist:

  * REAL PyTorch 1.13 (torch.optim.lr_scheduler, Debian's python3-torch): every
    scheduler, stepped as users step it (optimizer.step() then
    scheduler.step(), no epoch argument), on an SGD or Adam optimizer with two
    parameter groups of different lrs and momenta (betas).
  * An INDEPENDENT plain-Python implementation of each schedule written from
    the published formulas (closed forms of the PyTorch 1.13 documentation,
    the CLR and 1cycle papers' descriptions as the docs state them), asserted
    to agree with torch to 1e-12 relative (absolute below 1e-12 of the base
    lr). Where torch's chainable (recursive) code and the closed form differ,
    it is said next to the case.
  * numpy-ml (github.com/ddbourgin/numpy-ml,
    numpy_ml/neural_nets/schedulers/schedulers.py): NoamScheduler and
    KingScheduler transcribed as published (King's test of a decreasing loss
    with numpy's lstsq-free OLS, quantile and erf exactly as there), driven as
    numpy-ml's optimizers drive them (the first update is step 1). They have
    no torch version: this transcription is their reference.
  * Mytorch (a Chinese-language PyTorch-from-scratch tutorial), SGD's
    lr_decay: at every step, epoch += 1 then lr = lr * (1 - d) ** (epoch // 100)
    (compounding), and the non-compounding reading lr0 * (1 - d) ** (t // 100).

Each case records, for both groups, the lr and the momentum (beta1 for Adam)
after construction (row 0) and after each of `steps` scheduler steps. Run
from the repository root with the system Python that has torch 1.13:
    /usr/bin/python3 tests/reference/generate_schedules.py > tests/reference/schedules.inc
CI has no torch: the output is committed.
"""

import math
import re
import sys
import warnings
from bisect import bisect_right

import numpy as np
import torch
from torch.optim import lr_scheduler as S

assert torch.__version__.startswith("1.13"), torch.__version__
warnings.simplefilter("error")  # a warning means the case is not stepped as users step it
# ... except the one SequentialLR raises itself when it steps the next schedule with epoch 0.
warnings.filterwarnings("ignore", message=re.escape(S.EPOCH_DEPRECATION_WARNING))

LRS = [0.1, 0.05]
MOMENTA = [0.9, 0.5]
BETAS = [(0.9, 0.999), (0.8, 0.99)]
TOL = 1e-12


def sgd():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in LRS]
    return torch.optim.SGD([{"params": [p], "lr": lr, "momentum": m}
                            for p, lr, m in zip(params, LRS, MOMENTA)], lr=LRS[0])


def adam():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in LRS]
    return torch.optim.Adam([{"params": [p], "lr": lr, "betas": b}
                             for p, lr, b in zip(params, LRS, BETAS)], lr=LRS[0])


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def run_torch(make_opt, make_sched, steps, metrics=None):
    """lrs[k][g], moms[k][g] after construction (k = 0) and k steps; whether step steps+1 raises."""
    opt = make_opt()
    sched = make_sched(opt)
    lrs, moms = [[g["lr"] for g in opt.param_groups]], [momenta(opt)]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momenta(opt))
    throws_next = False
    if metrics is None:
        opt.step()
        try:
            sched.step()
        except ValueError:
            throws_next = True
    return lrs, moms, throws_next


# ---------------------------------------------------------------------------
# Independent implementations: lr(t) for base lr b, t = scheduler steps taken.

def step_lr(b, t, step_size, gamma):
    return b * gamma ** (t // step_size)


def multistep_lr(b, t, milestones, gamma):
    return b * gamma ** bisect_right(sorted(milestones), t)


def constant_lr(b, t, factor, total_iters):
    return b * (factor if t < total_iters else 1.0)


def linear_lr(b, t, start, end, total_iters):
    return b * (start + (end - start) * min(t, total_iters) / total_iters)


def exponential_lr(b, t, gamma):
    return b * gamma ** t


def polynomial_lr(b, t, total_iters, power):
    return b * (1 - min(t, total_iters) / total_iters) ** power


def cosine_lr(b, t, t_max, eta_min):
    # The docs' closed form; it is periodic past T_max (period 2 T_max), as the
    # chainable code also is: the lr climbs back to b after T_max.
    return eta_min + (b - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def warm_restarts_lr(b, t, t0, t_mult, eta_min):
    # SGDR: T_i = T_0 T_mult^i; T_cur counts steps since the last restart.
    t_i, t_cur = t0, t
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= t_mult
    return eta_min + (b - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def cyclic(t, lo, hi, up, down, scale, scale_mode):
    """CLR (Smith 2017): triangular wave from lo to hi, up then down steps; the
    amplitude times scale(cycle) or scale(t). Returns (fraction of amplitude, value)."""
    total = up + down
    cycle = t // total + 1
    pos = t - (cycle - 1) * total
    frac = pos / up if pos <= up else (total - pos) / down
    s = scale(cycle) if scale_mode == "cycle" else scale(t)
    return lo + (hi - lo) * frac * s


def one_cycle(t, total, pct, start, peak, final, anneal, three_phase):
    """1cycle (Smith & Topin): start -> peak over pct*total - 1 steps, then
    peak -> final (two phases) or peak -> start -> final (three phases). At
    t = total (one step past the cycle) torch extrapolates the last phase;
    so does this."""
    def ann(a, b, p):
        return b + (a - b) / 2 * (math.cos(math.pi * p) + 1) if anneal == "cos" else a + (b - a) * p
    e1 = pct * total - 1
    if three_phase:
        e2 = 2 * pct * total - 2
        if t <= e1:
            return ann(start[0], peak[0], t / e1), ann(start[1], peak[1], t / e1)
        if t <= e2:
            p = (t - e1) / (e2 - e1)
            return ann(peak[0], start[0], p), ann(peak[1], start[1], p)
        p = (t - e2) / (total - 1 - e2)
        return ann(start[0], final[0], p), ann(start[1], final[1], p)
    if t <= e1:
        return ann(start[0], peak[0], t / e1), ann(start[1], peak[1], t / e1)
    p = (t - e1) / (total - 1 - e1)
    return ann(peak[0], final[0], p), ann(peak[1], final[1], p)


def plateau(lr0, metrics, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps):
    """ReduceLROnPlateau as its docs state it."""
    lrs, out = list(lr0), [list(lr0)]
    best, bad, cool = None, 0, 0
    for m in metrics:
        if best is None:
            better = True
        elif threshold_mode == "rel":
            better = m < best * (1 - threshold) if mode == "min" else m > best * (1 + threshold)
        else:
            better = m < best - threshold if mode == "min" else m > best + threshold
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            for g in range(len(lrs)):
                new = max(lrs[g] * factor, min_lr[g])
                if lrs[g] - new > eps:
                    lrs[g] = new
            cool, bad = cooldown, 0
        out.append(list(lrs))
    return out


# ---------------------------------------------------------------------------
# numpy-ml, transcribed (schedulers.py); driven as its optimizers drive them.

def gaussian_cdf(x, mean, var):
    eps = np.finfo(float).eps
    x_scaled = (x - mean) / np.sqrt(var + eps)
    return (1 + math.erf(x_scaled / np.sqrt(2))) / 2


class NoamScheduler:
    def __init__(self, model_dim=512, scale_factor=1, warmup_steps=4000):
        self.model_dim, self.scale_factor, self.warmup_steps = model_dim, scale_factor, warmup_steps

    def learning_rate(self, step, **kwargs):
        warmup, d_model = self.warmup_steps, self.model_dim
        new_lr = d_model ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5))
        return self.scale_factor * new_lr


class KingScheduler:
    def __init__(self, initial_lr=0.01, patience=1000, decay=0.99):
        self.decay = decay
        self.patience = patience
        self.initial_lr = initial_lr
        self.current_lr = initial_lr
        self.max_history = np.ceil(1.1 * (patience + 1)).astype(int)
        self.loss_history = []

    def _steps_without_decrease(self, robust=False, check_all=False):
        lh = np.array(self.loss_history)
        if robust:
            thresh = np.quantile(lh, 0.9)
            lh = np.array([i for i in lh if i <= thresh])
        N = len(lh)
        steps_without_decrease = 0
        if check_all:
            for i in reversed(range(N - 2)):
                if self._p_decreasing(lh, i) < 0.51:
                    steps_without_decrease = N - i
        else:
            i = max(0, N - self.patience - 1)
            if self._p_decreasing(lh, i) < 0.51:
                steps_without_decrease = N - i
        return steps_without_decrease

    def _p_decreasing(self, loss_history, i):
        loss = loss_history[i:]
        N = len(loss)
        X = np.c_[np.ones(N), np.arange(i, len(loss_history))]
        intercept, s_mean = np.linalg.inv(X.T @ X) @ X.T @ loss
        loss_pred = s_mean * X[:, 1] + intercept
        loss_var = 1 / (N - 2) * np.sum((loss - loss_pred) ** 2)
        s_var = (12 * loss_var) / (N ** 3 - N)
        p_decreasing = gaussian_cdf(0, s_mean, s_var)
        return p_decreasing

    def learning_rate(self, step, cur_loss):
        if cur_loss is None:
            raise ValueError("cur_loss must be a float, but got {}".format(cur_loss))
        patience, max_history = self.patience, self.max_history
        self.loss_history.append(cur_loss)
        if len(self.loss_history) < patience:
            return self.current_lr
        self.loss_history = self.loss_history[-max_history:]
        if (
            self._steps_without_decrease() > patience
            and self._steps_without_decrease(robust=True) > patience
        ):
            self.current_lr *= self.decay
        return self.current_lr


def mytorch_compounding(lr, lr_decay, updates):
    """Mytorch's SGD.step(): the lr each update uses."""
    epoch, out = 0, []
    for _ in range(updates):
        epoch += 1
        lr = lr * (1 - lr_decay) ** (epoch // 100)
        out.append(lr)
    return out


def mytorch_non_compounding(lr0, lr_decay, updates):
    return [lr0 * (1 - lr_decay) ** (t // 100) for t in range(1, updates + 1)]


# King's loss sequences: a noisy decrease that flattens at step 40, then a
# rise. Deterministic (no RNG): a sine "noise".
def king_losses(n):
    out = []
    for t in range(n):
        trend = 2.0 * math.exp(-t / 12.0) if t < 40 else 2.0 * math.exp(-40 / 12.0) + 0.002 * (t - 40)
        out.append(trend + 0.05 * math.sin(1.7 * t) + 0.03 * math.cos(0.37 * t * t))
    return out


PLATEAU_METRICS = [1.0, 0.9, 0.85, 0.85, 0.86, 0.849, 0.9, 0.95, 0.7, 0.7, 0.69995, 0.71, 0.72,
                   0.73, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6,
                   0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAU_MAX_METRICS = [0.1, 0.2, 0.2, 0.25, 0.2501, 0.24, 0.3, 0.3, 0.3, 0.31, 0.305, 0.3,
                       0.3, 0.3, 0.29, 0.4, 0.41, 0.41, 0.41, 0.41, 0.41, 0.41, 0.41, 0.41,
                       0.41, 0.41, 0.41, 0.41, 0.41, 0.41]

CASES = []  # (id, lrs, moms, throws_next)


def case(case_id, lrs, moms, throws_next=False):
    assert not any(c[0] == case_id for c in CASES), case_id
    CASES.append((case_id, lrs, moms, throws_next))


def close(a, b, scale):
    return abs(a - b) <= TOL * max(abs(a), abs(b)) or abs(a - b) <= TOL * scale


def check(case_id, got, want, what="lr"):
    assert len(got) == len(want), (case_id, len(got), len(want))
    for k, (row_g, row_w) in enumerate(zip(got, want)):
        for g, (a, b) in enumerate(zip(row_g, row_w)):
            if not close(a, b, max(LRS)):
                raise AssertionError(f"{case_id}: {what} of group {g} after step {k}: torch {a!r}, "
                                     f"independent {b!r}")


def torch_case(case_id, make_sched, steps, closed, make_opt=sgd, closed_momentum=None,
               metrics=None):
    """closed(b, t, g) -> independent lr of group g (base lr b) after t steps."""
    lrs, moms, throws_next = run_torch(make_opt, make_sched, steps, metrics)
    if closed is not None:
        check(case_id, lrs, [[closed(LRS[g], t, g) for g in range(2)] for t in range(steps + 1)])
    if closed_momentum is not None:
        check(case_id, moms, [[closed_momentum(t, g) for g in range(2)] for t in range(steps + 1)],
              "momentum")
    else:
        unchanged = [b[0] for b in BETAS] if make_opt is adam else MOMENTA
        assert all(m == unchanged for m in moms), case_id
    case(case_id, lrs, moms, throws_next)


def main():
    # --- step-driven, chainable forms ------------------------------------
    torch_case("StepLR step_size=3", lambda o: S.StepLR(o, 3), 20,
               lambda b, t, g: step_lr(b, t, 3, 0.1))
    torch_case("StepLR step_size=7 gamma=0.5", lambda o: S.StepLR(o, 7, gamma=0.5), 40,
               lambda b, t, g: step_lr(b, t, 7, 0.5))
    torch_case("MultiStepLR milestones=5,12,30", lambda o: S.MultiStepLR(o, [5, 12, 30]), 40,
               lambda b, t, g: multistep_lr(b, t, [5, 12, 30], 0.1))
    # Unsorted and repeated milestones: the code (a Counter) multiplies by
    # gamma ** count at each; the docs ask for an increasing list.
    torch_case("MultiStepLR milestones=20,4,4,9 gamma=0.5",
               lambda o: S.MultiStepLR(o, [20, 4, 4, 9], gamma=0.5), 30,
               lambda b, t, g: multistep_lr(b, t, [20, 4, 4, 9], 0.5))
    torch_case("ConstantLR", lambda o: S.ConstantLR(o), 12,
               lambda b, t, g: constant_lr(b, t, 1 / 3, 5))
    torch_case("ConstantLR factor=0.5 total_iters=8", lambda o: S.ConstantLR(o, 0.5, 8), 20,
               lambda b, t, g: constant_lr(b, t, 0.5, 8))
    torch_case("LinearLR", lambda o: S.LinearLR(o), 12,
               lambda b, t, g: linear_lr(b, t, 1 / 3, 1.0, 5))
    torch_case("LinearLR start_factor=1 end_factor=0.1 total_iters=20",
               lambda o: S.LinearLR(o, 1.0, 0.1, 20), 30,
               lambda b, t, g: linear_lr(b, t, 1.0, 0.1, 20))
    torch_case("LinearLR start_factor=0.25 end_factor=0.75 total_iters=10",
               lambda o: S.LinearLR(o, 0.25, 0.75, 10), 15,
               lambda b, t, g: linear_lr(b, t, 0.25, 0.75, 10))
    torch_case("ExponentialLR gamma=0.9", lambda o: S.ExponentialLR(o, 0.9), 60,
               lambda b, t, g: exponential_lr(b, t, 0.9))
    torch_case("PolynomialLR", lambda o: S.PolynomialLR(o), 10,
               lambda b, t, g: polynomial_lr(b, t, 5, 1.0))
    torch_case("PolynomialLR total_iters=30 power=2.5", lambda o: S.PolynomialLR(o, 30, 2.5), 40,
               lambda b, t, g: polynomial_lr(b, t, 30, 2.5))
    torch_case("PolynomialLR total_iters=12 power=0.5", lambda o: S.PolynomialLR(o, 12, 0.5), 20,
               lambda b, t, g: polynomial_lr(b, t, 12, 0.5))
    # Past T_max the chainable code keeps following the cosine (period
    # 2 T_max, back up to the base lr), as the closed form does.
    torch_case("CosineAnnealingLR T_max=10", lambda o: S.CosineAnnealingLR(o, 10), 45,
               lambda b, t, g: cosine_lr(b, t, 10, 0.0))
    torch_case("CosineAnnealingLR T_max=25 eta_min=0.01",
               lambda o: S.CosineAnnealingLR(o, 25, eta_min=0.01), 120,
               lambda b, t, g: cosine_lr(b, t, 25, 0.01))
    torch_case("CosineAnnealingLR T_max=1 eta_min=0.001",
               lambda o: S.CosineAnnealingLR(o, 1, eta_min=0.001), 8,
               lambda b, t, g: cosine_lr(b, t, 1, 0.001))
    torch_case("CosineAnnealingWarmRestarts T_0=10", lambda o: S.CosineAnnealingWarmRestarts(o, 10),
               45, lambda b, t, g: warm_restarts_lr(b, t, 10, 1, 0.0))
    torch_case("CosineAnnealingWarmRestarts T_0=3 T_mult=2 eta_min=0.001",
               lambda o: S.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=0.001), 100,
               lambda b, t, g: warm_restarts_lr(b, t, 3, 2, 0.001))
    torch_case("CosineAnnealingWarmRestarts T_0=1 T_mult=3",
               lambda o: S.CosineAnnealingWarmRestarts(o, 1, T_mult=3), 50,
               lambda b, t, g: warm_restarts_lr(b, t, 1, 3, 0.0))

    lam = [lambda e: 1.0 / (1 + 0.1 * e), lambda e: 0.95 ** e]
    torch_case("LambdaLR f=1/(1+0.1e)", lambda o: S.LambdaLR(o, lam[0]), 30,
               lambda b, t, g: b * lam[0](t))
    torch_case("LambdaLR f=1/(1+0.1e),0.95^e", lambda o: S.LambdaLR(o, lam), 30,
               lambda b, t, g: b * lam[g](t))
    mul = [lambda e: 0.9 if e % 2 else 1.05, lambda e: 1 - 0.01 * e]
    torch_case("MultiplicativeLR f=0.9|1.05", lambda o: S.MultiplicativeLR(o, mul[0]), 30,
               lambda b, t, g: b * math.prod(mul[0](k) for k in range(1, t + 1)))
    torch_case("MultiplicativeLR f=0.9|1.05,1-0.01e", lambda o: S.MultiplicativeLR(o, mul), 30,
               lambda b, t, g: b * math.prod(mul[g](k) for k in range(1, t + 1)))

    # SequentialLR: 1.13 resets the lrs to initial_lr at construction, steps
    # the first schedule from -1 to 0 again, and at each milestone steps the
    # next one with epoch 0 (its closed form where it has one), then
    # chainably. The schedules see their own epoch count from there.
    def seq_linear_exp(o):
        return S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.ExponentialLR(o, 0.9)], [5])
    torch_case("SequentialLR LinearLR(0.1,1,5) ExponentialLR(0.9) milestones=5", seq_linear_exp,
               30, lambda b, t, g: linear_lr(b, t, 0.1, 1.0, 5) if t < 5
               else exponential_lr(b, t - 5, 0.9))

    def seq_three(o):
        return S.SequentialLR(o, [S.ConstantLR(o, 0.5, 3), S.CosineAnnealingLR(o, 8, 0.01),
                                  S.StepLR(o, 4, 0.5)], [4, 12])
    torch_case("SequentialLR ConstantLR(0.5,3) CosineAnnealingLR(8,0.01) StepLR(4,0.5) "
               "milestones=4,12", seq_three, 30,
               lambda b, t, g: constant_lr(b, t, 0.5, 3) if t < 4
               else cosine_lr(b, t - 4, 8, 0.01) if t < 12 else step_lr(b, t - 12, 4, 0.5))

    def seq_warm(o):
        return S.SequentialLR(o, [S.LinearLR(o, 0.5, 1.0, 4),
                                  S.CosineAnnealingWarmRestarts(o, 3, 2)], [4])
    torch_case("SequentialLR LinearLR(0.5,1,4) CosineAnnealingWarmRestarts(3,2) milestones=4",
               seq_warm, 30, lambda b, t, g: linear_lr(b, t, 0.5, 1.0, 4) if t < 4
               else warm_restarts_lr(b, t - 4, 3, 2, 0.0))

    def seq_lambda(o):
        return S.SequentialLR(o, [S.ExponentialLR(o, 0.8), S.LambdaLR(o, lambda e: 0.5 + 0.1 * e)],
                              [6])
    torch_case("SequentialLR ExponentialLR(0.8) LambdaLR(0.5+0.1e) milestones=6", seq_lambda, 20,
               lambda b, t, g: exponential_lr(b, t, 0.8) if t < 6 else b * (0.5 + 0.1 * (t - 6)))

    def chained(o):
        return S.ChainedScheduler([S.ConstantLR(o, 0.2, 4), S.ExponentialLR(o, 0.9)])
    torch_case("ChainedScheduler ConstantLR(0.2,4) ExponentialLR(0.9)", chained, 20,
               lambda b, t, g: constant_lr(b, t, 0.2, 4) * 0.9 ** t)

    def chained_cos(o):
        return S.ChainedScheduler([S.LinearLR(o, 0.25, 1.0, 6), S.StepLR(o, 5, 0.5)])
    torch_case("ChainedScheduler LinearLR(0.25,1,6) StepLR(5,0.5)", chained_cos, 20,
               lambda b, t, g: linear_lr(b, t, 0.25, 1.0, 6) * 0.5 ** (t // 5))

    # --- CyclicLR ------------------------------------------------------------
    lo, hi = [0.01, 0.002], [0.1, 0.05]
    mlo, mhi = [0.8, 0.4], [0.9, 0.6]

    def cyc_case(case_id, steps, up, down, scale, by, **kw):
        down_ = up if down is None else down
        torch_case(case_id, lambda o: S.CyclicLR(o, lo, hi, up, down, base_momentum=mlo,
                                                 max_momentum=mhi, **kw), steps,
                   lambda b, t, g: cyclic(t, lo[g], hi[g], up, down_, scale, by),
                   closed_momentum=lambda t, g: mhi[g] - (
                       cyclic(t, 0.0, 1.0, up, down_, scale, by)) * (mhi[g] - mlo[g]))

    cyc_case("CyclicLR triangular step_size_up=5", 40, 5, None, lambda c: 1.0, "cycle")
    cyc_case("CyclicLR triangular2 step_size_up=4 step_size_down=6", 60, 4, 6,
             lambda c: 1 / 2 ** (c - 1), "cycle", mode="triangular2")
    # exp_range: the docs say gamma ** (cycle iterations); the code (and
    # this) use gamma ** (iterations since the start).
    cyc_case("CyclicLR exp_range gamma=0.97 step_size_up=6", 60, 6, None, lambda t: 0.97 ** t,
             "iterations", mode="exp_range", gamma=0.97)
    cyc_case("CyclicLR scale_fn=1/(1+0.5(c-1)) scale_mode=cycle step_size_up=3 step_size_down=2",
             40, 3, 2, lambda c: 1 / (1 + 0.5 * (c - 1)), "cycle",
             scale_fn=lambda c: 1 / (1 + 0.5 * (c - 1)))
    cyc_case("CyclicLR scale_fn=0.99^x scale_mode=iterations step_size_up=4", 40, 4, None,
             lambda x: 0.99 ** x, "iterations", scale_fn=lambda x: 0.99 ** x,
             scale_mode="iterations")
    torch_case("CyclicLR triangular step_size_up=3 cycle_momentum=0",
               lambda o: S.CyclicLR(o, 0.01, 0.1, 3, cycle_momentum=False), 20,
               lambda b, t, g: cyclic(t, 0.01, 0.1, 3, 3, lambda c: 1.0, "cycle"))

    # --- OneCycleLR: to its last step (total_steps steps), then one more raises.
    def oc_case(case_id, total, kw, make_opt=sgd, epochs=None):
        max_lr = kw.get("max_lr", [1.0, 0.4])
        div, fdiv = kw.get("div_factor", 25.0), kw.get("final_div_factor", 1e4)
        pct, anneal = kw.get("pct_start", 0.3), kw.get("anneal_strategy", "cos")
        three = kw.get("three_phase", False)
        bm, mm = kw.get("base_momentum", 0.85), kw.get("max_momentum", 0.95)
        bm = bm if isinstance(bm, list) else [bm, bm]
        mm = mm if isinstance(mm, list) else [mm, mm]
        cycle_m = kw.get("cycle_momentum", True)
        args = dict(kw)
        if epochs is None:
            args["total_steps"] = total
        else:
            args["epochs"], args["steps_per_epoch"] = epochs, total // epochs

        def lr_m(t, g):
            init = max_lr[g] / div
            return one_cycle(t, total, pct, (init, mm[g]), (max_lr[g], bm[g]),
                             (init / fdiv, mm[g]), anneal, three)
        torch_case(case_id, lambda o: S.OneCycleLR(o, **args), total,
                   lambda b, t, g: lr_m(t, g)[0], make_opt,
                   (lambda t, g: lr_m(t, g)[1]) if cycle_m else None)

    oc_case("OneCycleLR total_steps=40", 40, {"max_lr": [1.0, 0.4]})
    oc_case("OneCycleLR total_steps=50 anneal_strategy=linear pct_start=0.25", 50,
            {"max_lr": [1.0, 0.4], "anneal_strategy": "linear", "pct_start": 0.25})
    oc_case("OneCycleLR total_steps=60 three_phase=1 div_factor=10 final_div_factor=100", 60,
            {"max_lr": [1.0, 0.4], "three_phase": True, "div_factor": 10.0,
             "final_div_factor": 100.0})
    oc_case("OneCycleLR total_steps=45 three_phase=1 anneal_strategy=linear", 45,
            {"max_lr": [0.5, 0.2], "three_phase": True, "anneal_strategy": "linear",
             "base_momentum": [0.8, 0.7], "max_momentum": [0.9, 0.95]})
    oc_case("OneCycleLR epochs=6 steps_per_epoch=7 max_lr=0.3 Adam", 42,
            {"max_lr": [0.3, 0.3]}, make_opt=adam, epochs=6)
    oc_case("OneCycleLR total_steps=30 max_lr=0.2 Adam base_momentum=0.8,0.7 max_momentum=0.9", 30,
            {"max_lr": [0.2, 0.2], "base_momentum": [0.8, 0.7], "max_momentum": [0.9, 0.9]},
            make_opt=adam)
    oc_case("OneCycleLR total_steps=20 cycle_momentum=0", 20,
            {"max_lr": [1.0, 0.4], "cycle_momentum": False})

    # --- ReduceLROnPlateau fed a scripted metric ----------------------------
    def plat_case(case_id, metrics, min_lr=(0.0, 0.0), **kw):
        o = dict(mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, eps=1e-8)
        o.update(kw)
        want = plateau(LRS, metrics, o["mode"], o["factor"], o["patience"], o["threshold"],
                       o["threshold_mode"], o["cooldown"], list(min_lr), o["eps"])
        lrs, moms, _ = run_torch(sgd, lambda opt: S.ReduceLROnPlateau(
            opt, min_lr=list(min_lr), **kw), len(metrics), metrics)
        check(case_id, lrs, want)
        case(case_id, lrs, moms)

    plat_case("ReduceLROnPlateau patience=2", PLATEAU_METRICS, patience=2)
    plat_case("ReduceLROnPlateau patience=1 factor=0.5 cooldown=2 min_lr=0.01,0.02",
              PLATEAU_METRICS, (0.01, 0.02), patience=1, factor=0.5, cooldown=2)
    plat_case("ReduceLROnPlateau patience=3 threshold=0.05 threshold_mode=abs", PLATEAU_METRICS,
              patience=3, threshold=0.05, threshold_mode="abs")
    plat_case("ReduceLROnPlateau mode=max patience=2 factor=0.3", PLATEAU_MAX_METRICS, mode="max",
              patience=2, factor=0.3)
    plat_case("ReduceLROnPlateau mode=max threshold_mode=abs threshold=0.005 patience=0",
              PLATEAU_MAX_METRICS, mode="max", threshold_mode="abs", threshold=0.005, patience=0)
    plat_case("ReduceLROnPlateau patience=0 factor=0.5 eps=0.02", PLATEAU_METRICS, patience=0,
              factor=0.5, eps=0.02)

    # --- numpy-ml and Mytorch (no torch version) ----------------------------
    def fixed_momenta(rows):
        return [list(MOMENTA) for _ in rows]

    for d, scale, warm, steps in ((512, 1, 10, 40), (64, 2.0, 25, 60)):
        noam = NoamScheduler(d, scale, warm)
        rows = [[noam.learning_rate(step=t + 1)] * 2 for t in range(steps + 1)]
        case(f"NoamScheduler model_dim={d} scale_factor={scale} warmup_steps={warm}", rows,
             fixed_momenta(rows))

    for patience, decay, n in ((3, 0.5, 80), (10, 0.9, 120)):
        losses = king_losses(n)
        kings = [KingScheduler(lr, patience, decay) for lr in LRS]
        rows = [list(LRS)] + [[k.learning_rate(t + 1, losses[t]) for k in kings] for t in range(n)]
        case(f"KingScheduler patience={patience} decay={decay}", rows, fixed_momenta(rows))

    for d, n in ((0.01, 320), (0.2, 240)):
        per_group = [mytorch_compounding(lr, d, n + 1) for lr in LRS]
        rows = [[per_group[0][k], per_group[1][k]] for k in range(n + 1)]
        case(f"CompoundingStepDecay lr_decay={d}", rows, fixed_momenta(rows))
        per_group = [mytorch_non_compounding(lr, d, n + 1) for lr in LRS]
        rows = [[per_group[0][k], per_group[1][k]] for k in range(n + 1)]
        case(f"StepDecay lr_decay={d}", rows, fixed_momenta(rows))

    # King's probability that the loss is decreasing, on its own.
    prob_cases = []
    losses = king_losses(120)
    for lo_, hi_ in ((0, 3), (36, 40), (42, 46), (45, 55), (57, 72), (40, 80), (0, 120)):
        h = np.array(losses[lo_:hi_])
        prob_cases.append((lo_, hi_, KingScheduler()._p_decreasing(h, 0)))

    print("// Generated by tests/reference/generate_schedules.py with torch "
          f"{torch.__version__}, numpy {np.__version__}; do not edit.")
    print(f"// {len(CASES)} cases: id, whether one more step throws, then after construction and")
    print("// after each step: the two groups' lrs, and their momenta (Adam: beta1).")
    print("// clang-format off")
    print("#ifdef DESCEND_SCHEDULE_CASES")
    for case_id, lrs, moms, throws in CASES:
        print(f'{{"{case_id}", {str(throws).lower()}, {{')
        for row in lrs:
            print("  " + ", ".join(repr(float(v)) for v in row) + ",")
        print("}, {")
        for row in moms:
            print("  " + ", ".join(repr(float(v)) for v in row) + ",")
        print("}},")
    print("#endif")
    print("#ifdef DESCEND_KING_LOSSES")
    print("  " + ", ".join(repr(v) for v in losses))
    print("#endif")
    print("#ifdef DESCEND_PLATEAU_METRICS")
    print("  " + ", ".join(repr(v) for v in PLATEAU_METRICS))
    print("#endif")
    print("#ifdef DESCEND_PLATEAU_MAX_METRICS")
    print("  " + ", ".join(repr(v) for v in PLATEAU_MAX_METRICS))
    print("#endif")
    print("#ifdef DESCEND_KING_PROBABILITIES")
    for lo_, hi_, p in prob_cases:
        print(f"  {{{lo_}, {hi_}, {float(p)!r}}},")
    print("#endif")
    print(f"// {len(CASES)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
