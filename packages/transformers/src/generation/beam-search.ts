import { ArgumentError, fmtShape, fromHost, indexSelect, ShapeError, type Tensor } from "@dl/tensor";
import { decodeStep, disposeCache, extendMask, type KVCache } from "./decode-step.js";
import type { CausalLM, GenerateOptions } from "./generate.js";

/** What beam search returns: [B * numReturnSequences, L] tokens and each hypothesis' score [B * numReturnSequences]. */
export interface BeamSearchOutput {
  sequences: Tensor;
  sequencesScores: Tensor;
}

// transformers' "minus infinity" for scores: a finite number, so the arithmetic below is its arithmetic.
const NEG = -1.0e9;

/** A finished (or placeholder) hypothesis: its tokens (prompt included) and length-penalized score. */
interface Hypothesis {
  tokens: number[];
  score: number;
  finished: boolean;
}

interface Candidate {
  beam: number;
  token: number;
  logProb: number;
  hits: boolean;
}

/** The option values beam search reads, validated (typed errors name the rule broken). */
function beamOptions(model: CausalLM, options: GenerateOptions, T: number) {
  const op = "generate (beam search)";
  const cfg = model.config;
  const numBeams = options.numBeams ?? cfg.numBeams ?? 1;
  if (!Number.isInteger(numBeams) || numBeams < 2) throw new ArgumentError(op, `numBeams must be an integer > 1, got ${numBeams}`);
  const nrs = options.numReturnSequences ?? cfg.numReturnSequences ?? 1;
  if (!Number.isInteger(nrs) || nrs < 1 || nrs > numBeams) {
    throw new ArgumentError(op, `numReturnSequences must be an integer in [1, numBeams = ${numBeams}], got ${nrs}`);
  }
  if (options.doSample ?? cfg.doSample ?? false) {
    throw new ArgumentError(op, "doSample with numBeams > 1 (beam sampling) is not supported: use doSample: false or numBeams: 1");
  }
  if (options.streamer) throw new ArgumentError(op, "a streamer cannot be used with beam search (as in transformers)");
  const lengthPenalty = options.lengthPenalty ?? cfg.lengthPenalty ?? 1;
  if (!Number.isFinite(lengthPenalty)) throw new ArgumentError(op, `lengthPenalty must be a finite number, got ${lengthPenalty}`);
  const earlyStopping = options.earlyStopping ?? cfg.earlyStopping ?? false;
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== "never") {
    throw new ArgumentError(op, `earlyStopping must be true, false or "never", got ${JSON.stringify(earlyStopping)}`);
  }
  const maxNew = options.maxNewTokens ?? (options.maxLength !== undefined ? options.maxLength - T : 20);
  if (!Number.isInteger(maxNew) || maxNew < 1)
    throw new ArgumentError(op, `maxNewTokens must be an integer >= 1 for beam search, got ${maxNew}`);
  const penalty = options.repetitionPenalty ?? 1;
  if (!(penalty > 0)) throw new ArgumentError(op, `repetitionPenalty must be > 0, got ${penalty}`);
  const eosRaw = options.eosTokenId !== undefined ? options.eosTokenId : cfg.eosTokenId;
  const eos = eosRaw === null || eosRaw === undefined ? [] : Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  const pad = options.padTokenId ?? cfg.padTokenId ?? null;
  // transformers fills finished rows with `pad_token_id or eos_token_id[0]` (so a pad id of 0 gives the EOS).
  const fill = eos.length ? (pad ? pad : (eos[0] as number)) : (pad ?? 0);
  return { numBeams, nrs, lengthPenalty, earlyStopping, maxNew, penalty, eos, fill, useCache: options.useCache ?? true };
}

/**
 * Beam search as transformers' GenerationMixin._beam_search (its vectorized form): each step keeps the
 * K = max(2, 1 + #eos) · numBeams best continuations of every beam's accumulated log-probabilities; the
 * best numBeams of them that did not stop (EOS or max length) run on, and those among the top numBeams that
 * stopped join the finished hypotheses, scored sum(log-probs) / generatedLength ** lengthPenalty (the EOS
 * counts in the length). earlyStopping true stops a row once numBeams hypotheses are finished; false and
 * "never" stop it when the best running beam can no longer beat the worst finished one (false: at the
 * current length; "never" with a positive penalty: at max length). The KV cache is reordered each step
 * (index_select of the parent beams). Token bookkeeping runs on the host, as in generate.
 */
