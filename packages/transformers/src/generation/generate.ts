import { ArgumentError, defaultGenerator, fmtShape, fromHost, Generator, ones, ShapeError, type Tensor } from "@dl/tensor";
import type { PretrainedConfig } from "../configuration/configuration-utils.js";
import { beamSearch } from "./beam-search.js";
import { decodeStep, disposeCache, extendMask, type KVCache } from "./decode-step.js";

/** Receives each step's new tokens (one per batch row), then end(): Hugging Face's streamer, or a plain callback. */
export type Streamer = ((tokens: number[]) => void) | { put(tokens: number[]): void; end?(): void };

export interface GenerateOptions {
  /** Tokens to add (default 20, Hugging Face's max_length default less nothing: see maxLength). */
  maxNewTokens?: number;
  /** Total length limit (prompt + new tokens); maxNewTokens wins when both are given. */
  maxLength?: number;
  /** Sample from the distribution instead of taking the argmax (default config.doSample, false). */
  doSample?: boolean;
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens when sampling (default config.topK, 50; 0 disables). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p when sampling (default 1). */
  topP?: number;
  /** Penalizes tokens already in the sequence (> 1 discourages repeats; CTRL's rule; default 1). */
  repetitionPenalty?: number;
  /** Token id(s) that end a sequence (default config.eosTokenId). */
  eosTokenId?: number | number[] | null;
  /** Written after a sequence has ended (default config.padTokenId, else the first EOS id). */
  padTokenId?: number | null;
  /** [B, T] 1 for prompt tokens, 0 for (left) padding (default all ones). */
  attentionMask?: Tensor | null;
  /** Seeds a private generator for sampling. */
  seed?: number;
  /** The generator for sampling (default the global one, seeded by manualSeed). */
  generator?: Generator;
  /** Called with each step's new tokens. */
  streamer?: Streamer;
  /** Reuse the keys and values of earlier steps (default true); false recomputes the whole sequence each step. */
  useCache?: boolean;
  /** Beam search with this many beams when > 1 (default config.numBeams, 1). */
  numBeams?: number;
  /** Beam search: finished hypotheses score sum(log-probs) / length ** lengthPenalty (default config.lengthPenalty, 1). */
  lengthPenalty?: number;
  /** Beam search: true stops at numBeams finished hypotheses, false on transformers' heuristic, "never" when none can improve (default false). */
  earlyStopping?: boolean | "never";
  /** Beam search: hypotheses returned per input row, best first (<= numBeams; default 1). */
  numReturnSequences?: number;
  /** Return { sequences, sequencesScores } instead of the tokens alone. */
  returnDictInGenerate?: boolean;
  /** With returnDictInGenerate and beams: fill sequencesScores (each returned hypothesis' score). */
  outputScores?: boolean;
}

/** generate's result with returnDictInGenerate: the tokens and, for beam search with outputScores, their scores. */
export interface GenerateOutput {
  sequences: Tensor;
  /** [B * numReturnSequences] float32 (beam search with outputScores), else null. */
  sequencesScores: Tensor | null;
}

/** What generate needs of a model: a causal LM forward with a KV cache. */
export interface CausalLM {
  config: PretrainedConfig;
  training: boolean;
  call(
    inputIds: Tensor,
    options: {
      attentionMask?: Tensor | null;
      positionIds?: Tensor | null;
      pastKeyValues?: [Tensor, Tensor][] | null;
      useCache?: boolean;
      /** Only the last position's logits are needed (a model may ignore this). */
      logitsToKeep?: number;
    },
  ): { logits: Tensor; pastKeyValues: [Tensor, Tensor][] | null };
}

/**
 * Decoding as transformers' GenerationMixin does it: greedy or sampling (repetition penalty, then
 * temperature, top-k, top-p), position ids from the attention mask (cumsum - 1) so that left-padded
 * rows continue as unpadded ones, a KV cache so each step feeds only the new token, and per-row
 * stopping on EOS (finished rows get padTokenId). Returns [B, T + new] int64.
 */
