import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMnist, main } from "../../examples/mnist-cnn/src/main.js";
import { runBundledExample } from "./run-example.js";

/**
 * The MNIST CNN (`pnpm demo`) in its smoke budget: one epoch over 1,280 real digits, tested on
 * 500 held-out ones. The full run (3 epochs over 8,000 digits, >= 97% test accuracy) is
 * documented in examples/mnist-cnn/README.md; it takes about a minute, too long for CI.
 */
describe("examples/mnist-cnn", () => {
  const dir = mkdtempSync(join(tmpdir(), "mnist-cnn-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads all 10,000 digits of the mnist package, normalized, with int64 labels 0..9", () => {
    const { images, labels } = loadMnist();
    expect(images.shape).toEqual([10000, 1, 28, 28]);
    expect(images.dtype).toBe("float32");
    expect(labels.shape).toEqual([10000]);
    expect(labels.dtype).toBe("int64");
    const counts = new Array(10).fill(0);
    for (const l of labels.dataSync()) counts[Number(l)]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const px = images.dataSync();
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of px) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeCloseTo(-0.1307 / 0.3081, 5);
    expect(hi).toBeCloseTo((1 - 0.1307) / 0.3081, 2);
  }, 30_000);

  it("learns in one short epoch (chance is 10%) and reloads its checkpoint to the identical accuracy", async () => {
    const checkpoint = join(dir, "smoke.safetensors");
    const lines: string[] = [];
    const r = await main({ smoke: true, checkpoint, print: (l) => lines.push(l) });
    expect(r.initialTestAccuracy).toBeLessThan(0.3);
    expect(r.epochs).toHaveLength(1);
    expect(r.testAccuracy).toBeGreaterThan(0.6);
    expect(r.testAccuracy).toBe(r.epochs[0]!.testAccuracy);
    expect(r.reloadedTestAccuracy).toBe(r.testAccuracy);
    expect(statSync(checkpoint).size).toBeGreaterThan(20490 * 4);
    expect(lines).toContain(`test accuracy: ${(100 * r.testAccuracy).toFixed(2)}%`);
    expect(lines.some((l) => /^reloaded model test accuracy: \d+\.\d\d% \(identical\)$/.test(l))).toBe(true);
  }, 60_000);

  it("training loss falls across epochs, and tidy() keeps memory flat (three short epochs)", async () => {
    const r = await main({ epochs: 3, trainLimit: 640, testLimit: 200, checkpoint: join(dir, "three.safetensors"), print: () => {} });
    expect(r.epochs[1]!.loss).toBeLessThan(r.epochs[0]!.loss * 0.8);
    expect(r.epochs[2]!.loss).toBeLessThan(r.epochs[1]!.loss);
    expect(r.epochs[2]!.trainAccuracy).toBeGreaterThan(r.epochs[0]!.trainAccuracy);
    // The same live storages after every epoch: no step leaves a tensor behind.
    expect(r.epochs[1]!.memory).toEqual(r.epochs[0]!.memory);
    expect(r.epochs[2]!.memory).toEqual(r.epochs[0]!.memory);
  }, 60_000);

  it("the bundled program (what `pnpm demo` runs) runs with --smoke and ends with the reloaded accuracy", async () => {
    const out = await runBundledExample("mnist-cnn", ["--smoke", "--checkpoint", join(dir, "bundled.safetensors")]);
    expect(out).toContain("MNIST: 10000 digits, 1280 for training, 500 held out for testing");
    expect(out).toMatch(/Epoch \[1\/1\], Loss: \d\.\d{4}, Train accuracy: \d+\.\d\d%, Test accuracy: \d+\.\d\d%/);
    const acc = /\ntest accuracy: (\d+\.\d\d)%\n/.exec(out)?.[1];
    expect(Number(acc)).toBeGreaterThan(60);
    expect(out).toContain(`reloaded model test accuracy: ${acc}% (identical)`);
  }, 60_000);
});