export async function beamSearch(model: CausalLM, inputIds: Tensor, options: GenerateOptions = {}): Promise<BeamSearchOutput> {
  const op = "generate (beam search)";
  if (inputIds.ndim !== 2) throw new ShapeError(op, `inputIds must be [batch, seq], got ${fmtShape(inputIds.shape)}`);
  const [B, T] = inputIds.shape as [number, number];
  const { numBeams: nb, nrs, lengthPenalty, earlyStopping, maxNew, penalty, eos, fill, useCache } = beamOptions(model, options, T);
  const device = inputIds.device;
  const maxLength = T + maxNew;
  const K = Math.max(2, 1 + eos.length) * nb;
  const R = B * nb;

  const ids0 = Array.from(await inputIds.to({ dtype: "int64" }).data(), Number);
  const m0 = options.attentionMask ?? null;
  if (m0 && (m0.ndim !== 2 || m0.shape[0] !== B || m0.shape[1] !== T)) {
    throw new ShapeError(op, `attentionMask must be [${B}, ${T}] like inputIds, got ${fmtShape(m0.shape)}`);
  }
  const mask0 = m0 ? Array.from(await m0.to({ dtype: "int64" }).data(), Number) : new Array<number>(B * T).fill(1);
  // Every beam of a row starts as the prompt (transformers' repeat_interleave), the first with score 0
  // and the others at -1e9 so that the first step expands one copy only.
  const running: number[][] = [];
  const runningScores: number[] = [];
  const finished: Hypothesis[][] = [];
  for (let b = 0; b < B; b++) {
    const prompt = ids0.slice(b * T, (b + 1) * T);
    for (let j = 0; j < nb; j++) {
      running.push([...prompt]);
      runningScores.push(j === 0 ? 0 : NEG);
    }
    finished.push(Array.from({ length: nb }, () => ({ tokens: [...prompt], score: NEG, finished: false })));
  }
  const rowMask = (r: number) => mask0.slice(Math.floor(r / nb) * T, (Math.floor(r / nb) + 1) * T);
  let mask: Tensor = fromHost(Array.from({ length: R }, (_, r) => rowMask(r)).flat(), [R, T], { dtype: "int64", device });
  const unsatisfied = new Array<boolean>(B).fill(true);
  let past: KVCache | null = null;
  const wasTraining = model.training;
  try {
    for (let cur = T; ; cur++) {
      const result = decodeStep(model, running, mask, past, useCache);
      past = null;
      const V = result.logits.shape[1] as number;
      const logits = await result.logits.to({ dtype: "float32" }).data();
      result.logits.dispose();
      const newPast = result.past;

      const parents: number[] = [];
      let allHit = true;
      const nextRunning: number[][] = [];
      const nextScores: number[] = [];
      for (let b = 0; b < B; b++) {
        const cands = topContinuations(logits, b, nb, V, K, runningScores, running, penalty);
        for (const c of cands) {
          c.hits = cur + 1 >= maxLength || eos.includes(c.token);
          if (!c.hits) allHit = false;
        }
        // The running beams: the best numBeams continuations that did not stop (stopped ones at -1e9).
        const byRunning = cands
          .map((c, i) => ({ c, i, s: c.logProb + (c.hits ? NEG : 0) }))
          .sort((x, y) => y.s - x.s || x.i - y.i)
          .slice(0, nb);
        for (const { c, s } of byRunning) {
          parents.push(b * nb + c.beam);
          nextRunning.push([...(running[b * nb + c.beam] as number[]), c.token]);
          nextScores.push(s);
        }
        // The finished hypotheses: the top-numBeams ranks that stopped, merged with the earlier ones by score.
        const hyps = finished[b] as Hypothesis[];
        const full = hyps.every((h) => h.finished) && earlyStopping === true;
        const merged: Hypothesis[] = [...hyps];
        cands.forEach((c, rank) => {
          const did = c.hits && rank < nb;
          let s = c.logProb / (cur + 1 - T) ** lengthPenalty;
          if (full) s += NEG;
          if (!unsatisfied[b]) s += NEG;
          if (!did) s += NEG;
          merged.push({ tokens: [...(running[b * nb + c.beam] as number[]), c.token], score: s, finished: did });
        });
        finished[b] = merged
          .map((h, i) => ({ h, i }))
          .sort((x, y) => y.h.score - x.h.score || x.i - y.i)
          .slice(0, nb)
          .map(({ h }) => h);
      }
      running.splice(0, R, ...nextRunning);
      runningScores.splice(0, R, ...nextScores);
      // The cache follows the beams: row r of the next step continues parents[r].
      if (newPast) {
        const index = fromHost(parents, [R], { dtype: "int64", device });
        past = newPast.map(([k, v]) => [indexSelect(k, 0, index), indexSelect(v, 0, index)] as [Tensor, Tensor]);
        index.dispose();
        disposeCache(newPast);
      }
      mask = extendMask(mask);

      // Can a running beam still beat the worst finished hypothesis of its row?
      const len = earlyStopping === "never" && lengthPenalty > 0 ? maxLength - T : cur + 1 - T;
      let anyUnsatisfied = false;
      let allFinished = true;
      for (let b = 0; b < B; b++) {
        const hyps = finished[b] as Hypothesis[];
        const best = (runningScores[b * nb] as number) / len ** lengthPenalty;
        const worst = Math.min(...hyps.map((h) => h.score));
        unsatisfied[b] = (unsatisfied[b] as boolean) && hyps.some((h) => best > (h.finished ? worst : NEG));
        anyUnsatisfied ||= unsatisfied[b] as boolean;
        allFinished &&= hyps.every((h) => h.finished);
      }
      if (!anyUnsatisfied || (allFinished && earlyStopping === true) || allHit) break;
    }
  } finally {
    if (past) disposeCache(past);
    mask.dispose();
    model.training = wasTraining;
  }
  // The best numReturnSequences hypotheses of each row, cropped to the longest and filled after EOS.
  const chosen = finished.flatMap((hyps) => hyps.slice(0, nrs));
  const L = Math.max(...chosen.map((h) => h.tokens.length));
  const flat: number[] = [];
  for (const h of chosen) flat.push(...h.tokens, ...new Array<number>(L - h.tokens.length).fill(fill));
  return {
    sequences: fromHost(flat, [B * nrs, L], { dtype: "int64", device }),
    sequencesScores: fromHost(
      chosen.map((h) => h.score),
      [B * nrs],
      { dtype: "float32", device },
    ),
  };
}

