import { noGrad } from "@dl/autograd";
import { ArgumentError, type Generator, ShapeError, type Tensor, eye, fromHost, namedTuple, normal, uniform } from "@dl/tensor";

/**
 * Parameter initialization (torch.nn.init). Each function fills a tensor in place without
 * recording gradients and returns it. Random draws use @dl/tensor's seeded generators.
 */

type Nonlinearity = "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      return 1;
  }
}

/**
 * fan_in and fan_out of a weight: [out, in, ...kernel] (PyTorch's _calculate_fan_in_and_fan_out):
 * `calculateFans(w).fanIn`, or `const [fanIn, fanOut] = calculateFans(w)` as the tuple.
 */
export function calculateFans(t: Tensor): { fanIn: number; fanOut: number } & Iterable<number> {
  if (t.ndim < 2) throw new ShapeError("init", `fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape [${t.shape.join(",")}])`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return namedTuple({ fanIn: (t.shape[1] as number) * receptive, fanOut: (t.shape[0] as number) * receptive });
}

const fill = (t: Tensor, src: Tensor): Tensor => noGrad(() => t.copy_(src));
type Gen = { generator?: Generator };

export const uniform_ = (t: Tensor, a = 0, b = 1, o: Gen = {}): Tensor => fill(t, uniform(a, b, t.shape, { dtype: t.dtype, device: t.device, generator: o.generator }));
export const normal_ = (t: Tensor, mean = 0, std = 1, o: Gen = {}): Tensor => fill(t, normal(mean, std, t.shape, { dtype: t.dtype, device: t.device, generator: o.generator }));
export const constant_ = (t: Tensor, value: number): Tensor => noGrad(() => t.fill_(value));
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export function eye_(t: Tensor): Tensor {
  if (t.ndim !== 2) throw new ShapeError("eye_", `only tensors with 2 dimensions are supported, got shape [${t.shape.join(",")}]`);
  return fill(t, eye(t.shape[0] as number, t.shape[1] as number, { dtype: t.dtype, device: t.device }));
}

export function xavierUniform_(t: Tensor, gainOrOptions: number | (Gen & { gain?: number }) = 1, gen: Gen = {}): Tensor {
  const [gain, o] = typeof gainOrOptions === "object" ? [gainOrOptions.gain ?? 1, gainOrOptions] : [gainOrOptions, gen];
  const { fanIn, fanOut } = calculateFans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, o);
}

export function xavierNormal_(t: Tensor, gainOrOptions: number | (Gen & { gain?: number }) = 1, gen: Gen = {}): Tensor {
  const [gain, o] = typeof gainOrOptions === "object" ? [gainOrOptions.gain ?? 1, gainOrOptions] : [gainOrOptions, gen];
  const { fanIn, fanOut } = calculateFans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), o);
}

export interface KaimingOptions extends Gen {
  a?: number;
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const { fanIn, fanOut } = calculateFans(t);
  const fan = (o.mode ?? "fan_in") === "fan_in" ? fanIn : fanOut;
  return calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan);
}

/** PyTorch's (a, mode, nonlinearity) positionally, or one options object. */
function kaimingArgs(a: number | KaimingOptions, mode?: KaimingOptions["mode"], nonlinearity?: Nonlinearity): KaimingOptions {
  return typeof a === "object" ? a : { a, mode, nonlinearity };
}

export function kaimingUniform_(t: Tensor, aOrOptions: number | KaimingOptions = {}, mode?: KaimingOptions["mode"], nonlinearity?: Nonlinearity): Tensor {
  const o = kaimingArgs(aOrOptions, mode, nonlinearity);
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform_(t, -bound, bound, o);
}

export function kaimingNormal_(t: Tensor, aOrOptions: number | KaimingOptions = {}, mode?: KaimingOptions["mode"], nonlinearity?: Nonlinearity): Tensor {
  const o = kaimingArgs(aOrOptions, mode, nonlinearity);
  return normal_(t, 0, kaimingStd(t, o), o);
}

/** Normal values redrawn until they fall in [a, b] (torch.nn.init.trunc_normal_). */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, o: Gen = {}): Tensor {
  if (!(a < b)) throw new ArgumentError("truncNormal_", `expected a < b, got a=${a}, b=${b}`);
  const n = t.numel();
  const values = new Float64Array(n);
  let filled = 0;
  while (filled < n) {
    const draw = normal(mean, std, [Math.max(16, n - filled)], { dtype: "float64", generator: o.generator }).dataSync();
    for (const v of draw) if (v >= a && v <= b && filled < n) values[filled++] = v;
  }
  return fill(t, fromHost(values, t.shape, { dtype: t.dtype, device: t.device }));
}

/** A (semi-)orthogonal matrix from the QR decomposition of a normal matrix (torch.nn.init.orthogonal_). */
export function orthogonal_(t: Tensor, gain = 1, o: Gen = {}): Tensor {
  if (t.ndim < 2) throw new ShapeError("orthogonal_", "only tensors with 2 or more dimensions are supported");
  const rows = t.shape[0] as number;
  const cols = t.numel() / rows;
  const tall = rows < cols ? [cols, rows] : [rows, cols];
  const [m, k] = tall as [number, number];
  const a = Array.from(normal(0, 1, [m, k], { dtype: "float64", generator: o.generator }).dataSync());
  // Modified Gram-Schmidt on the columns of a (m x k, m >= k): Q has orthonormal columns.
  const q = new Float64Array(m * k);
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = a[i * k + j] as number;
    let rjj = 0;
    for (let p = 0; p < j; p++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += (q[i * k + p] as number) * (v[i] as number);
      for (let i = 0; i < m; i++) v[i] = (v[i] as number) - dot * (q[i * k + p] as number);
    }
    for (let i = 0; i < m; i++) rjj += (v[i] as number) ** 2;
    rjj = Math.sqrt(rjj);
    // Gram-Schmidt leaves diag(R) positive, which is the sign convention PyTorch applies to its QR.
    for (let i = 0; i < m; i++) q[i * k + j] = (v[i] as number) / rjj;
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows < cols ? (q[c * k + r] as number) : (q[r * k + c] as number));
  return fill(t, fromHost(out, t.shape, { dtype: t.dtype, device: t.device }));
}
