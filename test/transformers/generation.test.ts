import "@dl/autograd";
import { GPT2LMHeadModel, generate } from "@dl/transformers";
import { getDefaultDevice, manualSeed, tensor } from "@dl/tensor";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { fromSpec } from "../helpers/fixtures.js";
import { expected, model } from "./helpers.js";

// On the gpu backend (llvmpipe in CI) every new shape compiles kernels: give model tests time.
vi.setConfig({ testTimeout: 240_000 });

const gen = expected.gpt2.generate;
const rows = (t: { dataSync(): ArrayLike<number | bigint> }, B: number) => {
  const v = Array.from(t.dataSync(), Number);
  const L = v.length / B;
  return Array.from({ length: B }, (_, b) => v.slice(b * L, (b + 1) * L));
};
const specRows = (s: { shape: number[]; data: number[] }) => rows({ dataSync: () => s.data }, s.shape[0] as number);

describeEachBackend("generate vs the PyTorch reference", () => {
  const load = () => GPT2LMHeadModel.fromPretrained(model("gpt2"), { device: getDefaultDevice(), warn: () => {} });

  it("greedy, with and without the KV cache, gives the reference tokens", async () => {
    const m = await load();
    const opts = { maxNewTokens: 8, eosTokenId: null };
    const cached = await m.generate(fromSpec(gen.prompt), opts);
    const uncached = await m.generate(fromSpec(gen.prompt), { ...opts, useCache: false });
    expect(rows(cached, 1)).toEqual(specRows(gen.greedy));
    expect(rows(uncached, 1)).toEqual(specRows(gen.greedy));
    expect(cached.dtype).toBe("int64");
  });

  it("a left-padded batch continues each row as the unpadded prompt (position ids from the mask)", async () => {
    const m = await load();
    const opts = { maxNewTokens: 8, attentionMask: fromSpec(gen.batch_mask), eosTokenId: null };
    const out = await m.generate(fromSpec(gen.batch_prompt), opts);
    expect(rows(out, 2)).toEqual(specRows(gen.batch_greedy));
    const uncached = await m.generate(fromSpec(gen.batch_prompt), { ...opts, useCache: false });
    expect(rows(uncached, 2)).toEqual(specRows(gen.batch_greedy));
  });

  it("stops a row at EOS and pads it, and stops when every row is done", async () => {
    const m = await load();
    const steps: number[][] = [];
    let ended = false;
    const out = await m.generate(fromSpec(gen.batch_prompt), {
      maxNewTokens: 8,
      attentionMask: fromSpec(gen.batch_mask),
      eosTokenId: gen.eos,
      padTokenId: 0,
      streamer: { put: (t) => steps.push(t), end: () => void (ended = true) },
    });
    expect(rows(out, 2)).toEqual(specRows(gen.batch_greedy_eos));
    expect(steps.length).toBe((out.shape[1] as number) - 6);
    expect(steps.map((s) => s[1])).toEqual(specRows(gen.batch_greedy_eos)[1]?.slice(6));
    expect(ended).toBe(true);
  });
});

it("sampling is seeded, and topK 1 is greedy", async () => {
  await import("../helpers/backends.js");
  const m = await GPT2LMHeadModel.fromPretrained(model("gpt2"), { warn: () => {} });
  const prompt = fromSpec(gen.prompt);
  const a = await m.generate(prompt, { maxNewTokens: 10, doSample: true, seed: 7, topK: 0, temperature: 1.5, eosTokenId: null });
  const b = await m.generate(prompt, { maxNewTokens: 10, doSample: true, seed: 7, topK: 0, temperature: 1.5, eosTokenId: null });
  const c = await m.generate(prompt, { maxNewTokens: 10, doSample: true, seed: 8, topK: 0, temperature: 1.5, eosTokenId: null });
  expect(rows(a, 1)).toEqual(rows(b, 1));
  expect(rows(a, 1)).not.toEqual(rows(c, 1));
  manualSeed(3);
  const k1 = await generate(m, prompt, { maxNewTokens: 8, doSample: true, topK: 1, eosTokenId: null });
  expect(rows(k1, 1)).toEqual(specRows(gen.greedy));
  // topP tiny keeps only the most likely token: greedy again.
  const p = await m.generate(prompt, { maxNewTokens: 8, doSample: true, topK: 0, topP: 1e-6, seed: 1, eosTokenId: null });
  expect(rows(p, 1)).toEqual(specRows(gen.greedy));
  // A huge repetition penalty never repeats a token of the sequence.
  const r = await m.generate(tensor([[5, 17]], { dtype: "int64" }), { maxNewTokens: 12, repetitionPenalty: 1e9, eosTokenId: null });
  const seq = rows(r, 1)[0] as number[];
  expect(new Set(seq).size).toBe(seq.length);
  await expect(m.generate(prompt, { temperature: 0, doSample: true })).rejects.toThrow(/temperature must be > 0/);
});
