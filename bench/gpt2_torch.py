"""PyTorch side of bench/gpt2.mjs: the same GPT-2-shaped model (the reference forward of
tooling/fixtures/gen_transformers.py, Hugging Face's math), the same workloads, printed as JSON.
  /usr/bin/python3 bench/gpt2_torch.py '{"vocab":50257,"positions":1024,"embd":768,"layer":12,"head":12,"T":128,"prompt":16,"new":32}'
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tooling", "fixtures"))
from gen_transformers import GPT2_CONFIG, gpt2_forward, gpt2_init  # noqa: E402

a = json.loads(sys.argv[1])
cfg = dict(GPT2_CONFIG, vocab_size=a["vocab"], n_positions=a["positions"], n_embd=a["embd"], n_layer=a["layer"], n_head=a["head"])
torch.manual_seed(0)
sd = gpt2_init(cfg, torch.Generator().manual_seed(0))
T = a["T"]
ids = torch.randint(0, cfg["vocab_size"], (1, T))
out = {"threads": torch.get_num_threads(), "torch": torch.__version__}

with torch.no_grad():
    gpt2_forward(sd, cfg, ids)
    t = time.perf_counter()
    for _ in range(3):
        gpt2_forward(sd, cfg, ids)
    out["forward_ms"] = (time.perf_counter() - t) / 3 * 1000

    prompt = ids[:, : a["prompt"]]
    t = time.perf_counter()
    logits, _, past, _ = gpt2_forward(sd, cfg, prompt)
    seq = prompt
    for _ in range(a["new"]):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], 1)
        logits, _, past, _ = gpt2_forward(sd, cfg, nxt, past=past)
    out["decode_tokens_per_s"] = a["new"] / (time.perf_counter() - t)

params = {k: v.clone().requires_grad_(True) for k, v in sd.items()}
opt = torch.optim.AdamW(params.values(), lr=1e-4)
times = []
for i in range(3):
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    _, _, _, loss = gpt2_forward(params, cfg, ids, labels=ids)
    loss.backward()
    opt.step()
    if i > 0:
        times.append(time.perf_counter() - t)
out["train_step_ms"] = sum(times) / len(times) * 1000
print(json.dumps(out))
