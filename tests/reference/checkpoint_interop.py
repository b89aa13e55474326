#!/usr/bin/env python3
"""descend's checkpoints and torch.optim (1.13), in both directions.

For each config (an optimizer with non-default hyper-parameters):

  descend -> torch   tests/checkpoint_interop.cpp (`save`) runs descend 20
                     steps, saves descend.ckpt and the parameters, and goes on
                     30 steps. Here the checkpoint is read with json, struct
                     and numpy only (its checksum verified as checkpoint.hpp's
                     header specifies it), turned into a torch state_dict and
                     loaded into a torch.optim optimizer built with default
                     hyper-parameters (so every one comes from the file); torch
                     goes on 30 steps from descend's parameters.
  torch -> descend   torch runs 20 steps; its state_dict is written as a
                     descend checkpoint (torch.ckpt, safetensors with the
                     checksum computed here) with the parameters; the C++
                     program (`resume`) builds its optimizer with default
                     hyper-parameters, loads the file and goes on 30 steps;
                     torch goes on 30 steps too.

Both compare the parameters after step 50, and the state (each buffer, and
the step counts) after step 50, which descend saves as descend_50.ckpt or
resumed_50.ckpt: the largest relative difference, max |a - b| / max(|a|, |b|)
over the 16 parameters, and max |a - b| / max(max |a|, max |b|) for each
state buffer (a buffer's scale, not its coefficient's: a centered RMSprop's
grad_avg has coefficients near 0 that are sums of cancelling terms), must be
<= 1e-12.

torch keeps per-parameter state that descend does not store but derives from
the step count t and the group's options (DERIVED below, following torch
1.13's code): NAdam's mu_product, the running product of
mu_i = beta1 (1 - 0.5 * 0.96^(i momentum_decay)) for i = 1..t, and ASGD's eta
= lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0) (lr and 1 at t = 0).
Loading descend's file, they are computed here; from torch's state_dict they
must equal, bit for bit, what descend would derive (checked at steps 20 and
50). torch makes them tensors of the default dtype: float64 here
(set_default_dtype), float32 in a program that keeps torch's default, whose
rounded eta and mu would make ASGD's steps differ from descend's double ones.

NAdam differs from 1.13 by design: descend follows later PyTorch's
corrected product (include/descend/optim/nadam.hpp), where 1.13's second
update uses 1 - P_t mu_t mu_{t+1} instead of 1 - P_t mu_{t+1} (P_t the
running product, mu_t counted twice). The two agree bit for bit exactly when
both products are at most 2^-54, so that 1 minus either rounds to 1.0: for
beta1 0.3 (momentum_decay 4e-3) from update 19 on, for the default beta1 0.9
from update 47 on; before that the factors differ by about P_t mu_{t+1}
relative (1.3e-8 at update 21 for beta1 0.9, which moves the parameters by
about 1.6e-9 relative over updates 21 to 50). Both
directions compare only updates 21 to 50 (each side continues from the same
state after update 20), so the NAdam configs choose beta1 small enough that
they agree there, and nadam_agreement() checks it before comparing: this
test then shows that descend's NAdam state continues in torch 1.13 and back,
not that their trajectories agree from step 1 for every beta1.
The problem is the C++ file's: W (3x4) and b (4), coefficient k = 4 r + c of
W and k = 12 + i of b, w_0 = 0.3 k - 1.1, g = c_k (w - t_k) + 0.1 w w with
c_k = 0.5 + 0.25 k and t_k = 0.2 k - 1.1, computed with the same IEEE double
operations on both sides. A parameter file is 16 little-endian doubles, W
row-major then b.

    /usr/bin/python3 tests/reference/checkpoint_interop.py \
        --binary build/default/tests/checkpoint_interop --dir /tmp/interop

Prints one line per config and direction; exits 1 on any failure, 77 (the
ctest skip code) when torch cannot be imported.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import zlib

try:
    import numpy as np
    import torch
except Exception:  # ImportError, or a torch that cannot load its libraries
    print("SKIPPED: torch not available")
    sys.exit(77)

TOLERANCE = 1e-12
STEPS_BEFORE, STEPS_AFTER = 20, 30

# The same hyper-parameters as kConfigs in checkpoint_interop.cpp: torch's
# class, its options, and for a config with a second group (holding b), that
# group's options over the first's.
CONFIGS = {
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.0, nesterov=False,
                                 weight_decay=0.0)),
    "sgd_nesterov": ("SGD", dict(lr=0.03, momentum=0.8, dampening=0.0, nesterov=True,
                                 weight_decay=0.01)),
    "sgd_dampening": ("SGD", dict(lr=0.04, momentum=0.7, dampening=0.3, nesterov=False,
                                  weight_decay=0.02)),
    "adagrad": ("Adagrad", dict(lr=0.2, lr_decay=0.01, weight_decay=0.01,
                                initial_accumulator_value=0.1, eps=1e-8)),
    "rmsprop": ("RMSprop", dict(lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.0,
                                centered=False)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.005, alpha=0.95, eps=1e-7,
                                                  weight_decay=0.02, momentum=0.5,
                                                  centered=True)),
    "adadelta": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01)),
    "adam": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.01,
                          amsgrad=False)),
    "amsgrad": ("Adam", dict(lr=0.02, betas=(0.85, 0.995), eps=1e-6, weight_decay=0.005,
                             amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01, betas=(0.85, 0.98), eps=1e-7, weight_decay=0.05,
                            amsgrad=False)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.015, betas=(0.7, 0.97), eps=1e-6, weight_decay=0.1,
                                    amsgrad=True)),
    "nadam": ("NAdam", dict(lr=0.01, betas=(0.3, 0.99), eps=1e-7, weight_decay=0.01,
                            momentum_decay=0.004)),
    "nadam_groups": ("NAdam", dict(lr=0.02, betas=(0.25, 0.95), eps=1e-6, weight_decay=0.0,
                                   momentum_decay=0.05),
                     dict(lr=0.005, betas=(0.2, 0.999), weight_decay=0.02, momentum_decay=0.01)),
    "radam": ("RAdam", dict(lr=0.01, betas=(0.85, 0.95), eps=1e-7, weight_decay=0.01)),
    # beta2 0.6669: rho_t > 5 first at update 23, after the resume (group 0).
    "radam_rectified_after_resume": ("RAdam", dict(lr=0.02, betas=(0.8, 0.6669), eps=1e-6,
                                                   weight_decay=0.0),
                                     dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                                          weight_decay=0.05)),
    "adamax": ("Adamax", dict(lr=0.02, betas=(0.85, 0.99), eps=1e-7, weight_decay=0.01,
                              maximize=False)),
    "adamax_maximize_groups": ("Adamax", dict(lr=0.01, betas=(0.8, 0.995), eps=1e-6,
                                              weight_decay=0.0, maximize=True),
                               dict(lr=0.005, betas=(0.9, 0.98), weight_decay=0.02)),
    "rprop": ("Rprop", dict(lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-5, 0.5), maximize=False)),
    "rprop_maximize_groups": ("Rprop", dict(lr=0.003, etas=(0.6, 1.1), step_sizes=(1e-4, 0.05),
                                            maximize=True),
                              dict(lr=0.001, etas=(0.3, 1.4), step_sizes=(1e-6, 0.02))),
    # t0 5: averaging from update 8 on; in asgd_maximize_groups' group 0, t0 30:
    # from update 33 on, after the resume.
    "asgd": ("ASGD", dict(lr=0.01, lambd=0.01, alpha=0.6, t0=5.0, weight_decay=0.01,
                          maximize=False)),
    "asgd_maximize_groups": ("ASGD", dict(lr=0.004, lambd=0.001, alpha=0.8, t0=30.0,
                                          weight_decay=0.0, maximize=True),
                             dict(lr=0.002, lambd=0.05, alpha=0.5, t0=10.0, weight_decay=0.03)),
}


def config_groups(config):
    """torch's class and each group's options (b's group, if any, over W's)."""
    cls, hyper, *group1 = CONFIGS[config]
    return cls, [hyper] + [{**hyper, **g} for g in group1]

# Per torch.optim class: descend's kind, and the values of descend's own
# options (beyond PyTorch's) under which descend's update is PyTorch's.
# (torch 1.13 keeps state["step"] as a float tensor for Adam, AdamW, Adagrad,
# NAdam, RAdam, Adamax and ASGD, as a Python int for RMSprop, Adadelta and
# Rprop, and not at all for SGD.)
STEP_TYPE = {"SGD": None, "Adagrad": "tensor", "RMSprop": int, "Adadelta": int, "Adam": "tensor",
             "AdamW": "tensor", "NAdam": "tensor", "RAdam": "tensor", "Adamax": "tensor",
             "Rprop": int, "ASGD": "tensor"}
DESCEND = {
    "SGD": ("descend::Sgd", dict(decay=0.0, momentum_style="lr_outside")),
    "Adagrad": ("descend::Adagrad", dict(decay=0.0, eps_placement="outside_sqrt")),
    "RMSprop": ("descend::Rmsprop", dict(decay=0.0, eps_placement="outside_sqrt",
                                         momentum_style="lr_outside")),
    "Adadelta": ("descend::Adadelta", dict(decay=0.0, eps_placement="inside_sqrt")),
    "Adam": ("descend::Adam", dict(decoupled_weight_decay=False, decay=0.0,
                                   eps_placement="outside_sqrt")),
    "AdamW": ("descend::AdamW", dict(decoupled_weight_decay=True, decay=0.0,
                                     eps_placement="outside_sqrt")),
    # 1.13's NAdam and RAdam have neither decoupled_weight_decay nor maximize.
    "NAdam": ("descend::NAdam", dict(decoupled_weight_decay=False, maximize=False, decay=0.0)),
    "RAdam": ("descend::RAdam", dict(decoupled_weight_decay=False, maximize=False, decay=0.0)),
    "Adamax": ("descend::Adamax", dict(decay=0.0)),
    "Rprop": ("descend::Rprop", dict(decay=0.0)),
    "ASGD": ("descend::Asgd", dict(decay=0.0)),
}


# torch's state that descend derives from the step count t and the group's
# options, as torch 1.13 computes it (nadam.py and asgd.py,
# _single_tensor_*): Python floats, made tensors of torch's default dtype.
def nadam_derived(t, group):
    beta1, psi = group["betas"][0], group["momentum_decay"]
    mu_product = 1.0  # torch.tensor(1.), then mu_product *= mu at each update
    for i in range(1, t + 1):
        mu_product *= beta1 * (1. - 0.5 * (0.96 ** (float(i) * psi)))
    return {"mu_product": mu_product}


def asgd_derived(t, group):
    if t == 0:
        return {"eta": group["lr"], "mu": 1.0}
    step = float(t)  # step_t.item()
    return {"eta": group["lr"] / math.pow((1 + group["lambd"] * group["lr"] * step),
                                          group["alpha"]),
            "mu": 1 / max(1, step - group["t0"])}


DERIVED = {"NAdam": nadam_derived, "ASGD": asgd_derived}


def nadam_agreement(group, first, last):
    """Raises unless 1.13's second-update factor is descend's for updates first..last."""
    beta1, psi = group["betas"][0], group["momentum_decay"]
    mu = [beta1 * (1. - 0.5 * (0.96 ** (float(i) * psi))) for i in range(last + 2)]
    for t in range(first, last + 1):
        p = nadam_derived(t, group)["mu_product"]
        if 1. - p * mu[t + 1] != 1. - p * mu[t] * mu[t + 1]:
            raise Failure(f"NAdam with beta1 {beta1}, momentum_decay {psi}: torch 1.13's "
                          f"product differs from descend's at update {t}")

# The parameters, in torch's shapes, with descend's registered names and shapes.
PARAMS = [("W", (3, 4), [3, 4]), ("b", (4,), [4, 1])]
K = [np.arange(12, dtype=np.int64).reshape(3, 4), np.arange(12, 16, dtype=np.int64)]


def initial(k):
    return 0.3 * k - 1.1


def gradient(x, k):
    c = 0.5 + 0.25 * k
    t = 0.2 * k - 1.1
    return c * (x - t) + 0.1 * x * x


class Failure(Exception):
    pass


# Parameter files: 16 little-endian doubles, W row-major then b.
def write_params(path, params):
    np.concatenate([p.detach().numpy().reshape(-1) for p in params]).astype("<f8").tofile(path)


def read_params(path):
    flat = np.fromfile(path, dtype="<f8")
    if flat.size != 16:
        raise Failure(f"{path} holds {flat.size} doubles, not 16")
    return [flat[:12].reshape(3, 4), flat[12:]]


# safetensors, with descend's checksum (checkpoint.hpp's header).
def canonical_text(metadata, tensors):
    text = ""
    for key in sorted(metadata):
        if key != "checksum":
            text += f"{key}\n{metadata[key]}\n"
    for name in sorted(tensors):
        t = tensors[name]
        begin, end = t["data_offsets"]
        text += f"{name}\n{t['dtype']}\n{','.join(str(d) for d in t['shape'])}\n{begin},{end}\n"
    return text


def checksum(metadata, tensors, data):
    crc = zlib.crc32(data, zlib.crc32(canonical_text(metadata, tensors).encode("utf-8")))
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__")
    if metadata.get("checksum") != checksum(metadata, header, data):
        raise Failure(f"{path}: checksum {metadata.get('checksum')} but the contents give "
                      f"{checksum(metadata, header, data)}")
    arrays = {}
    for name, t in header.items():
        if t["dtype"] != "F64":
            raise Failure(f"{path}: tensor {name} is {t['dtype']}")
        begin, end = t["data_offsets"]
        arrays[name] = np.frombuffer(data[begin:end], dtype="<f8").reshape(t["shape"]).copy()
    return metadata, arrays


def write_safetensors(path, metadata, arrays):
    tensors, data = {}, b""
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name], dtype="<f8")
        tensors[name] = {"dtype": "F64", "shape": list(a.shape),
                         "data_offsets": [len(data), len(data) + a.nbytes]}
        data += a.tobytes()
    metadata = dict(metadata)
    metadata["checksum"] = checksum(metadata, tensors, data)
    text = json.dumps({"__metadata__": metadata, **tensors}, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


# torch.
def torch_params(values=None):
    if values is None:
        values = [initial(k) for k in K]
    return [torch.tensor(np.asarray(v, dtype=np.float64).reshape(shape), requires_grad=True)
            for v, (_, shape, _) in zip(values, PARAMS)]


def torch_run(opt, params, steps):
    for _ in range(steps):
        for p, k in zip(params, K):
            p.grad = torch.from_numpy(gradient(p.detach().numpy().copy(), k))
        opt.step()


def same_value(a, b):
    if isinstance(b, tuple):
        b = list(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def torch_param_groups(params, group1):
    """The params, or with a second group's options, W in group 0 and b in group 1
    (descend's index order); the constructor's options are group 0's."""
    if group1 is None:
        return params
    return [{"params": params[:1]}, {"params": params[1:], **group1}]


def torch_defaults(cls, params, num_groups):
    """torch's optimizer with its default hyper-parameters (SGD has no default lr)."""
    return getattr(torch.optim, cls)(torch_param_groups(params, {} if num_groups > 1 else None),
                                     **({"lr": 1e-3} if cls == "SGD" else {}))


def check_derived(cls, s, group, where):
    """torch's derived state s (one parameter's) is what descend derives."""
    if cls not in DERIVED:
        return
    step = s["step"]
    step = int(step.item()) if torch.is_tensor(step) else int(step)
    for key, value in DERIVED[cls](step, group).items():
        if s[key].item() != value:
            raise Failure(f"{where}: torch's {key} at step {step} is {s[key].item()!r}, "
                          f"descend derives {value!r}")


def descend_to_torch(config, metadata, arrays, opt):
    """A torch state_dict from descend's checkpoint, for opt (over the PARAMS)."""
    cls, hypers = config_groups(config)
    kind, extras = DESCEND[cls]
    if metadata["format"] != "descend.checkpoint" or metadata["optimizer"] != kind:
        raise Failure(f"the file holds {metadata['optimizer']}, not {kind}")
    if metadata["dtype"] != "F64" or json.loads(metadata["transforms"]) != [] or \
            json.loads(metadata["schedules"]) != []:
        raise Failure("the file has another dtype, transforms or schedules")
    groups = json.loads(metadata["param_groups"])
    entries = json.loads(metadata["params"])
    state = json.loads(metadata["state"])
    if len(groups) != len(hypers):
        raise Failure(f"the file has {len(groups)} groups, the config {len(hypers)}")
    torch_groups = []
    for g, (group, hyper, defaults) in enumerate(zip(groups, hypers, opt.param_groups)):
        for key, value in extras.items():
            if group[key] != value:
                raise Failure(f"group {g}: descend's {key} is {group[key]!r}: torch has no such "
                              "update")
        for key, value in hyper.items():
            if not same_value(group[key], value):
                raise Failure(f"param_groups[{g}].{key} is {group[key]!r}, the config's "
                              f"{value!r}")
        torch_group = {key: value for key, value in defaults.items() if key != "params"}
        for key in torch_group:
            if key in group:  # betas, etas, step_sizes: torch's tuples
                torch_group[key] = tuple(group[key]) if isinstance(group[key], list) \
                    else group[key]
        torch_group["params"] = []
        torch_groups.append(torch_group)
    file_index = {e["name"]: i for i, e in enumerate(entries)}
    torch_state, unused = {}, set(arrays)
    for name, shape, descend_shape in PARAMS:
        i = file_index[name]
        if entries[i]["shape"] != descend_shape:
            raise Failure(f"{name} has shape {entries[i]['shape']} in the file")
        g = next((g for g, group in enumerate(groups) if i in group["params"]), None)
        if g is None:
            raise Failure(f"{name} is in no group")
        torch_groups[g]["params"].append(i)
        s = state[str(i)]
        prefix = f"state.{i}."
        one = {key[len(prefix):]: torch.from_numpy(a.reshape(shape))
               for key, a in arrays.items() if key.startswith(prefix)}
        unused -= {prefix + key for key in one}
        if STEP_TYPE[cls] is None:
            # torch's SGD keeps no count: a buffer means it is past its first step.
            if "momentum_buffer" in one and s["step"] < 1:
                raise Failure(f"{name}: a momentum buffer at step {s['step']}")
        elif STEP_TYPE[cls] == "tensor":
            one["step"] = torch.tensor(float(s["step"]))
        else:
            one["step"] = int(s["step"])
        if cls in DERIVED:
            one.update({key: torch.tensor(value)
                        for key, value in DERIVED[cls](int(s["step"]), groups[g]).items()})
        torch_state[i] = one
    if unused:
        raise Failure(f"the file has tensors no parameter uses: {sorted(unused)}")
    return {"state": torch_state, "param_groups": torch_groups}


def torch_to_descend(config, opt, params):
    """descend's checkpoint metadata and tensors from a torch optimizer."""
    cls, _ = config_groups(config)
    kind, extras = DESCEND[cls]
    sd = opt.state_dict()
    groups, indices = [], []
    for tg in sd["param_groups"]:
        group = {}
        for key, value in tg.items():
            if key == "params" or value is None:
                continue
            group[key] = list(value) if isinstance(value, tuple) else value
        group.update(extras)
        # torch's indices are those of the params in the groups, in order, as
        # descend's registration indices (add() in the same order).
        group["params"] = list(tg["params"])
        indices += tg["params"]
        groups.append((group, tg))
    entries, state, arrays = [], {}, {}
    for i, (name, _, descend_shape) in zip(indices, PARAMS):
        entries.append({"name": name, "shape": descend_shape})
        s = sd["state"][i]
        group, tg = next((group, tg) for group, tg in groups if i in tg["params"])
        check_derived(cls, s, tg, f"{name} at step {STEPS_BEFORE}")
        # SGD has no count; descend needs one >= 1 once the buffer exists.
        step = s.get("step", STEPS_BEFORE)
        state[str(i)] = {"step": int(step.item()) if torch.is_tensor(step) else int(step)}
        for key, value in s.items():
            if key != "step" and key not in DERIVED.get(cls, lambda t, g: {})(0, tg):
                arrays[f"state.{i}.{key}"] = value.detach().numpy()
    metadata = {
        "format": "descend.checkpoint",
        "version": "1",
        "optimizer": kind,
        "dtype": "F64",
        "param_groups": json.dumps([group for group, _ in groups]),
        "params": json.dumps(entries),
        "state": json.dumps(state),
        "transforms": "[]",
        "schedules": "[]",
    }
    return metadata, arrays


def state_diff(config, opt, path):
    """The largest relative difference between torch's state and descend's file
    at path; the step counts must agree, and torch's derived state must be
    descend's derivation."""
    cls, _ = config_groups(config)
    metadata, arrays = read_safetensors(path)
    steps = json.loads(metadata["state"])
    sd = opt.state_dict()
    worst, seen = 0.0, set()
    for tg in sd["param_groups"]:
        for i in tg["params"]:
            s = sd["state"][i]
            if "step" in s:
                step = s["step"].item() if torch.is_tensor(s["step"]) else s["step"]
                if step != steps[str(i)]["step"]:
                    raise Failure(f"{path}: step {steps[str(i)]['step']} of {i}, torch's {step}")
            check_derived(cls, s, tg, f"parameter {i} after step {STEPS_BEFORE + STEPS_AFTER}")
            derived = DERIVED[cls](0, tg) if cls in DERIVED else {}
            for key, value in s.items():
                if key == "step" or key in derived:
                    continue
                name = f"state.{i}.{key}"
                if name not in arrays:
                    raise Failure(f"{path} has no {name}")
                seen.add(name)
                a, b = value.detach().numpy().reshape(-1), arrays[name].reshape(-1)
                scale = max(np.abs(a).max(), np.abs(b).max())
                worst = max(worst, float(np.abs(a - b).max() / scale) if scale > 0 else 0.0)
    if set(arrays) != seen:
        raise Failure(f"{path} has buffers torch has not: {sorted(set(arrays) - seen)}")
    return worst


def rel_diff(a_list, b_list):
    worst = 0.0
    for a, b in zip(a_list, b_list):
        a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b).reshape(-1)
        scale = np.maximum(np.abs(a), np.abs(b))
        d = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0)
        worst = max(worst, float(d.max()))
    return worst


