import { describe, expect, it } from "vitest";
import { LABELS, loadSentences, main, untag } from "../../examples/bert-classify/src/main.js";

/** BertForSequenceClassification with the §10 tokenizer pipeline, in the smoke budget (3 epochs of 600 sentences). */
describe("examples/bert-classify", () => {
  it("loads balanced sentences split by document", () => {
    expect(untag("The/at jury/nn said/vbd ``/`` yes/rb ''/'' ./.")).toBe("The jury said yes .");
    const { train, test } = loadSentences(50, 20);
    expect(train).toHaveLength(100);
    expect(test).toHaveLength(40);
    for (let l = 0; l < LABELS.length; l++) expect(train.filter((e) => e.label === l)).toHaveLength(50);
    const trainText = new Set(train.map((e) => e.text));
    expect(test.filter((e) => trainText.has(e.text)).length).toBeLessThan(2);
  });

  it("fine-tunes above chance, and the saved model reloads with the same accuracy", async () => {
    const lines: string[] = [];
    const r = await main({ smoke: true, print: (l) => lines.push(l) });
    expect(r.finalAccuracy).toBeGreaterThan(0.6);
    expect(r.reloadedAccuracy).toBe(r.finalAccuracy);
    expect(r.losses.at(-1)).toBeLessThan(r.losses[0] as number);
    expect(lines.join("\n")).toMatch(/-> \[CLS\] .* \[SEP\]/);
  }, 300_000);
});
