#!/usr/bin/env python3
"""PyTorch's times for the CPU goal rows of bench/README.md (the same shapes as bench/run.mjs).

    /usr/bin/python3 bench/torch-goals.py [--threads=2]

Median ms per call over interleaved rounds; forward rows under no_grad, training rows are
zero_grad + forward + loss + backward + Adam step (as bench/workloads/training.mjs).
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(next((a.split("=")[1] for a in sys.argv[1:] if a.startswith("--threads=")), "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)


def train_step(model, loss_fn, x, y):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return run


def no_grad(fn):
    def run():
        with torch.no_grad():
            return fn()

    return run


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.f1 = nn.Linear(32 * 7 * 7, 128)
        self.f2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2)
        return self.f2(F.relu(self.f1(h.flatten(1))))


a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
xa, wa, ba = torch.rand(32, 3, 32, 32), torch.rand(32, 3, 3, 3), torch.rand(32)
xb, wb, bb = torch.rand(32, 32, 16, 16), torch.rand(64, 32, 3, 3), torch.rand(64)
mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
enc = nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0, batch_first=True).eval()
lstm = nn.LSTM(64, 128, batch_first=True).eval()
xe, xl = torch.rand(8, 128, 256), torch.rand(32, 50, 64)
labels = torch.arange(64) % 10
rows = {
    "matmul 1024x1024": lambda: torch.mm(a, b),
    "conv2d [32,3,32,32]x[32,3,3,3] pad 1": lambda: F.conv2d(xa, wa, ba, padding=1),
    "conv2d [32,32,16,16]x[64,32,3,3] pad 1": lambda: F.conv2d(xb, wb, bb, padding=1),
    "MLP 784-256-10 batch 64, Adam (ms/step)": train_step(mlp, nn.CrossEntropyLoss(), torch.rand(64, 784), labels),
    "CNN 28x28 conv16-conv32-fc128 batch 64, Adam (ms/step)": train_step(Cnn(), nn.CrossEntropyLoss(), torch.rand(64, 1, 28, 28), labels),
    # The fast path (torch._transformer_encoder_layer_fwd) is what PyTorch runs in eval without grad.
    "encoder layer b8 s128 d256 h4 ff1024 fwd": no_grad(lambda: enc(xe)),
    "LSTM fwd b32 s50 64->128": no_grad(lambda: lstm(xl)[0]),
}
times = {k: [] for k in rows}
for f in rows.values():
    f(), f()  # warmup
start = time.perf_counter()
for r in range(21):
    for k, f in rows.items():
        t0 = time.perf_counter()
        f()
        times[k].append((time.perf_counter() - t0) * 1000)
    if r >= 4 and time.perf_counter() - start > 20:
        break
print(f"PyTorch {torch.__version__}, {threads} threads, median of {len(times['matmul 1024x1024'])} interleaved rounds (ms)")
for k, ts in times.items():
    print(f"| {k} | {statistics.median(ts):.3g} |")
