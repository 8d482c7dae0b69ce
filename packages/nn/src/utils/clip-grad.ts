import { noGrad } from "@dl/autograd";
import { ArgumentError, DLError, Tensor, add, amax, clamp, clamp_, div, mul_, norm, stack, zeros } from "@dl/tensor";

/** Parameters as PyTorch accepts them: one tensor or any iterable of tensors. */
export type ParameterSource = Tensor | Iterable<Tensor>;

const gradsOf = (parameters: ParameterSource): Tensor[] =>
  (parameters instanceof Tensor ? [parameters] : [...parameters]).map((p) => p.grad).filter((g): g is Tensor => g !== null);

export interface ClipGradNormOptions {
  /** The p of the p-norm (default 2; Infinity for the max norm). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * torch.nn.utils.clip_grad_norm_: scales the gradients of `parameters` in place so that their
 * combined p-norm (the norm of the per-tensor norms) is at most maxNorm, and returns that total
 * norm (a 0-d tensor, before clipping). As in PyTorch every gradient is multiplied by
 * min(maxNorm / (totalNorm + 1e-6), 1). Parameters without a gradient are skipped; with none at
 * all the result is tensor(0).
 */
export function clipGradNorm_(parameters: ParameterSource, maxNorm: number, options: ClipGradNormOptions = {}): Tensor {
  const op = "clipGradNorm_";
  const normType = options.normType ?? 2;
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new ArgumentError(op, `maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== "number" || Number.isNaN(normType))
    throw new ArgumentError(op, `normType must be a number, got ${String(normType)}`);
  const grads = gradsOf(parameters);
  if (grads.length === 0) return zeros([]);
  return noGrad(() => {
    const norms = grads.map((g) => norm(g.detach(), normType));
    const total =
      normType === Number.POSITIVE_INFINITY
        ? norms.length === 1
          ? (norms[0] as Tensor)
          : amax(stack(norms))
        : norm(stack(norms), normType);
    if (options.errorIfNonfinite) {
      const v = total.item() as number;
      if (!Number.isFinite(v)) {
        throw new DLError(
          op,
          `The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false`,
        );
      }
    }
    const coef = clamp(div(maxNorm, add(total, 1e-6)), null, 1);
    for (const g of grads) mul_(g, coef);
    return total;
  });
}

/** torch.nn.utils.clip_grad_value_: clamps every gradient in place to [-clipValue, clipValue]. */
export function clipGradValue_(parameters: ParameterSource, clipValue: number): void {
  if (typeof clipValue !== "number" || Number.isNaN(clipValue))
    throw new ArgumentError("clipGradValue_", `clipValue must be a number, got ${String(clipValue)}`);
  noGrad(() => {
    for (const g of gradsOf(parameters)) clamp_(g, -clipValue, clipValue);
  });
}
