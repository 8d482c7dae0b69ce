import { noGrad } from "@dl/autograd";
import {
  ArgumentError,
  DTypeError,
  ShapeError,
  type Tensor,
  add,
  amax,
  clamp,
  div,
  eq,
  fromHost,
  gt,
  indexCopy_,
  indexSelect,
  logicalAnd,
  logicalNot,
  mul,
  ne,
  norm,
  sub,
  sum,
  take,
  ones,
  scatterAdd,
  unique,
  where,
  zeros,
  assertTensor,
} from "@dl/tensor";

/** Embedding lookups (torch.nn.functional.embedding / embedding_bag). */

export interface EmbeddingOptions {
  /** Entries at this index get no gradient (the row is left as it is). Negative counts from the end. */
  paddingIdx?: number | null;
  /** Rows looked up whose norm exceeds maxNorm are rescaled in place to norm maxNorm (untracked). */
  maxNorm?: number | null;
  /** The p of the norm for maxNorm (default 2). */
  normType?: number;
  /** Scale each row's gradient by the inverse of its frequency in the mini-batch. */
  scaleGradByFreq?: boolean;
  /** Sparse gradients are not supported; true throws. */
  sparse?: boolean;
}

function checkIndices(op: string, input: Tensor): void {
  if (input.dtype !== "int64" && input.dtype !== "int32") {
    throw new DTypeError(op, `expected indices of dtype int64 or int32, got ${input.dtype}`);
  }
}

function checkWeight(op: string, weight: Tensor): void {
  if (weight.ndim !== 2) throw new ShapeError(op, `'weight' must be 2-D, got shape [${weight.shape.join(",")}]`);
}

