import { type DType, isFloating } from "./dtype.js";
import { ArgumentError, DTypeError, describeValue } from "./errors.js";

/**
 * Automatic mixed precision (torch.autocast): inside autocast(fn), matrix products (matmul and
 * everything built on it: linear layers, convolutions, attention) cast their floating inputs to a
 * lower precision and return that precision; every other op runs in its inputs' dtype, so ops mixing
 * a half result with float32 promote back to float32. Casts are recorded, so gradients reach
 * float32 parameters in float32.
 *
 * On backends without fast half arithmetic (the CPU) this is correct but not faster: values are
 * rounded to the half format after each product, exactly as a half-precision device would.
 */
export const autocastState: { dtype: DType | null } = { dtype: null };

export interface AutocastOptions {
  /** float16 or bfloat16 (PyTorch's CPU default). */
  dtype?: DType;
  enabled?: boolean;
}

export function autocast<T>(fn: () => T, options: AutocastOptions = {}): T {
  if (typeof fn !== "function") throw new ArgumentError("autocast", `argument 'fn' must be a function, but got ${describeValue(fn)}`);
  const dtype = options.dtype ?? "bfloat16";
  if (dtype !== "float16" && dtype !== "bfloat16") {
    throw new DTypeError("autocast", `expected dtype float16 or bfloat16, got ${dtype}`);
  }
  const prev = autocastState.dtype;
  autocastState.dtype = options.enabled === false ? null : dtype;
  try {
    return fn();
  } finally {
    autocastState.dtype = prev;
  }
}

/** The dtype a matrix product computes in under the current autocast state. */
export function autocastDtype(dtype: DType): DType {
  const d = autocastState.dtype;
  return d !== null && isFloating(dtype) && dtype !== "float64" ? d : dtype;
}
