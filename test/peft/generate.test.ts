import "@dl/autograd";
import { join } from "node:path";
import { Embedding, Linear, Sequential } from "@dl/nn";
import { PeftModel, PromptTuningConfig, getPeftModel } from "@dl/peft";
import { DLError, ShapeError, type Tensor, cat, getDefaultDevice, tensor } from "@dl/tensor";
import { type CausalLMOutput, GPT2LMHeadModel } from "@dl/transformers";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { fixtureDir } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

const fx = loadFixtures("peft_generate");
const TOL = { rtol: 2e-4, atol: 2e-5, dtype: false };
const N_NEW = fx.n_new as number;
const gpt2Dir = join(import.meta.dirname, "..", "fixtures", "transformers", "gpt2");
const load = () => GPT2LMHeadModel.fromPretrained(gpt2Dir, { device: getDefaultDevice(), warn: () => {} });
const loadPeft = async (kind: "prompt" | "prefix") => PeftModel.fromPretrained(await load(), fixtureDir(`gpt2-${kind}`));
const greedy = { maxNewTokens: N_NEW, eosTokenId: null };

const rows = (t: Tensor) => {
  const v = Array.from(t.dataSync(), Number);
  const [B, L] = t.shape as [number, number];
  return Array.from({ length: B }, (_, b) => v.slice(b * L, (b + 1) * L));
};
const specRows = (s: { shape: number[]; data: number[] }) => {
  const [B, L] = s.shape as [number, number];
  return Array.from({ length: B }, (_, b) => s.data.slice(b * L, (b + 1) * L));
};

/** Decoding without the cache: the full sequence (the PeftModel prepends the prompt / prefix) every step, argmax. */
function stepByStep(peft: PeftModel<GPT2LMHeadModel>, ids: Tensor, steps: number): number[][] {
  const seqs = rows(ids);
  for (let s = 0; s < steps; s++) {
    const logits = peft.call(tensor(seqs, { dtype: "int64" })).logits;
    const [B, T, V] = logits.shape as [number, number, number];
    const v = logits.dataSync();
    for (let b = 0; b < B; b++) {
      let best = 0;
      const off = (b * T + T - 1) * V;
      for (let i = 1; i < V; i++) if ((v[off + i] as number) > (v[off + best] as number)) best = i;
      (seqs[b] as number[]).push(best);
    }
  }
  return seqs;
}

/** Records the last position's logits of every forward that generate runs. */
type Spec = { dtype: "float32"; shape: number[]; data: number[] };
function recordLogits(peft: PeftModel<GPT2LMHeadModel>): { steps: Spec[]; remove: () => void } {
  // Copied out as numbers: generate runs each step in tidy(), which frees its tensors.
  const steps: Spec[] = [];
  const handle = peft.registerForwardHook((_m, _a, out) => {
    const l = (out as CausalLMOutput).logits;
    const [B, T, V] = l.shape as [number, number, number];
    steps.push({ dtype: "float32", shape: [B, V], data: Array.from(l.narrow(1, T - 1, 1).dataSync(), Number) });
  });
  return { steps, remove: () => handle.remove() };
}

describeEachBackend("generate through prompt- and prefix-tuned GPT-2 vs the PyTorch reference", () => {
  for (const kind of ["prompt", "prefix"] as const) {
    it(`${kind} tuning: greedy ids and the first steps' logits match PyTorch; cached = uncached = step by step`, async () => {
      const peft = await loadPeft(kind);
      const ids = fromSpec(fx.ids);
      const rec = recordLogits(peft);
      const out = await peft.generate(ids, greedy);
      rec.remove();
      expect(out.dtype).toBe("int64");
      expect(rows(out)).toEqual(specRows(fx[kind].greedy));
      expect(rec.steps.length).toBe(N_NEW);
      for (const [i, want] of (fx[kind].logits as never[]).entries()) expectClose(fromSpec(rec.steps[i] as Spec), want, TOL);
      expect(rows(await peft.generate(ids, { ...greedy, useCache: false }))).toEqual(specRows(fx[kind].greedy));
      expect(stepByStep(peft, ids, N_NEW)).toEqual(specRows(fx[kind].greedy));
      // the adapter changes the continuation, and with it disabled generate is the base model's
      const plain = await (await load()).generate(ids, greedy);
      expect(rows(plain)).not.toEqual(specRows(fx[kind].greedy));
      expect(rows(await peft.disableAdapter(() => peft.generate(ids, greedy)))).toEqual(rows(plain));
    });

    it(`${kind} tuning: a left-padded batch continues each row as it would alone`, async () => {
      const peft = await loadPeft(kind);
      const opts = { ...greedy, attentionMask: fromSpec(fx.batch_mask) };
      const want = specRows(fx[kind].batch_greedy);
      expect(rows(await peft.generate(fromSpec(fx.batch_ids), opts))).toEqual(want);
      expect(rows(await peft.generate(fromSpec(fx.batch_ids), { ...opts, useCache: false }))).toEqual(want);
      const alone = await peft.generate(fromSpec(fx.batch_ids).narrow(0, 0, 1).narrow(1, 2, 4), greedy);
      expect(rows(alone)[0]).toEqual(want[0]?.slice(2));
      expect(stepByStep(peft, fromSpec(fx.batch_ids).narrow(0, 1, 1), N_NEW)[0]).toEqual(want[1]);
    });
  }

  it("the forward continues a cache it returned: positions and mask shifted by the virtual tokens", async () => {
    for (const kind of ["prompt", "prefix"] as const) {
      const peft = await loadPeft(kind);
      const ids = fromSpec(fx.ids);
      const first = peft.call(ids, { useCache: true });
      const greedyIds = specRows(fx[kind].greedy);
      const next = tensor(
        greedyIds.map((r) => [r[5] as number]),
        { dtype: "int64" },
      );
      const mask = tensor(
        greedyIds.map(() => [1, 1, 1, 1, 1, 1]),
        { dtype: "int64" },
      );
      const pos = tensor([[5], [5]], { dtype: "int64" });
      const second = peft.call(next, { pastKeyValues: first.pastKeyValues, attentionMask: mask, positionIds: pos, useCache: true });
      const full = peft.call(cat([ids, next], 1)).logits;
      expectClose(second.logits.reshape(2, 48), fx[kind].logits[1], TOL);
      expectClose(full.narrow(1, (full.shape[1] as number) - 1, 1).reshape(2, 48), fx[kind].logits[1], TOL);
      // without positions or a mask, the defaults (past length ...) give the same numbers
      expectClose(peft.call(next, { pastKeyValues: first.pastKeyValues }).logits.reshape(2, 48), fx[kind].logits[1], TOL);
    }
  });

  it("sampling through a prompt-tuned model is seeded, and topK 1 is greedy", async () => {
    const peft = await loadPeft("prompt");
    const ids = fromSpec(fx.ids);
    const a = await peft.generate(ids, { maxNewTokens: 4, doSample: true, seed: 3, eosTokenId: null });
    const b = await peft.generate(ids, { maxNewTokens: 4, doSample: true, seed: 3, eosTokenId: null });
    expect(rows(a)).toEqual(rows(b));
    const k1 = await peft.generate(ids, { maxNewTokens: N_NEW, doSample: true, topK: 1, seed: 1, eosTokenId: null });
    expect(rows(k1)).toEqual(specRows(fx.prompt.greedy));
  });
});