/**
 * One batch row's top K continuations over all its beams: log_softmax of each beam's logits (the
 * repetition penalty applied to the log-probs, as transformers' processors are), plus the beam's score,
 * ranked over numBeams · V entries (ties: the lower flat index first).
 */
function topContinuations(
  logits: ArrayLike<number>,
  b: number,
  nb: number,
  V: number,
  K: number,
  runningScores: number[],
  running: number[][],
  penalty: number,
): Candidate[] {
  const vals: number[] = [];
  const idx: number[] = [];
  const row = new Float64Array(V);
  for (let j = 0; j < nb; j++) {
    const r = b * nb + j;
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) {
      row[v] = logits[r * V + v] as number;
      if ((row[v] as number) > m) m = row[v] as number;
    }
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp((row[v] as number) - m);
    const lse = m + Math.log(s);
    for (let v = 0; v < V; v++) row[v] = (row[v] as number) - lse;
    if (penalty !== 1) {
      for (const t of new Set(running[r] as number[])) {
        if (t < 0 || t >= V) continue;
        const x = row[t] as number;
        row[t] = x < 0 ? x * penalty : x / penalty;
      }
    }
    const base = runningScores[r] as number;
    for (let v = 0; v < V; v++) {
      const score = (row[v] as number) + base;
      // Insertion into the sorted top-K list (K is small).
      if (vals.length === K && score <= (vals[K - 1] as number)) continue;
      let p = vals.length;
      while (p > 0 && score > (vals[p - 1] as number)) p--;
      vals.splice(p, 0, score);
      idx.splice(p, 0, j * V + v);
      if (vals.length > K) {
        vals.pop();
        idx.pop();
      }
    }
  }
  return vals.map((logProb, i) => ({ beam: Math.floor((idx[i] as number) / V), token: (idx[i] as number) % V, logProb, hits: false }));
}
