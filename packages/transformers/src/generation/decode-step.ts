import { noGrad } from "@dl/autograd";
import { cat, cumsum, eq, fromHost, maskedFill, ones, sub, type Tensor, tidy } from "@dl/tensor";
import type { CausalLM } from "./generate.js";

/** The key/value cache of a decoder: one [key, value] pair per layer. */
export type KVCache = [Tensor, Tensor][];

/**
 * One forward of a decoding loop (greedy, sampling and beam search share it). Row r feeds the
 * tokens of sequences[r] that the cache does not hold yet (all of them without a cache), with
 * Hugging Face's position ids: cumsum(mask) - 1, and 1 at padded positions. `mask` is [rows, L]
 * for sequences of length L. Returns the last position's logits [rows, V] and the new cache (null
 * without useCache); frees the feed and the cache it was given.
 */
export function decodeStep(
  model: CausalLM,
  sequences: readonly (readonly number[])[],
  mask: Tensor,
  past: KVCache | null,
  useCache: boolean,
): { logits: Tensor; past: KVCache | null } {
  const rows = sequences.length;
  const L = mask.shape[1] as number;
  const feedLen = past ? 1 : L;
  const feed = fromHost(
    sequences.flatMap((s) => s.slice(L - feedLen)),
    [rows, feedLen],
    { dtype: "int64", device: mask.device },
  );
  const result = tidy(() =>
    noGrad(() => {
      const cs = sub(cumsum(mask, 1), 1);
      const pos = maskedFill(cs, eq(mask, 0), 1).narrow(1, L - feedLen, feedLen);
      const out = model.call(feed, { attentionMask: mask, positionIds: pos, pastKeyValues: past, useCache, logitsToKeep: 1 });
      const V = out.logits.shape[2] as number;
      const logits: Tensor = out.logits.narrow(1, (out.logits.shape[1] as number) - 1, 1).reshape(rows, V);
      return { logits, past: out.pastKeyValues };
    }),
  );
  feed.dispose();
  if (past) disposeCache(past);
  if (!useCache && result.past) {
    disposeCache(result.past);
    return { logits: result.logits, past: null };
  }
  return result;
}

/** The mask one token longer (a 1 appended to every row); frees the old one. */
export function extendMask(mask: Tensor): Tensor {
  const next = cat([mask, ones([mask.shape[0] as number, 1], { dtype: "int64", device: mask.device })], 1);
  mask.dispose();
  return next;
}

export function disposeCache(cache: KVCache): void {
  for (const [k, v] of cache) {
    k.dispose();
    v.dispose();
  }
}