/** paddingIdx as a row number in [0, num), or null. */
function normalizePaddingIdx(op: string, paddingIdx: number | null | undefined, num: number): number | null {
  if (paddingIdx === null || paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= num || paddingIdx < -num) {
    throw new ArgumentError(op, `padding_idx must be within num_embeddings (${num}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

/**
 * Rescales, in place and without recording gradients, each row of weight referenced by indices
 * whose p-norm exceeds maxNorm to norm maxNorm (scale maxNorm / (norm + 1e-7)), as PyTorch's
 * embedding_renorm_.
 */
export function embeddingRenorm_(weight: Tensor, indices: Tensor, maxNorm: number, normType = 2): Tensor {
  assertTensor("embeddingRenorm_", weight, "weight");
  assertTensor("embeddingRenorm_", indices, "indices");
  noGrad(() => {
    if (indices.numel() === 0) return;
    const rows = unique(indices.reshape(-1));
    const selected = indexSelect(weight, 0, rows);
    const norms = norm(selected, normType, 1, { keepdim: true });
    const scale = where(gt(norms, maxNorm), div(maxNorm, add(norms, 1e-7)), 1);
    indexCopy_(weight, 0, rows, mul(selected, scale));
  });
  return weight;
}

/**
 * Gradient scaling by inverse frequency: the value is unchanged, and the gradient of each entry of
 * `out` (looked up at `lookedUp`) is divided by the number of times its index occurs in `indices`.
 */
function scaleByFrequency(out: Tensor, lookedUp: Tensor, indices: Tensor, num: number): Tensor {
  const flat = indices.reshape(-1);
  const counts = scatterAdd(
    zeros([num], { dtype: out.dtype, device: out.device }),
    0,
    flat,
    ones([flat.numel()], { dtype: out.dtype, device: out.device }),
  );
  const perEntry = clamp(take(counts, lookedUp), { min: 1 }).unsqueeze(-1);
  const frozen = out.detach();
  return add(frozen, div(sub(out, frozen), perEntry));
}

/**
 * Looks up rows of weight [num, dim] at integer indices of any shape (F.embedding); the result
 * has shape [...input.shape, dim].
 */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  assertTensor("embedding", input, "input");
  assertTensor("embedding", weight, "weight");
  const op = "embedding";
  checkIndices(op, input);
  checkWeight(op, weight);
  if (options.sparse) throw new ArgumentError(op, "sparse gradients are not supported (use sparse=false)");
  const num = weight.shape[0] as number;
  const paddingIdx = normalizePaddingIdx(op, options.paddingIdx, num);
  if (options.maxNorm !== null && options.maxNorm !== undefined) embeddingRenorm_(weight, input, options.maxNorm, options.normType ?? 2);
  let out = indexSelect(weight, 0, input.reshape(-1)).reshape([...input.shape, weight.shape[1] as number]);
  if (options.scaleGradByFreq && out.requiresGrad) out = scaleByFrequency(out, input, input, num);
  // The padding entries keep their value but pass no gradient to the padding row.
  if (paddingIdx !== null && out.requiresGrad) out = where(eq(input, paddingIdx).unsqueeze(-1), out.detach(), out);
  return out;
}

export interface EmbeddingBagOptions extends EmbeddingOptions {
  /** Start of each bag in a 1-D input (required for 1-D input, not allowed for 2-D input). */
  offsets?: Tensor | null;
  /** How each bag is reduced (default "mean"). */
  mode?: "sum" | "mean" | "max";
  /** Weights that multiply each looked-up row (mode "sum" only); same shape as input. */
  perSampleWeights?: Tensor | null;
  /** offsets has one more entry, the end of the last bag (CSR layout). */
  includeLastOffset?: boolean;
}

/**
 * Sums, averages or maxes bags of embeddings without materializing each lookup separately in
 * PyTorch (F.embedding_bag). Input is 2-D [B, L] (B bags of L indices) or 1-D with offsets.
 * Entries equal to paddingIdx are left out of their bag (and its mean's count); empty bags give
 * zeros. Here the bags are gathered into a padded [B, Lmax, dim] block and reduced with masks.
 */
export function embeddingBag(input: Tensor, weight: Tensor, options: EmbeddingBagOptions = {}): Tensor {
  assertTensor("embeddingBag", input, "input");
  assertTensor("embeddingBag", weight, "weight");
  const op = "embeddingBag";
  checkIndices(op, input);
  checkWeight(op, weight);
  const mode = options.mode ?? "mean";
  if (mode !== "sum" && mode !== "mean" && mode !== "max")
    throw new ArgumentError(op, `mode has to be one of sum, mean or max, got '${mode as string}'`);
  if (mode === "max" && options.scaleGradByFreq)
    throw new ArgumentError(op, "max mode does not support scaling the gradient by the frequency");
  if (options.sparse) throw new ArgumentError(op, "sparse gradients are not supported (use sparse=false)");
  const psw = options.perSampleWeights ?? null;
  if (psw && (psw.ndim !== input.ndim || psw.shape.some((s, i) => s !== input.shape[i]))) {
    throw new ShapeError(
      op,
      `if per_sample_weights ([${psw.shape.join(",")}]) is given, it must have the same shape as the input ([${input.shape.join(",")}])`,
    );
  }
  if (psw && mode !== "sum") throw new ArgumentError(op, `per_sample_weights is only supported for mode='sum' (got mode='${mode}')`);
  const num = weight.shape[0] as number;
  const dim = weight.shape[1] as number;
  const paddingIdx = normalizePaddingIdx(op, options.paddingIdx, num);
  const offsets = options.offsets ?? null;

  // Dense [B, L] indices, validity mask and per-sample weights.
  let idx: Tensor;
  let valid: Tensor | null = null;
  let weights: Tensor | null = psw;
  if (input.ndim === 2) {
    if (offsets)
      throw new ArgumentError(
        op,
        "if input is 2D, then offsets has to be null, as input is treated as a mini-batch of fixed length sequences",
      );
    idx = input;
  } else if (input.ndim === 1) {
    if (!offsets) throw new ArgumentError(op, "offsets has to be a 1D Tensor but got null");
    if (offsets.ndim !== 1) throw new ShapeError(op, `offsets has to be a 1D Tensor, got shape [${offsets.shape.join(",")}]`);
    checkIndices(op, offsets);
    const n = input.numel();
    const offs = Array.from(offsets.dataSync(), Number);
    const bags = options.includeLastOffset ? Math.max(offs.length - 1, 0) : offs.length;
    if (offs.length > 0 && offs[0] !== 0) {
      throw new ArgumentError(
        op,
        `offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. However, got ${offs[0]}`,
      );
    }
    const starts = offs.slice(0, bags);
    const ends = starts.map((_, b) => (b + 1 < offs.length ? (offs[b + 1] as number) : n));
    for (let b = 0; b < bags; b++) {
      const s = starts[b] as number;
      const e = ends[b] as number;
      if (e < s || e > n)
        throw new ArgumentError(op, `offsets must be non-decreasing and within the input's length ${n}, got [${offs.join(", ")}]`);
    }
    const len = Math.max(0, ...starts.map((s, b) => (ends[b] as number) - s));
    const pos = new Float64Array(bags * len);
    const ok = new Uint8Array(bags * len);
    for (let b = 0; b < bags; b++) {
      for (let j = 0; j < len; j++) {
        const p = (starts[b] as number) + j;
        if (p < (ends[b] as number)) {
          pos[b * len + j] = p;
          ok[b * len + j] = 1;
        }
      }
    }
    const posT = fromHost(pos, [bags, len], { dtype: "int64", device: input.device });
    idx = n === 0 ? posT.to(input.dtype) : take(input, posT);
    valid = fromHost(ok, [bags, len], { dtype: "bool", device: input.device });
    if (psw) weights = n === 0 ? zeros([bags, len], { dtype: psw.dtype, device: psw.device }) : take(psw, posT);
  } else {
    throw new ShapeError(op, `input has to be 1D or 2D Tensor, but got Tensor of dimension ${input.ndim}`);
  }
  const [bags, len] = idx.shape as [number, number];
  if (paddingIdx !== null) {
    const notPad = ne(idx, paddingIdx);
    valid = valid ? logicalAnd(valid, notPad) : notPad;
  }
  if (options.maxNorm !== null && options.maxNorm !== undefined) embeddingRenorm_(weight, input, options.maxNorm, options.normType ?? 2);
  if (len === 0) return zeros([bags, dim], { dtype: weight.dtype, device: weight.device });

  let emb = indexSelect(weight, 0, idx.reshape(-1)).reshape([bags, len, dim]);
  if (options.scaleGradByFreq && emb.requiresGrad) emb = scaleByFrequency(emb, idx, input, num);
  if (mode === "max") {
    if (!valid) return amax(emb, 1);
    const masked = where(valid.unsqueeze(-1), emb, Number.NEGATIVE_INFINITY);
    return where(logicalNot(sum(valid, 1, { keepdim: true }).to("bool")), 0, amax(masked, 1));
  }
  if (weights) emb = mul(emb, weights.unsqueeze(-1));
  if (valid) emb = where(valid.unsqueeze(-1), emb, 0);
  const total = sum(emb, 1);
  if (mode === "sum") return total;
  const count = valid ? sum(valid, 1, { keepdim: true }).to(weight.dtype) : len;
  return div(total, typeof count === "number" ? count : clamp(count, { min: 1 }));
}