def run_binary(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"{os.path.basename(binary)} {' '.join(args)}: exit {r.returncode}: "
                      f"{(r.stderr or r.stdout).strip()}")


def descend_then_torch(binary, config, d):
    cls, hypers = config_groups(config)
    run_binary(binary, "save", config, d)
    metadata, arrays = read_safetensors(os.path.join(d, "descend.ckpt"))
    params = torch_params(read_params(os.path.join(d, "descend_params_20.bin")))
    opt = torch_defaults(cls, params, len(hypers))  # the file brings the hyper-parameters
    opt.load_state_dict(descend_to_torch(config, metadata, arrays, opt))
    torch_run(opt, params, STEPS_AFTER)
    return (rel_diff([p.detach().numpy() for p in params],
                     read_params(os.path.join(d, "descend_params_50.bin"))),
            state_diff(config, opt, os.path.join(d, "descend_50.ckpt")))


def torch_then_descend(binary, config, d):
    cls, hyper, *group1 = CONFIGS[config]
    params = torch_params()
    opt = getattr(torch.optim, cls)(torch_param_groups(params, (group1 or [None])[0]), **hyper)
    torch_run(opt, params, STEPS_BEFORE)
    metadata, arrays = torch_to_descend(config, opt, params)
    write_safetensors(os.path.join(d, "torch.ckpt"), metadata, arrays)
    write_params(os.path.join(d, "torch_params_20.bin"), params)
    read_safetensors(os.path.join(d, "torch.ckpt"))  # this file's own checksum, read back
    torch_run(opt, params, STEPS_AFTER)
    run_binary(binary, "resume", config, d)
    return (rel_diff([p.detach().numpy() for p in params],
                     read_params(os.path.join(d, "resumed_params_50.bin"))),
            state_diff(config, opt, os.path.join(d, "resumed_50.ckpt")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the checkpoint_interop program")
    parser.add_argument("--dir", required=True, help="a directory for the files")
    parser.add_argument("--config", action="append", help="run only these configs")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    configs = args.config or list(CONFIGS)
    failures = 0
    for config in configs:
        for direction, run in (("descend->torch", descend_then_torch),
                               ("torch->descend", torch_then_descend)):
            d = os.path.join(args.dir, config, direction.replace("->", "_to_"))
            os.makedirs(d, exist_ok=True)
            try:
                cls, hypers = config_groups(config)
                if cls == "NAdam":
                    for group in hypers:
                        nadam_agreement(group, STEPS_BEFORE + 1, STEPS_BEFORE + STEPS_AFTER)
                diff, state = run(args.binary, config, d)
                ok = max(diff, state) <= TOLERANCE
                detail = f"max relative difference {diff:.3g}, state {state:.3g}"
            except (Failure, KeyError, ValueError, RuntimeError) as e:
                ok, detail = False, f"{type(e).__name__}: {e}"
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {config:28} {direction:15} {detail}", flush=True)
    print(f"{len(configs) * 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
