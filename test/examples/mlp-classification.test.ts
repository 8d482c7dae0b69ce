import { sum } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { main } from "../../examples/mlp-classification/src/main.js";
import { runBundledExample } from "./run-example.js";

/**
 * The tutorial's section 5 complete example (CustomDataset, DataLoader, SimpleMLP,
 * BCEWithLogitsLoss, Adam) in its smoke budget: 10 epochs over 1,000 samples.
 */
describe("examples/mlp-classification", () => {
  it("learns the hidden linear rule: mean loss falls, training accuracy climbs above 95%", () => {
    const lines: string[] = [];
    const r = main({ smoke: true, print: (l) => lines.push(l) });
    expect(r.epochs).toHaveLength(10);
    const first = r.epochs[0]!;
    const last = r.epochs.at(-1)!;
    expect(last.meanLoss).toBeLessThan(first.meanLoss * 0.5);
    expect(last.meanLoss).toBeLessThan(0.15);
    expect(last.accuracy).toBeGreaterThan(0.95);
    expect(last.accuracy).toBeGreaterThan(r.initialAccuracy);
    // The dataset really is balanced enough that accuracy means something.
    const positives = (sum(r.dataset.y).item() as number) / r.dataset.length;
    expect(positives).toBeGreaterThan(0.2);
    expect(positives).toBeLessThan(0.8);
    // The tutorial's printout, and an inference whose label agrees with its probability.
    expect(lines).toContain("Using device: cpu");
    expect(lines.filter((l) => /^Epoch \[\d+\/10\], Loss: \d+\.\d{4}, Accuracy: \d\.\d{4}$/.test(l))).toHaveLength(10);
    expect(lines.join("\n")).toMatch(/Training Complete!\n\nTest input: \[\[( ?-?\d\.\d{4} ?){5}\]\]\nRaw model output \(logit\): -?\d+\.\d{4}/);
    expect(r.prediction.label).toBe(r.prediction.probability > 0.5 ? 1 : 0);
    expect(r.prediction.probability).toBeCloseTo(1 / (1 + Math.exp(-r.prediction.logit)), 5);
  }, 60_000);

  it("the bundled program (what `pnpm start` runs) runs with --smoke", async () => {
    const out = await runBundledExample("mlp-classification", ["--smoke"]);
    expect(out).toContain("Starting Training...");
    expect(out).toMatch(/Epoch \[10\/10\], Loss: \d+\.\d{4}, Accuracy: 0\.9\d{3}/);
    expect(out).toMatch(/Predicted label: [01]\.0\n$/);
  }, 60_000);
});
