import { cpuBackend } from "@dl/backend-cpu";
import { type GpuBackend, createGpuBackend } from "@dl/backend-gpu";
import { Conv2d, CrossEntropyLoss, Linear, MaxPool2d, Module, ReLU } from "@dl/nn";
import { Adam } from "@dl/optim";
import { type Tensor, manualSeed, randint, randn, registerBackend, setDefaultDevice, tidy } from "@dl/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Training the MNIST example's CNN on the gpu leaks nothing: 1,000 Adam steps inside tidy() leave
 * memory() (live storages, texture bytes) and the GL texture count exactly where they were after
 * step 10. The model is examples/mnist-cnn's SimpleCNN (conv-pool-relu twice, then one Linear),
 * built here for SIZE x SIZE images: software GL (llvmpipe) runs a 28 x 28 conv step on a batch of
 * 32 in 1-2 s, and the loop must leave that cost out while running every kernel the real one runs.
 * Run in Node under `xvfb-run -a` with DL_TEST_GPU=1.
 */
const enabled = process.env.DL_TEST_GPU === "1";

/** Image side (two 2x2 pools take it to SIZE / 4) and batch size. */
const SIZE = 8;
const BATCH = 2;
const STEPS = 1000;

class SimpleCNN extends Module {
  conv1 = new Conv2d(1, 16, 3, { padding: 1 });
  relu1 = new ReLU();
  pool1 = new MaxPool2d(2, { stride: 2 });
  conv2 = new Conv2d(16, 32, 3, { padding: 1 });
  relu2 = new ReLU();
  pool2 = new MaxPool2d(2, { stride: 2 });
  fc = new Linear(32 * (SIZE / 4) * (SIZE / 4), 10);

  forward(x: Tensor): Tensor {
    x = this.relu1.call(this.pool1.call(this.conv1.call(x)));
    x = this.relu2.call(this.pool2.call(this.conv2.call(x)));
    return this.fc.call(x.view(x.size(0), -1));
  }
}

describe.runIf(enabled)("MNIST CNN training on the gpu [gpu]", () => {
  let gpu: GpuBackend;
  beforeAll(() => {
    gpu = createGpuBackend();
    registerBackend(cpuBackend);
    registerBackend(gpu);
    setDefaultDevice("gpu");
  });
  afterAll(() => setDefaultDevice("cpu"));

  it(`memory stays flat over ${STEPS} Adam steps of the CNN with tidy`, () => {
    manualSeed(0);
    const model = new SimpleCNN();
    const criterion = new CrossEntropyLoss();
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    // A fixed batch: the loss must fall, so the steps are real training, not no-ops.
    const x = randn(BATCH, 1, SIZE, SIZE);
    const y = randint(0, 10, [BATCH]);
    const step = (): number =>
      tidy(() => {
        const loss = criterion.call(model.call(x), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        return loss.item() as number;
      });
    let first = 0;
    let last = 0;
    let at10 = { storages: 0, bytes: 0 };
    let textures10 = 0;
    for (let i = 1; i <= STEPS; i++) {
      last = step();
      if (i === 1) first = last;
      if (i === 10) {
        at10 = { ...gpu.memory() };
        textures10 = gpu.glTextures();
      }
    }
    expect(gpu.memory()).toEqual(at10);
    // GL textures too: nothing gpu.js holds behind our backs grows either.
    expect(gpu.glTextures()).toBe(textures10);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first * 0.5);
    expect([...model.parameters()].every((p) => p.device === "gpu" && !p.isDisposed)).toBe(true);
  }, 120_000);
});
