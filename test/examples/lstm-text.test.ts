import { manualSeed, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import {
  GENRES,
  LSTMClassifier,
  PAD,
  UNK,
  Vocab,
  collate,
  loadBrown,
  main,
  makeSplit,
  tokenize,
} from "../../examples/lstm-text/src/main.js";
import { runBundledExample } from "./run-example.js";

/**
 * The tutorial's section 7 LSTMClassifier on the Brown corpus (4 genres, chance 25%), in the smoke
 * budget: 2,400 training sentences, 3 epochs.
 */
describe("examples/lstm-text", () => {
  it("tokenizes tagged Brown sentences into lowercased words, dropping punctuation", () => {
    expect(tokenize("\tThe/at Fulton/np-tl County/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ./.")).toEqual([
      "the",
      "fulton",
      "county",
      "said",
      "no",
      "evidence",
    ]);
    const v = new Vocab([["a", "b", "a"], ["a", "c", "b"]], 2);
    expect(v.words).toEqual(["<pad>", "<unk>", "a", "b"]);
    expect(v.encode(["b", "a", "zzz"])).toEqual([3, 2, UNK]);
  });

  it("splits by document: balanced genres, no test sentence from a training document", () => {
    const docs = loadBrown();
    expect(docs.length).toBe(139);
    expect(new Set(docs.map((d) => d.genre))).toEqual(new Set(GENRES));
    const { train, test, vocab } = makeSplit(docs, 300, 40, 0);
    for (let g = 0; g < GENRES.length; g++) {
      expect(train.filter((e) => e.label === g)).toHaveLength(300);
      expect(test.filter((e) => e.label === g)).toHaveLength(75);
    }
    expect(train.every((e) => e.ids.length >= 3 && e.ids.length <= 40)).toBe(true);
    expect(vocab.size).toBeGreaterThan(500);
    const trainText = new Set(train.map((e) => e.words.join(" ")));
    expect(test.filter((e) => trainText.has(e.words.join(" "))).length).toBeLessThan(3); // only stock phrases may repeat
  });

  it("packs real lengths: a padded sentence classifies exactly as it does alone", () => {
    manualSeed(3);
    const model = new LSTMClassifier(50, 8, 6, 4, 2, 0.5).eval();
    const long = { words: [], ids: [5, 6, 7, 8, 9, 10, 11], label: 0 };
    const short = { words: [], ids: [12, 13, 14], label: 1 };
    const batch = collate([short, long]);
    expect(batch.text.shape).toEqual([2, 7]);
    expect(Array.from(batch.text.dataSync(), Number).slice(3, 7)).toEqual([PAD, PAD, PAD, PAD]);
    expect(Array.from(batch.lengths.dataSync(), Number)).toEqual([3, 7]);
    const both = model.call(batch.text, batch.lengths);
    const alone = model.call(tensor([short.ids], { dtype: "int64" }), tensor([3], { dtype: "int64" }));
    const a = Array.from(both.dataSync()).slice(0, 4);
    const b = Array.from(alone.dataSync());
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i] as number, 5));
  });

  it("learns: training loss falls and held-out accuracy is clearly above chance", () => {
    const lines: string[] = [];
    const r = main({ smoke: true, print: (l) => lines.push(l) });
    expect(r.trainSize).toBe(2400);
    expect(r.testSize).toBe(600);
    expect(r.majorityBaseline).toBe(0.25);
    expect(r.epochs).toHaveLength(3);
    expect(r.epochs.at(-1)!.loss).toBeLessThan(r.epochs[0]!.loss - 0.1);
    expect(r.epochs.at(-1)!.trainAccuracy).toBeGreaterThan(0.4);
    // 600 test sentences: 25% +- 1.8% (1 s.d.) for a model that learned nothing.
    expect(r.testAccuracy).toBeGreaterThan(0.35);
    expect(lines.some((l) => /^test accuracy: \d+\.\d\d% \(chance: 25\.00%\)$/.test(l))).toBe(true);
    expect(lines.filter((l) => /^ {4}true: \w+, predicted: \w+ \(news 0\.\d\d, /.test(l))).toHaveLength(4);
  }, 60_000);

  it("the bundled program (what `pnpm start` runs) runs", async () => {
    const out = await runBundledExample("lstm-text", ["--per-genre", "100", "--epochs", "1"]);
    expect(out).toContain("Brown corpus: 139 documents of genres news, government, hobbies, romance");
    expect(out).toContain("(embedding): Embedding(");
    expect(out).toMatch(/\(lstm\): LSTM\(64, 64, batch_first=True\)/);
    expect(out).toMatch(/Epoch \[1\/1\], Loss: \d\.\d{4}, Train accuracy: \d+\.\d\d%, Test accuracy: \d+\.\d\d%/);
  }, 60_000);
});
