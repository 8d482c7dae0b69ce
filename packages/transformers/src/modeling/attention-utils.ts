import { arange, type DType, DTypeError, le, mul, rsub, type Tensor } from "@dl/tensor";

/** torch.finfo(dtype).min: Hugging Face masks with it rather than -inf. */
export function dtypeMin(dtype: DType): number {
  switch (dtype) {
    case "float32":
      return -3.4028234663852886e38;
    case "float64":
      return -Number.MAX_VALUE;
    case "float16":
      return -65504;
    case "bfloat16":
      return -3.3895313892515355e38;
    default:
      throw new DTypeError("dtypeMin", `expected a floating point dtype, got ${dtype}`);
  }
}

/**
 * The causal mask [T, S] (true = may attend) of T new queries over S = past + T keys, aligned
 * bottom-right as GPT-2's `bias[:, :, S-T:S, :S]`: query i sees keys j <= i + S - T.
 */
export function causalMask(T: number, S: number, device?: string): Tensor {
  const q = arange(S - T, S, { dtype: "int64", device }).reshape(T, 1);
  const k = arange(0, S, { dtype: "int64", device }).reshape(1, S);
  return le(k, q);
}

/**
 * A [B, S] 0/1 attention mask as the additive [B, 1, 1, S] mask Hugging Face builds:
 * (1 - m) · finfo(dtype).min.
 */
export function extendedAttentionMask(mask: Tensor, dtype: DType): Tensor {
  const m = mask.to({ dtype }).reshape(mask.shape[0] as number, 1, 1, mask.shape[mask.ndim - 1] as number);
  return mul(rsub(m, 1), dtypeMin(dtype));
}
