#!/usr/bin/python3
"""PyTorch's side of bench/mnist_epoch.cpp (issue 15): the same 784-128-10
ReLU network with softmax cross-entropy, float32, Adam lr 1e-3, batch 128, on
the 60 000 Fashion-MNIST training images, one thread, from descend's initial
weights and in descend's batch order, both read from the files that
`mnist_epoch --train N --export DIR` writes:
  w1.f32 (128 x 784), b1.f32, w2.f32 (10 x 128), b2.f32   nn.Linear's layouts
  order.i64 (N x 60000)                                     each epoch's order
Prints each epoch's training loss and seconds, the best and median seconds
per epoch (wall and CPU), and the test accuracy after the last epoch.

  /usr/bin/python3 bench/mnist_torch.py --from DIR [--data-dir DIR]

Debian's python3-torch calls the BLAS behind libblas.so.3: the reference BLAS
by default, OpenBLAS with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread
(libopenblas0-pthread) and OPENBLAS_NUM_THREADS=1. The line `blas:` names the
library the process loaded.
"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_mnist(data_dir, part):
    def path(kind):
        p = os.path.join(data_dir, f"{part}-{kind}")
        return p + ".gz" if os.path.exists(p + ".gz") else p
    images = read_idx(path("images-idx3-ubyte"))
    labels = read_idx(path("labels-idx1-ubyte"))
    # descend's read_mnist: pixel * float(1 / 255), in float32.
    x = images.reshape(len(images), -1).astype(np.float32) * np.float32(1 / 255)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def loaded_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    return ", ".join(sorted(libs)) or "none found"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", required=True,
                        help="directory of mnist_epoch --export's files")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    x_train, y_train = read_mnist(args.data_dir, "train")
    x_test, y_test = read_mnist(args.data_dir, "t10k")
    n, inputs = x_train.shape

    def raw(name, dtype, shape):
        a = np.fromfile(os.path.join(args.source, name), dtype=dtype)
        return torch.from_numpy(a.reshape(shape))

    model = torch.nn.Sequential(torch.nn.Linear(inputs, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    with torch.no_grad():
        model[0].weight.copy_(raw("w1.f32", np.float32, (128, inputs)))
        model[0].bias.copy_(raw("b1.f32", np.float32, (128,)))
        model[2].weight.copy_(raw("w2.f32", np.float32, (10, 128)))
        model[2].bias.copy_(raw("b2.f32", np.float32, (10,)))
    orders = raw("order.i64", np.int64, (-1, n))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = 128

    wall, cpu = [], []
    for epoch, order in enumerate(orders):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss_sum, correct = 0.0, 0
        for first in range(0, n, batch):
            idx = order[first:first + batch]
            x, y = x_train.index_select(0, idx), y_train.index_select(0, idx)
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            # As descend's loop: the batch's loss and hits, before the update.
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        print(f"epoch {epoch + 1:2d}  loss {loss_sum / n:.4f}  {wall[-1]:.3f} s  "
              f"(cpu {cpu[-1]:.3f} s)", flush=True)
    with torch.no_grad():
        logits = model(x_test)
        acc = (logits.argmax(1) == y_test).double().mean().item()
        test_loss = loss_fn(logits, y_test).item()
    print(f"blas: {loaded_blas()}")
    print(f"torch {torch.__version__}: {len(orders)} epochs, s/epoch best {min(wall):.3f} "
          f"median {statistics.median(wall):.3f} (cpu best {min(cpu):.3f} median "
          f"{statistics.median(cpu):.3f}), test loss {test_loss:.4f} acc {acc:.4f}")


if __name__ == "__main__":
    main()
