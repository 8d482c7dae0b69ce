import { manualSeed, randn, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import {
  EncoderClassifier,
  MultiHeadSelfAttention,
  PAD,
  PositionalEncoding,
  compareWithBuiltins,
  main,
} from "../../examples/transformer-blocks/src/main.js";
import { runBundledExample } from "./run-example.js";

/**
 * The tutorial's section 9 classes (examples/transformer-blocks) against dl's built-in attention
 * layers, and the 2-layer encoder classifier on Brown corpus genres in the smoke budget
 * (1,600 training sentences, 3 epochs).
 */
describe("examples/transformer-blocks", () => {
  it("the tutorial's classes compute what F.scaledDotProductAttention, nn.MultiheadAttention and nn.TransformerEncoderLayer compute", () => {
    const c = compareWithBuiltins(() => {});
    expect(c.selfAttention).toBeLessThan(1e-5);
    expect(c.multiHead.output).toBeLessThan(1e-5);
    expect(c.multiHead.weights).toBeLessThan(1e-5);
    expect(c.encoderLayer).toBeLessThan(1e-4);
    expect(c.positionalEncoding).toBeLessThan(1e-5);
  });

  it("shapes as the tutorial prints them; padding never changes a sentence's logits", () => {
    manualSeed(2);
    const x = randn([2, 10, 32]);
    const [out, weights] = new MultiHeadSelfAttention(32, 8).call(x);
    expect(out.shape).toEqual([2, 10, 32]);
    expect(weights.shape).toEqual([2, 8, 10, 10]);
    expect(new PositionalEncoding(32).call(x).shape).toEqual([2, 10, 32]);
    const model = new EncoderClassifier(50, 16, 4, 32, 2, 4).eval();
    const alone = model.call(tensor([[5, 6, 7]], { dtype: "int64" }));
    const padded = model.call(tensor([[5, 6, 7, PAD, PAD]], { dtype: "int64" }));
    const a = Array.from(alone.dataSync());
    Array.from(padded.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(a[i] as number, 5));
  });

  it("learns: the loss falls and held-out accuracy is clearly above chance", () => {
    const lines: string[] = [];
    const r = main({ smoke: true, print: (l) => lines.push(l) });
    expect(r.trainSize).toBe(1600);
    expect(r.testSize).toBe(400);
    expect(r.losses).toHaveLength(3);
    expect(r.losses.at(-1) as number).toBeLessThan((r.losses[0] as number) - 0.1);
    // 400 test sentences: 25% +- 2.2% (1 s.d.) for a model that learned nothing.
    expect(r.testAccuracy).toBeGreaterThan(0.33);
    expect(lines.some((l) => /^test accuracy: \d+\.\d\d% \(chance: 25\.00%\)$/.test(l))).toBe(true);
  }, 300_000);

  it("the bundled program (what `pnpm start` runs) runs", async () => {
    const out = await runBundledExample("transformer-blocks", ["--per-genre", "60", "--epochs", "1"], 120_000);
    expect(out).toMatch(/MultiHeadSelfAttention \(causal\) vs nn\.MultiheadAttention: +output \d\.\de-\d+, weights \d\.\de-\d+/);
    expect(out).toContain("(self_attn): MultiheadAttention(");
    expect(out).toMatch(/Epoch \[1\/1\], Loss: \d\.\d{4}, Test accuracy: \d+\.\d\d%/);
  }, 180_000);
});
