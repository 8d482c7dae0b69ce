import "../helpers/backends.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "@dl/transformers";
import { type Tensor, tensor } from "@dl/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { bertTokenizerFiles, gpt2TokenizerFiles } from "./tokenizer-files.js";

const rows = (t: Tensor | undefined) => {
  if (!t) throw new Error("missing tensor");
  const [B, T] = t.shape as [number, number];
  const v = Array.from(t.dataSync(), Number);
  return Array.from({ length: B }, (_, b) => v.slice(b * T, (b + 1) * T));
};

describe("GPT-2 byte-level BPE tokenizer", () => {
  let tok: PreTrainedTokenizer;
  beforeAll(async () => {
    tok = await AutoTokenizer.fromPretrained(gpt2TokenizerFiles() as never);
  });

  it("gives GPT-2's ids", () => {
    expect(tok.encode("Hello, my dog is cute")).toEqual([15496, 11, 616, 3290, 318, 13779]);
    expect(tok.encode("<|endoftext|>")).toEqual([50256]);
    expect(tok.eosTokenId).toBe(50256);
    expect(tok.length).toBe(50257);
    expect(tok.tokenize(" dog")).toEqual(["Ġdog"]);
    expect(tok.decode([15496, 11, 616, 3290, 318, 13779])).toBe("Hello, my dog is cute");
  });

  it("has no pad token until one is set; then pads left for generation", () => {
    expect(() => tok.call(["a b c", "d"], { padding: true })).toThrow(/no padding token: set tokenizer\.padToken/);
    tok.padToken = tok.eosToken;
    tok.paddingSide = "left";
    const enc = tok.call(["Hello, my dog is cute", "Hello"], { padding: true, returnTensors: "dl" });
    expect(enc.inputIds.dtype).toBe("int64");
    expect(rows(enc.inputIds)).toEqual([
      [15496, 11, 616, 3290, 318, 13779],
      [50256, 50256, 50256, 50256, 50256, 15496],
    ]);
    expect(rows(enc.attentionMask)).toEqual([
      [1, 1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0, 1],
    ]);
    expect(enc.tokenTypeIds).toBeUndefined();
    expect(tok.batchDecode(enc.inputIds, { skipSpecialTokens: true })).toEqual(["Hello, my dog is cute", "Hello"]);
    tok.paddingSide = "right";
  });

  it("truncates to maxLength and saves tokenizer files that load back", async () => {
    const enc = tok.call("Hello, my dog is cute", { truncation: true, maxLength: 3 });
    expect(enc.inputIds).toEqual([15496, 11, 616]);
    const dir = mkdtempSync(join(tmpdir(), "dl-tok-"));
    try {
      await tok.savePretrained(dir);
      const back = await AutoTokenizer.fromPretrained(dir);
      expect(back.encode("Hello, my dog is cute")).toEqual([15496, 11, 616, 3290, 318, 13779]);
      expect(back.padToken).toBe("<|endoftext|>");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("BERT WordPiece tokenizer (bert-base-uncased's vocabulary)", () => {
  let tok: PreTrainedTokenizer;
  beforeAll(async () => {
    tok = await AutoTokenizer.fromPretrained(bertTokenizerFiles() as never);
  });

  it("lowercases, splits word pieces and adds [CLS] / [SEP]", () => {
    expect(tok.encode("Hello world!")).toEqual([101, 7592, 2088, 999, 102]);
    expect(tok.tokenize("unaffable cats")).toEqual(["una", "##ffa", "##ble", "cats"]);
    expect([tok.clsTokenId, tok.sepTokenId, tok.padTokenId, tok.maskTokenId, tok.unkTokenId]).toEqual([101, 102, 0, 103, 100]);
    expect(tok.decode(tok.encode("Hello world!"), { skipSpecialTokens: true })).toBe("hello world!");
  });

  it("sentence pairs get token type ids; padding and longest_first truncation as the fast tokenizer", () => {
    const enc = tok.call(["the cat sat", "a dog"], { textPair: ["on the mat", "ran"], padding: true, returnTensors: "dl" });
    expect(rows(enc.inputIds)).toEqual([
      [101, 1996, 4937, 2938, 102, 2006, 1996, 13523, 102],
      [101, 1037, 3899, 102, 2743, 102, 0, 0, 0],
    ]);
    expect(rows(enc.tokenTypeIds)).toEqual([
      [0, 0, 0, 0, 0, 1, 1, 1, 1],
      [0, 0, 0, 0, 1, 1, 0, 0, 0],
    ]);
    expect(rows(enc.attentionMask)[1]).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    // 8 tokens + 3 specials into 8: longest_first keeps 3 + 2... see tokenizers' truncate_encodings.
    const t = tok.call("one two three four five", { textPair: "six seven eight", truncation: true, maxLength: 8 });
    expect(t.inputIds).toEqual([101, 2028, 2048, 2093, 102, 2416, 2698, 102]);
    const pad = tok.call(["hi"], { padding: "max_length", maxLength: 6, returnTensors: "dl" });
    expect(rows(pad.inputIds)).toEqual([[101, 7632, 102, 0, 0, 0]]);
    expect(() => tok.call(["a", "a b c"], { returnTensors: "dl" })).toThrow(/different lengths.*padding: true/);
  });

  it("feeds a BERT model directly", async () => {
    const { BertConfig, BertForSequenceClassification } = await import("@dl/transformers");
    const m = new BertForSequenceClassification(new BertConfig({ hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16 })).eval();
    const enc = tok.call(["a short one", "and a somewhat longer sentence"], { padding: true, returnTensors: "dl" });
    const out = m.call(enc.inputIds, { attentionMask: enc.attentionMask, tokenTypeIds: enc.tokenTypeIds, labels: tensor([0, 1], { dtype: "int64" }) });
    expect([...out.logits.shape]).toEqual([2, 2]);
    expect(Number.isFinite(out.loss?.item())).toBe(true);
  });
});
