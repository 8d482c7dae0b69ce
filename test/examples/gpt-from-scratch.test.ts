import { describe, expect, it } from "vitest";
import { decode, encode, main, unigramLoss, untag } from "../../examples/gpt-from-scratch/src/main.js";

/** A small GPT2LMHeadModel trained from scratch on the Brown corpus, in the smoke budget (60 steps). */
describe("examples/gpt-from-scratch", () => {
  it("text helpers: untagging, the alphabet, the unigram baseline", () => {
    expect(untag("The/at jury/nn said/vbd ``/`` yes/rb ''/'' ./.")).toBe("the jury said yes .");
    expect(decode(encode("the cat, 1961!"))).toBe("the cat, ????!");
    // A uniform unigram over 4 symbols scores log 4 on text it has seen.
    expect(unigramLoss([0, 1, 2, 3], [0, 1, 2, 3], 4)).toBeCloseTo(Math.log(4), 12);
  });

  it("validation loss falls below the unigram baseline; cached = uncached; save -> load is identical", async () => {
    const lines: string[] = [];
    const r = await main({ smoke: true, print: (l) => lines.push(l) });
    const last = r.history.at(-1);
    expect(last?.valid).toBeLessThan(r.unigram - 0.15);
    expect(r.history[0]?.valid).toBeGreaterThan(last?.valid ?? 0);
    expect(r.cachedEqualsUncached).toBe(true);
    expect(r.reloadIdentical).toBe(true);
    expect(r.samples.every((s) => s.startsWith("the ") && s.length === 44)).toBe(true);
    expect(lines.join("\n")).toMatch(/unigram baseline \(validation\): 2\.\d+ nats\/char/);
  }, 120_000);
});
