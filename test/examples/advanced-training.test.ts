import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor, randn } from "@dl/tensor";
import { afterAll, describe, expect, it } from "vitest";
import {
  CustomLayer,
  MatrixMultiplyBias,
  extractTensors,
  main,
  restoreTensors,
} from "../../examples/advanced-training/src/main.js";
import { runBundledExample } from "./run-example.js";

/** The tutorial's section 8 toolbox, in the smoke budget (6 + 3 + 2x4 epochs of a small MLP). */
describe("examples/advanced-training", () => {
  const dir = mkdtempSync(join(tmpdir(), "advanced-training-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every section; training learns; resuming from a checkpoint is bit-identical", async () => {
    const checkpointDir = join(dir, "ckpt");
    const lines: string[] = [];
    const r = await main({ smoke: true, checkpointDir, print: (l) => lines.push(l) });

    // 2. hooks fired once each during the forward (and the backward), and not after remove().
    expect(r.hookShapes).toEqual([
      "Inside CustomLayer - Output shape: [8, 32]",
      "Inside Dropout - Output shape: [8, 32]",
      "Inside MatrixMultiplyBias - Output shape: [8, 3]",
      "Inside MatrixMultiplyBias - Grad output shape: [8, 3]",
    ]);

    // 3. PyTorch's schedules: StepLR halves every 3 epochs; cosine follows 0.005 (1 + cos(pi t / 10)).
    expect(r.schedules.step.slice(0, 7)).toEqual([0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]);
    r.schedules.cosine.forEach((lr, t) => expect(lr).toBeCloseTo(0.005 * (1 + Math.cos((Math.PI * t) / 10)), 12));

    // 4. accumulation: 512 samples / 16 per micro-batch / 4 = 8 optimizer steps per epoch; learning.
    expect(r.training.every((s) => s.steps === 8)).toBe(true);
    expect(r.training.at(-1)!.loss).toBeLessThan(r.training[0]!.loss * 0.5);
    expect(r.finalAccuracy).toBeGreaterThan(r.initialAccuracy + 0.3);
    expect(r.finalAccuracy).toBeGreaterThan(0.7);
    // clipping: norms above 1 were seen (and clipped) early on
    expect(r.training[0]!.maxGradNorm).toBeGreaterThan(1);

    // 5. float16 autocast + GradScaler tracks float32 closely, with a growing scale.
    r.amp.fp16.forEach((s, i) => expect(Math.abs(s.loss - r.amp.fp32[i]!.loss)).toBeLessThan(0.05));
    expect(r.amp.fp16.at(-1)!.scale).toBeGreaterThan(4096);

    // 6. resume: identical losses, parameters and optimizer state; the three files exist.
    expect(r.resume.resumed).toEqual(r.resume.straight);
    expect(r.resume.straight).toHaveLength(2);
    expect(r.resume.parametersEqual).toBe(true);
    expect(r.resume.optimizerStateEqual).toBe(true);
    for (const f of r.resume.files) expect(existsSync(join(checkpointDir, f))).toBe(true);
    const json = JSON.parse(readFileSync(join(checkpointDir, "trainer.json"), "utf8"));
    expect(json.epoch).toBe(2);
    expect(json.optimizer.state["0"].exp_avg).toEqual({ $tensor: "state.0.exp_avg" });
    expect(json.scheduler.last_epoch).toBe(2);
    expect(json.scaler.scale).toBeGreaterThan(0);
    expect(lines).toContain("Losses identical: true, parameters identical: true, optimizer state identical: true");
  }, 60_000);

  it("custom modules have the tutorial's parameters and state-dict keys", () => {
    const layer = new CustomLayer(10, 5);
    expect(Object.fromEntries(Object.entries(layer.stateDict()).map(([k, v]) => [k, v.shape]))).toEqual({
      custom_weight: [5],
      "linear.weight": [5, 10],
      "linear.bias": [5],
    });
    expect(layer.call(randn(3, 10)).shape).toEqual([3, 5]);
    const mmb = new MatrixMultiplyBias(10, 5);
    expect(mmb.weight.shape).toEqual([10, 5]);
    expect(mmb.call(randn(4, 10)).shape).toEqual([4, 5]);
  });

  it("extractTensors / restoreTensors round-trip nested state with tensors and non-finite numbers", () => {
    const t = randn(2);
    const tensors: Record<string, Tensor> = {};
    const json = extractTensors({ state: { 0: { step: t, n: 3 } }, groups: [{ lr: 0.1, best: Infinity }] }, "", tensors);
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      state: { 0: { step: { $tensor: "state.0.step" }, n: 3 } },
      groups: [{ lr: 0.1, best: { $number: "Infinity" } }],
    });
    expect(tensors["state.0.step"]).toBe(t);
    const back = restoreTensors(JSON.parse(JSON.stringify(json)), tensors) as { state: { 0: { step: Tensor } }; groups: { best: number }[] };
    expect(back.state[0].step).toBe(t);
    expect(back.groups[0]!.best).toBe(Infinity);
  });

  it("the bundled program (what `pnpm start` runs) runs with --smoke", async () => {
    const out = await runBundledExample("advanced-training", ["--smoke", "--checkpoint-dir", join(dir, "bundled")]);
    expect(out).toContain("Inside CustomLayer - Output shape: [8, 32]");
    expect(out).toContain("Losses identical: true, parameters identical: true, optimizer state identical: true");
  }, 60_000);
});
