import "@dl/autograd";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ArgumentError, getDefaultDevice } from "@dl/tensor";
import { GPT2LMHeadModel, type GenerateOptions, generate } from "@dl/transformers";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec } from "../helpers/fixtures.js";
import { expected, fixtureDir, model } from "./helpers.js";

// On the gpu backend (llvmpipe in CI) every new shape compiles kernels: give model tests time.
vi.setConfig({ testTimeout: 240_000 });

// biome-ignore lint/suspicious/noExplicitAny: fixture files are free-form JSON
const tasks: any = JSON.parse(readFileSync(join(fixtureDir, "tasks.json"), "utf8"));
const bs = tasks.beam_search;
const SCORE_TOL = { rtol: 1e-4, atol: 1e-5 };

interface Case {
  name: string;
  num_beams: number;
  max_new: number;
  eos?: number;
  length_penalty?: number;
  early_stopping?: boolean | "never";
  num_return_sequences?: number;
  repetition_penalty?: number;
  sequences: { shape: number[]; data: number[] };
  scores: { dtype: string; shape: number[]; data: number[] };
}

const optionsOf = (c: Case): GenerateOptions => ({
  numBeams: c.num_beams,
  maxNewTokens: c.max_new,
  eosTokenId: c.eos ?? null,
  padTokenId: 0,
  lengthPenalty: c.length_penalty ?? 1,
  earlyStopping: c.early_stopping ?? false,
  numReturnSequences: c.num_return_sequences ?? 1,
  repetitionPenalty: c.repetition_penalty ?? 1,
});

describeEachBackend("beam search vs the PyTorch reference", () => {
  const load = () => GPT2LMHeadModel.fromPretrained(model("gpt2"), { device: getDefaultDevice(), warn: () => {} });

  it("sequences and scores for numBeams 2/3, lengthPenalty 1/0.5/0/2, earlyStopping true/false/never, an EOS, a repetition penalty", async () => {
    const m = await load();
    for (const c of bs.cases as Case[]) {
      const out = await m.generate(fromSpec(bs.prompt), { ...optionsOf(c), returnDictInGenerate: true, outputScores: true });
      expect({ name: c.name, shape: out.sequences.shape }).toEqual({ name: c.name, shape: c.sequences.shape });
      expect({ name: c.name, data: Array.from(out.sequences.dataSync(), Number) }).toEqual({ name: c.name, data: c.sequences.data });
      expectClose(out.sequencesScores as never, c.scores as never, SCORE_TOL);
    }
  });

  it("the KV cache reordered per step gives the uncached search's result", async () => {
    const m = await load();
    for (const c of bs.cases as Case[]) {
      const out = await m.generate(fromSpec(bs.prompt), { ...optionsOf(c), useCache: false });
      expect(Array.from(out.dataSync(), Number)).toEqual(c.sequences.data);
    }
  });

  it("a left-padded batch: numReturnSequences per row, best first, filled after EOS", async () => {
    const m = await load();
    const b = bs.batch;
    const out = await m.generate(fromSpec(b.prompt), {
      attentionMask: fromSpec(b.mask),
      numBeams: b.num_beams,
      maxNewTokens: b.max_new,
      eosTokenId: bs.eos,
      padTokenId: 0,
      numReturnSequences: b.num_return_sequences,
      returnDictInGenerate: true,
      outputScores: true,
    });
    expect(out.sequences.shape).toEqual(b.sequences.shape);
    expect(Array.from(out.sequences.dataSync(), Number)).toEqual(b.sequences.data);
    expectClose(out.sequencesScores as never, b.scores, SCORE_TOL);
  });
});

it("numBeams 1 is greedy, unchanged; bad beam arguments are ArgumentErrors", async () => {
  await import("../helpers/backends.js");
  const m = await GPT2LMHeadModel.fromPretrained(model("gpt2"), { warn: () => {} });
  const prompt = fromSpec(expected.gpt2.generate.prompt);
  const greedy = await m.generate(prompt, { maxNewTokens: 8, eosTokenId: null, numBeams: 1 });
  expect(Array.from(greedy.dataSync(), Number)).toEqual(expected.gpt2.generate.greedy.data);
  const dict = await m.generate(prompt, { maxNewTokens: 8, eosTokenId: null, returnDictInGenerate: true });
  expect(Array.from(dict.sequences.dataSync(), Number)).toEqual(expected.gpt2.generate.greedy.data);
  expect(dict.sequencesScores).toBeNull();
  // Without outputScores transformers leaves sequences_scores out.
  const noScores = await m.generate(prompt, { maxNewTokens: 3, numBeams: 2, returnDictInGenerate: true });
  expect(noScores.sequencesScores).toBeNull();
  const bad: [GenerateOptions, RegExp][] = [
    [{ numBeams: 2, numReturnSequences: 3 }, /numReturnSequences must be an integer in \[1, numBeams = 2\], got 3/],
    [{ numBeams: 2, doSample: true }, /beam sampling\) is not supported/],
    [{ numBeams: 2.5 }, /numBeams must be an integer > 1/],
    [{ numBeams: 0 }, /numBeams must be an integer > 1/],
    [{ numBeams: 2, earlyStopping: "always" as never }, /earlyStopping must be true, false or "never"/],
    [{ numBeams: 2, streamer: () => {} }, /streamer cannot be used with beam search/],
    [{ numBeams: 2, maxNewTokens: 0 }, /maxNewTokens must be an integer >= 1/],
    [{ numReturnSequences: 2 }, /numReturnSequences 2 needs beam search/],
  ];
  for (const [o, re] of bad) {
    const p = generate(m, prompt, o);
    await expect(p).rejects.toThrow(ArgumentError);
    await expect(generate(m, prompt, o)).rejects.toThrow(re);
  }
});
