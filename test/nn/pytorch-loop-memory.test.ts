import "@dl/autograd";
import { noGrad } from "@dl/autograd";
import { Conv2d, CrossEntropyLoss, LSTM, Linear, MaxPool2d, Module, ReLU, Sequential } from "@dl/nn";
import { Adam } from "@dl/optim";
import { type Tensor, getBackend, manualSeed, randint, randn } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { liveArrayBufferBytes, settle } from "../helpers/memory.js";

/**
 * The tutorial's loops exactly as a PyTorch user writes them: forward, loss, zeroGrad, backward,
 * step, loss.item(), with no tidy() and no dispose(). Memory must stay flat anyway:
 * - inside the synchronous loop, what is really alive (ArrayBuffer bytes after a forced full
 *   collection, with no event-loop turn) at the last step is within 1.5x of step 10 (CPU; on the
 *   gpu, GL memory inside a synchronous loop is bounded by the texture budget instead, which
 *   test/gpu/texture-budget.test.ts checks with a small budget);
 * - after the loop, once the backend has observed the collections (settle()), memory() is within
 *   1.5x of what it was after step 10.
 * The models are the MLP, the MNIST CNN and the LSTM classifier of §5–§7 at a reduced size.
 */
const STEPS: Record<string, number> = { cpu: 1000, gpu: 60 };

class SmallCNN extends Module {
  conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  relu = new ReLU();
  pool = new MaxPool2d(2, { stride: 2 });
  conv2 = new Conv2d(4, 8, 3, { padding: 1 });
  fc = new Linear(8 * 3 * 3, 10);
  forward(x: Tensor): Tensor {
    x = this.pool.call(this.relu.call(this.conv1.call(x)));
    x = this.pool.call(this.relu.call(this.conv2.call(x)));
    return this.fc.call(x.view(x.size(0), -1));
  }
}

class LSTMClassifier extends Module {
  lstm = new LSTM(4, 8, { batchFirst: true });
  fc = new Linear(8, 3);
  forward(x: Tensor): Tensor {
    const [out] = this.lstm.call(x) as [Tensor, unknown];
    return this.fc.call(out.select(1, -1));
  }
}

interface Workload {
  model: () => Module;
  input: () => Tensor;
  classes: number;
}

const workloads: Record<string, Workload> = {
  MLP: { model: () => new Sequential(new Linear(16, 32), new ReLU(), new Linear(32, 4)), input: () => randn(8, 16), classes: 4 },
  "MNIST CNN": { model: () => new SmallCNN(), input: () => randn(4, 1, 12, 12), classes: 10 },
  LSTM: { model: () => new LSTMClassifier(), input: () => randn(4, 5, 4), classes: 3 },
};

type Mode = "train" | "inference" | "inference under noGrad";

/** Runs `steps` steps synchronously; calls `at(step)` before the first step and after steps 10 and `steps`. */
function loop(w: Workload, mode: Mode, steps: number, at: (step: number) => void): number[] {
  manualSeed(0);
  const model = w.model();
  const criterion = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const losses: number[] = [];
  at(0);
  for (let step = 1; step <= steps; step++) {
    const inputs = w.input();
    const labels = randint(0, w.classes, [inputs.shape[0] as number]);
    if (mode === "train") {
      const outputs = model.call(inputs) as Tensor;
      const loss = criterion.call(outputs, labels);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item() as number);
    } else if (mode === "inference") {
      losses.push(criterion.call(model.call(inputs) as Tensor, labels).item() as number);
    } else {
      losses.push(noGrad(() => criterion.call(model.call(inputs) as Tensor, labels)).item() as number);
    }
    if (step === 10 || step === steps) at(step);
  }
  return losses;
}

const cases: [string, Mode][] = [
  ["MLP", "train"],
  ["MNIST CNN", "train"],
  ["LSTM", "train"],
  ["MLP", "inference"],
  ["MNIST CNN", "inference under noGrad"],
  ["LSTM", "inference under noGrad"],
];

describeEachBackend("the PyTorch-style loop keeps memory flat without tidy()", (device) => {
  const steps = STEPS[device] ?? 150;
  for (const [name, mode] of cases) {
    it(`${name}, ${mode}: ${steps} steps`, async () => {
      const w = workloads[name] as Workload;
      const backend = getBackend(device);
      const live: number[] = [];
      loop(w, mode, steps, () => {
        // What the collector can see is really alive: measured in the middle of the loop.
        // (The CPU backend's pool of freed arrays for reuse is bounded and not live.)
        const info = backend.memory() as { textureBytes?: number; pooledBytes?: number };
        if (device === "cpu") live.push(liveArrayBufferBytes() - (info.pooledBytes ?? 0));
      });
      if (device === "cpu") {
        expect(live).toHaveLength(3);
        const [start, early, late] = live as [number, number, number];
        expect(late - start).toBeLessThanOrEqual(1.5 * Math.max(early - start, 0) + 256 * 1024);
      }

      // After the loop: memory() once the backend has seen what was collected.
      await settle();
      const base = backend.memory();
      let after10 = base;
      loop(w, mode, 10, () => {});
      await settle();
      after10 = backend.memory();
      loop(w, mode, steps, () => {});
      await settle();
      const afterAll = backend.memory();
      expect(afterAll.bytes - base.bytes).toBeLessThanOrEqual(1.5 * Math.max(after10.bytes - base.bytes, 0) + 64 * 1024);
      expect(afterAll.storages - base.storages).toBeLessThanOrEqual(1.5 * Math.max(after10.storages - base.storages, 0) + 8);
    }, 300_000);
  }
});
