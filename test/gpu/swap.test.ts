import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main as mlpMain } from "../../examples/mlp-classification/src/main.js";
import { main as cnnMain } from "../../examples/mnist-cnn/src/main.js";

/**
 * The swap test: the same training scripts run on the gpu.js backend by changing one option
 * (`device: "gpu"`, the examples' `--device gpu`), and their losses track the CPU run step by step
 * within float32 tolerance. Same seed, same data, same shuffles (random numbers are drawn on the
 * host whatever the device). Runs only in the GPU gate (DL_TEST_GPU=1 under `xvfb-run -a`).
 */
const enabled = process.env.DL_TEST_GPU === "1";

/** Largest relative difference |a - b| / max(|a|, |b|, 1e-6) over paired losses. */
function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  expect(b).toHaveLength(a.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    expect(Number.isFinite(y)).toBe(true);
    worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-6));
  }
  return worst;
}

describe.runIf(enabled)("the examples swap to the gpu backend [gpu]", () => {
  const dir = mkdtempSync(join(tmpdir(), "dl-swap-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("mlp-classification (tutorial section 5): 3 epochs, every batch loss within rel 1e-3 of the CPU run", () => {
    const quiet = { epochs: 3, print: () => {} };
    let t = performance.now();
    const cpu = mlpMain({ ...quiet, device: "cpu" });
    const cpuSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const gpu = mlpMain({ ...quiet, device: "gpu" });
    const gpuSeconds = (performance.now() - t) / 1000;
    expect(gpu.model.fc1.weight.device).toBe("gpu");
    const steps = (r: typeof cpu) => r.epochs.flatMap((e) => e.stepLosses);
    expect(steps(cpu)).toHaveLength(3 * 32);
    const stepDiff = maxRelDiff(steps(cpu), steps(gpu));
    const epochDiff = maxRelDiff(
      cpu.epochs.map((e) => e.meanLoss),
      gpu.epochs.map((e) => e.meanLoss),
    );
    console.log(
      `[swap] mlp: ${steps(cpu).length} steps, max rel diff per step ${stepDiff.toExponential(2)}, per epoch ${epochDiff.toExponential(2)}; ` +
        `cpu ${cpuSeconds.toFixed(1)} s, gpu ${gpuSeconds.toFixed(1)} s; accuracy cpu ${cpu.epochs.map((e) => e.accuracy)} gpu ${gpu.epochs.map((e) => e.accuracy)}`,
    );
    expect(stepDiff).toBeLessThan(1e-3);
    expect(epochDiff).toBeLessThan(1e-3);
    expect(gpu.prediction.logit).toBeCloseTo(cpu.prediction.logit, 3);
  }, 120_000);

  it("mnist-cnn (tutorial section 6): 10 steps of 32 digits, every step loss within rel 1e-3 of the CPU run", async () => {
    // Software GL (llvmpipe) takes about a second per conv step of 32 images: a short run.
    const quiet = { epochs: 1, batchSize: 32, trainLimit: 320, testLimit: 100, print: () => {} };
    let t = performance.now();
    const cpu = await cnnMain({ ...quiet, device: "cpu", checkpoint: join(dir, "cpu.safetensors") });
    const cpuSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const gpu = await cnnMain({ ...quiet, device: "gpu", checkpoint: join(dir, "gpu.safetensors") });
    const gpuSeconds = (performance.now() - t) / 1000;
    expect(gpu.model.conv1.weight.device).toBe("gpu");
    const steps = (r: typeof cpu) => r.epochs.flatMap((e) => e.stepLosses);
    expect(steps(cpu)).toHaveLength(10);
    const stepDiff = maxRelDiff(steps(cpu), steps(gpu));
    console.log(
      `[swap] mnist-cnn: ${steps(cpu).length} steps, max rel diff per step ${stepDiff.toExponential(2)}; ` +
        `cpu ${cpuSeconds.toFixed(1)} s, gpu ${gpuSeconds.toFixed(1)} s; test accuracy cpu ${cpu.testAccuracy} gpu ${gpu.testAccuracy}; ` +
        `losses cpu ${steps(cpu).map((l) => l.toFixed(5))} gpu ${steps(gpu).map((l) => l.toFixed(5))}`,
    );
    expect(stepDiff).toBeLessThan(1e-3);
    expect(gpu.reloadedTestAccuracy).toBe(gpu.testAccuracy);
  }, 180_000);
});