it("beam search runs through the same seam: cached = uncached, a left-padded row = the row alone", async () => {
  for (const kind of ["prompt", "prefix"] as const) {
    const peft = await loadPeft(kind);
    const opts = { maxNewTokens: 4, numBeams: 3, eosTokenId: null, attentionMask: fromSpec(fx.batch_mask) };
    const cached = await peft.generate(fromSpec(fx.batch_ids), opts);
    expect(rows(await peft.generate(fromSpec(fx.batch_ids), { ...opts, useCache: false }))).toEqual(rows(cached));
    const alone = await peft.generate(fromSpec(fx.batch_ids).narrow(0, 0, 1).narrow(1, 2, 4), { ...opts, attentionMask: null });
    expect(rows(alone)[0]).toEqual(rows(cached)[0]?.slice(2));
    const dict = await peft.generate(fromSpec(fx.batch_ids), { ...opts, returnDictInGenerate: true });
    expect(rows(dict.sequences)).toEqual(rows(cached));
    // the adapter is in the beams: without it the base model's beams differ
    const plain = await peft.disableAdapter(() => peft.generate(fromSpec(fx.batch_ids), opts));
    expect(rows(plain)).not.toEqual(rows(cached));
  }
});

it("LoRA generates through the base model's generate, with its layers wrapped in place", async () => {
  const peft = await PeftModel.fromPretrained(await load(), fixtureDir("gpt2-lora"));
  const ids = fromSpec(fx.ids);
  const out = await peft.generate(ids, greedy);
  expect(rows(out)).toEqual(rows(await peft.getBaseModel().generate(ids, greedy)));
  expect(rows(out)).not.toEqual(rows(await (await load()).generate(ids, greedy)));
});

it("bad input: no generate on the base model, a bad mask, a cache too short for the prefix", async () => {
  const seq = getPeftModel(new Sequential(new Embedding(11, 6), new Linear(6, 4)), new PromptTuningConfig({ numVirtualTokens: 2 }));
  const ids = tensor([[1, 2]], { dtype: "int64" });
  await expect(seq.generate(ids)).rejects.toThrow(DLError);
  await expect(seq.generate(ids)).rejects.toThrow(/PeftModel\.generate.*base model \(Sequential\) has no generate/);
  // a generate() of its own but no Hugging Face-style forward: the prompt could not reach it
  class Custom extends Sequential {
    generate(): Promise<Tensor> {
      return Promise.resolve(tensor([0]));
    }
  }
  const custom = getPeftModel(new Custom(new Embedding(11, 6), new Linear(6, 4)), new PromptTuningConfig({ numVirtualTokens: 2 }));
  await expect(custom.generate(ids)).rejects.toThrow(/PROMPT_TUNING generation needs a @dl\/transformers-style model/);
  const seq2seq = getPeftModel(await load(), new PromptTuningConfig({ numVirtualTokens: 2, numTransformerSubmodules: 2 }));
  await expect(seq2seq.generate(ids)).rejects.toThrow(/numTransformerSubmodules 2/);
  const peft = await loadPeft("prefix");
  await expect(peft.generate(fromSpec(fx.ids), { attentionMask: tensor([[1, 1]], { dtype: "int64" }) })).rejects.toThrow(ShapeError);
  await expect(peft.generate(tensor([1, 2, 3], { dtype: "int64" }))).rejects.toThrow(ShapeError);
  const base = await load();
  const foreign = base.call(ids, { useCache: true }).pastKeyValues;
  expect(() => peft.call(ids, { pastKeyValues: foreign })).toThrow(/pastKeyValues of length 2 cannot hold the 3 virtual tokens/);
  expect(() => peft.call(ids, { positionIds: tensor([1, 2], { dtype: "int64" }) })).toThrow(ShapeError);
});
