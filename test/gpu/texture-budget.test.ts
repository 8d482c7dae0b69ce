import "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { type GpuBackend, createGpuBackend } from "@dl/backend-gpu";
import { Conv2d, CrossEntropyLoss, Linear, MaxPool2d, Module, ReLU } from "@dl/nn";
import { Adam } from "@dl/optim";
import { type Tensor, manualSeed, mul, randint, randn, registerBackend, setDefaultDevice } from "@dl/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveArrayBufferBytes } from "../helpers/memory.js";

/**
 * The gpu backend's answer to loops that never dispose: GL memory is capped by a texture budget.
 * Past it, the least recently used storages move to host memory (and come back when a kernel
 * reads them). Here the budget is tiny, so a PyTorch-style CNN loop (no tidy) evicts constantly:
 * the losses must still equal the CPU's step for step, resident texture bytes stay near the
 * budget, and host memory stays flat (an evicted storage nobody references is garbage).
 * Run in Node under `xvfb-run -a` with DL_TEST_GPU=1.
 */
const enabled = process.env.DL_TEST_GPU === "1";
const BUDGET = 96 * 1024;
const STEPS = 40;

class SmallCNN extends Module {
  conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  relu = new ReLU();
  pool = new MaxPool2d(2, { stride: 2 });
  conv2 = new Conv2d(4, 8, 3, { padding: 1 });
  fc = new Linear(8 * 2 * 2, 10);
  forward(x: Tensor): Tensor {
    x = this.pool.call(this.relu.call(this.conv1.call(x)));
    x = this.pool.call(this.relu.call(this.conv2.call(x)));
    return this.fc.call(x.view(x.size(0), -1));
  }
}

/** Trains on `device` without tidy(); returns the losses and what `probe` saw after each step. */
function train(device: string, probe: () => void): number[] {
  manualSeed(0);
  const model = new SmallCNN().to(device);
  const criterion = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const inputs = randn(4, 1, 8, 8).to(device);
    const labels = randint(0, 10, [4]).to(device);
    const loss = criterion.call(model.call(inputs), labels);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(loss.item() as number);
    probe();
  }
  return losses;
}

describe.runIf(enabled)("gpu texture budget [gpu]", () => {
  let gpu: GpuBackend;
  beforeAll(() => {
    gpu = createGpuBackend({ name: "gpu-small", textureBudgetBytes: BUDGET });
    registerBackend(cpuBackend);
    registerBackend(gpu);
    setDefaultDevice("cpu");
  });
  afterAll(() => setDefaultDevice("cpu"));

  it("a loop without tidy() stays under the budget, evicts, and computes what the CPU computes", () => {
    const expected = train("cpu", () => {});
    let peak = 0;
    const host: number[] = [];
    const losses = train("gpu-small", () => {
      const info = gpu.memory() as { textureBytes: number };
      peak = Math.max(peak, info.textureBytes);
      if (host.length === 0) host.push(liveArrayBufferBytes());
    });
    host.push(liveArrayBufferBytes());
    expect(gpu.evictions()).toBeGreaterThan(0);
    // Over the budget by at most the storages the current kernels still use.
    expect(peak).toBeLessThan(BUDGET + 64 * 1024);
    for (let i = 0; i < STEPS; i++) expect(losses[i]).toBeCloseTo(expected[i] as number, 4);
    // Evicted storages of dropped tensors are collected with them.
    expect((host[host.length - 1] as number) - (host[0] as number)).toBeLessThan(1024 * 1024);
  }, 120_000);

  it("an evicted tensor still reads back and computes correctly", () => {
    const a = randn(64, 64).to("gpu-small");
    const expected = a.to("cpu").tolist();
    // Fill the budget with other storages until `a` is evicted.
    const others: Tensor[] = [];
    const before = gpu.evictions();
    while (gpu.evictions() - before < 4) others.push(randn(64, 64).to("gpu-small"));
    expect(a.tolist()).toEqual(expected);
    expect(mul(a, 2).to("cpu").tolist()).toEqual((expected as number[][]).map((r) => r.map((v) => v * 2)));
    for (const o of others) o.dispose();
    a.dispose();
  });
});