export function generate(
  model: CausalLM,
  inputIds: Tensor,
  options: GenerateOptions & { returnDictInGenerate: true },
): Promise<GenerateOutput>;
export function generate(model: CausalLM, inputIds: Tensor, options?: GenerateOptions): Promise<Tensor>;
export async function generate(model: CausalLM, inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor | GenerateOutput> {
  const op = "generate";
  if ((options.numBeams ?? model.config.numBeams ?? 1) !== 1) {
    const out = await beamSearch(model, inputIds, options);
    const keepScores = options.returnDictInGenerate === true && options.outputScores === true;
    if (!keepScores) out.sequencesScores.dispose();
    if (!options.returnDictInGenerate) return out.sequences;
    return { sequences: out.sequences, sequencesScores: keepScores ? out.sequencesScores : null };
  }
  const nrs = options.numReturnSequences ?? model.config.numReturnSequences ?? 1;
  if (nrs !== 1)
    throw new ArgumentError(
      op,
      `numReturnSequences ${nrs} needs beam search (numBeams >= numReturnSequences); greedy and sampling return one sequence per row`,
    );
  if (inputIds.ndim !== 2) throw new ShapeError(op, `inputIds must be [batch, seq], got ${fmtShape(inputIds.shape)}`);
  const [B, T] = inputIds.shape as [number, number];
  const cfg = model.config;
  const maxNew = options.maxNewTokens ?? (options.maxLength !== undefined ? options.maxLength - T : 20);
  if (!(maxNew >= 0) || !Number.isInteger(maxNew))
    throw new ArgumentError(op, `maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const doSample = options.doSample ?? cfg.doSample ?? false;
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? cfg.topK ?? 50;
  const topP = options.topP ?? 1;
  const penalty = options.repetitionPenalty ?? 1;
  if (!(temperature > 0)) throw new ArgumentError(op, `temperature must be > 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new ArgumentError(op, `topP must be in (0, 1], got ${topP}`);
  if (!(penalty > 0)) throw new ArgumentError(op, `repetitionPenalty must be > 0, got ${penalty}`);
  const eosRaw = options.eosTokenId !== undefined ? options.eosTokenId : cfg.eosTokenId;
  const eos = eosRaw === null || eosRaw === undefined ? [] : Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  const pad = options.padTokenId ?? cfg.padTokenId ?? eos[0] ?? 0;
  const gen = options.generator ?? (options.seed !== undefined ? new Generator(options.seed) : defaultGenerator);
  const useCache = options.useCache ?? true;
  const device = inputIds.device;
  const streamer = options.streamer;
  const put = typeof streamer === "function" ? streamer : streamer ? (t: number[]) => streamer.put(t) : null;

  const seqs: number[][] = [];
  const ids0 = await inputIds.to({ dtype: "int64" }).data();
  for (let b = 0; b < B; b++) seqs.push(Array.from(ids0.subarray(b * T, (b + 1) * T), Number));
  // A private copy: the loop replaces (and frees) the mask each step.
  let mask: Tensor = options.attentionMask
    ? options.attentionMask.to({ dtype: "int64" }).clone()
    : ones([B, T], { dtype: "int64", device });
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new ShapeError(op, `attentionMask must be [${B}, ${T}] like inputIds, got ${fmtShape(mask.shape)}`);
  }
  const done = new Array<boolean>(B).fill(false);
  let past: KVCache | null = null;
  const wasTraining = model.training;
  try {
    for (let step = 0; step < maxNew; step++) {
      const result = decodeStep(model, seqs, mask, past, useCache);
      past = result.past;
      const V = result.logits.shape[1] as number;
      const scores = Float64Array.from(await result.logits.to({ dtype: "float32" }).data());
      result.logits.dispose();
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const row = scores.subarray(b * V, (b + 1) * V);
        if (penalty !== 1) applyRepetitionPenalty(row, seqs[b] as number[], penalty);
        let tok: number;
        if (doSample) {
          for (let i = 0; i < V; i++) row[i] = (row[i] as number) / temperature;
          if (topK > 0) applyTopK(row, topK);
          if (topP < 1) applyTopP(row, topP);
          tok = sampleRow(row, gen);
        } else tok = argmax(row);
        if (done[b]) tok = pad;
        else if (eos.includes(tok)) done[b] = true;
        next.push(tok);
        (seqs[b] as number[]).push(tok);
      }
      mask = extendMask(mask);
      put?.(next);
      if (eos.length && done.every(Boolean)) break;
    }
  } finally {
    if (past) disposeCache(past);
    mask.dispose();
    model.training = wasTraining;
  }
  if (streamer && typeof streamer !== "function") streamer.end?.();
  const L = seqs[0]?.length ?? 0;
  const sequences = fromHost(seqs.flat(), [B, L], { dtype: "int64", device });
  return options.returnDictInGenerate ? { sequences, sequencesScores: null } : sequences;
}

function argmax(row: Float64Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

/** CTRL's repetition penalty (transformers' RepetitionPenaltyLogitsProcessor). */
function applyRepetitionPenalty(row: Float64Array, seen: number[], penalty: number): void {
  for (const t of new Set(seen)) {
    if (t < 0 || t >= row.length) continue;
    const s = row[t] as number;
    row[t] = s < 0 ? s * penalty : s / penalty;
  }
}

/** Keeps the k largest scores (ties with the k-th kept), -inf elsewhere (TopKLogitsWarper). */
function applyTopK(row: Float64Array, k: number): void {
  if (k >= row.length) return;
  const kth = Float64Array.from(row).sort().reverse()[k - 1] as number;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) < kth) row[i] = Number.NEGATIVE_INFINITY;
}

/** Keeps the most likely tokens whose cumulative probability exceeds 1 - p ... (TopPLogitsWarper). */
function applyTopP(row: Float64Array, p: number): void {
  const order = Array.from(row.keys()).sort((a, b) => (row[a] as number) - (row[b] as number));
  const probs = softmaxOf(order.map((i) => row[i] as number));
  // Ascending order: drop the prefix whose cumulative probability is <= 1 - p; always keep the last.
  let cum = 0;
  for (let j = 0; j < order.length - 1; j++) {
    cum += probs[j] as number;
    if (cum <= 1 - p) row[order[j] as number] = Number.NEGATIVE_INFINITY;
    else break;
  }
}

function softmaxOf(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => (x === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x - m)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function sampleRow(row: Float64Array, gen: Generator): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of row) if (v > m) m = v;
  let total = 0;
  const w = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) {
    w[i] = row[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp((row[i] as number) - m);
    total += w[i] as number;
  }
  let u = gen.random() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i] as number;
    if (u < 0 && (w[i] as number) > 0) return i;
  }
  for (let i = w.length - 1; i >= 0; i--) if ((w[i] as number) > 0) return i;
  return 0;
}
