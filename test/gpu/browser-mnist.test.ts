import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mnistDigitsDir } from "../../examples/mnist-cnn/src/main.js";
import type { MnistRunOptions } from "./browser-mnist-entry.js";
import { browserTestsWanted, bundleForBrowser, withChromiumPage } from "./chromium.js";

/**
 * The MNIST example's training in a browser bundle: examples/mnist-cnn/src/train.ts (no Node
 * imports) bundled with esbuild and run in Debian's Chromium, where the "gpu" device is gpu.js on
 * WebGL2 (SwiftShader). Real digits from the `mnist` package are read here, as main.ts reads them,
 * and handed to the page; the page trains the example's SimpleCNN on "gpu" and then on "cpu" from
 * the same seed. Software GL takes 1-2 s per conv step of 32 images: a short run.
 */
const PER_DIGIT = 24; // 240 digits
const STEPS = 6;
const BATCH = 32;

/** The first PER_DIGIT images of every digit, interleaved (0, 1, ..., 9, 0, 1, ...): raw pixels in [0, 1]. */
function readDigits(): { pixels: number[]; labels: number[] } {
  const byDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(readFileSync(join(mnistDigitsDir(), `${d}.json`), "utf8")) as { data: number[] };
    byDigit.push(data);
  }
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < PER_DIGIT; i++) {
    for (let d = 0; d < 10; d++) {
      pixels.push(...(byDigit[d] as number[]).slice(i * 784, (i + 1) * 784));
      labels.push(d);
    }
  }
  return { pixels, labels };
}

interface Run {
  losses: number[];
  accuracies: number[];
  memory: { storages: number; bytes: number }[];
  seconds: number;
}

describe.runIf(browserTestsWanted)("the MNIST example trains in a browser bundle, on gpu and cpu [gpu]", () => {
  it(`${STEPS} steps of ${BATCH} real digits on WebGL2: losses track the CPU within rel 1e-3, fall, and memory stays flat`, async () => {
    const { pixels, labels } = readDigits();
    expect(new Set(labels).size).toBe(10);
    const code = await bundleForBrowser(join(import.meta.dirname, "browser-mnist-entry.ts"));
    const report = await withChromiumPage(code, async (page, errors) => {
      const args: MnistRunOptions = { pixels, labels, steps: STEPS, batchSize: BATCH };
      const r = (await page.evaluate(
        (a: MnistRunOptions) => (globalThis as unknown as { __dlMnist: (o: MnistRunOptions) => Promise<unknown> }).__dlMnist(a),
        args,
      )) as { mode: string; kernelClass: string; kernelClasses: string[]; compiledKernels: number; weightDevice: string; gpu: Run; cpu: Run };
      expect(errors).toEqual([]);
      return r;
    });
    const { gpu, cpu } = report;
    console.log(
      `[browser-mnist] ${report.compiledKernels} kernels on ${report.kernelClasses}; gpu ${gpu.seconds.toFixed(1)} s, cpu ${cpu.seconds.toFixed(1)} s; ` +
        `losses gpu ${gpu.losses.map((l) => l.toFixed(5))} cpu ${cpu.losses.map((l) => l.toFixed(5))}`,
    );
    // gpu.js ran every kernel on WebGL2, never a CPU/WebAssembly fallback.
    expect(report.mode).toBe("webgl2");
    expect(report.kernelClass).toBe("WebGL2Kernel");
    expect(report.kernelClasses).toEqual(["WebGL2Kernel"]);
    expect(report.weightDevice).toBe("gpu");
    // Step by step, the gpu run tracks the cpu run (same seed, same batches).
    expect(gpu.losses).toHaveLength(STEPS);
    expect(cpu.losses).toHaveLength(STEPS);
    for (let i = 0; i < STEPS; i++) {
      const g = gpu.losses[i] as number;
      const c = cpu.losses[i] as number;
      expect(Number.isFinite(g)).toBe(true);
      expect(Math.abs(g - c) / Math.max(Math.abs(c), 1e-6)).toBeLessThan(1e-3);
    }
    // It learns: the last two steps' mean loss is well below the first step's (chance is ln 10).
    const last = ((gpu.losses[STEPS - 1] as number) + (gpu.losses[STEPS - 2] as number)) / 2;
    expect(gpu.losses[0] as number).toBeGreaterThan(2);
    expect(last).toBeLessThan((gpu.losses[0] as number) * 0.9);
    // Memory: the same live storages after two later steps (parameters, grads, Adam's state, data).
    expect(gpu.memory[STEPS - 1]).toEqual(gpu.memory[STEPS - 3]);
    expect(cpu.memory[STEPS - 1]).toEqual(cpu.memory[STEPS - 3]);
  }, 180_000);
});
