import { defineFunction } from "@dl/autograd";
import {
  ArgumentError,
  DLError,
  type DType,
  type FusedKernels,
  ShapeError,
  Tensor,
  add,
  add_,
  fmtShape,
  fromHost,
  full,
  fusedKernel,
  gatherOp,
  sum,
  tidy,
  type WindowGeometry,
  describeValue,
} from "@dl/tensor";

/**
 * Internal machinery shared by conv, pooling, fold/unfold and interpolate (not part of F):
 * argument normalization, PyTorch's output-size rules, and the im2col / col2im pair.
 *
 * im2col and col2im are adjoint custom autograd functions: im2col copies the sliding windows of a
 * zero-padded input out of strided Tensor.unfold views (one copy), and its backward is col2im,
 * which sums the windows back with one strided add per kernel tap; col2im's backward is im2col.
 * Both directions are therefore a handful of large primitives, and any order of derivative works.
 * Stride-1 convolutions use the "flat" variant below (long contiguous runs, and a col2im that is
 * one reduction over a strided view); nothing here reads data to the host. A backend with the
 * fused im2col/col2im kernels runs each direction as one kernel instead (see hasFusedIm2col).
 */

/** An int or a tuple of `n` ints, as PyTorch's _single/_pair/_triple accept. */
export type IntOrTuple = number | readonly number[];

/** PyTorch's _ntuple: expands an int to n copies; validates a tuple's length and integrality. */
export function ntuple(op: string, name: string, v: IntOrTuple, n: number): number[] {
  if (typeof v !== "number" && !Array.isArray(v))
    throw new ArgumentError(op, `${name} must be an int or a tuple of ${n} ints, got ${describeValue(v)}`);
  const out = typeof v === "number" ? new Array<number>(n).fill(v) : [...v];
  if (out.length !== n) throw new ArgumentError(op, `${name} must be an int or a tuple of ${n} ints, got ${fmtPy(v)}`);
  if (out.some((x) => !Number.isInteger(x))) throw new ArgumentError(op, `${name} must contain integers, got ${fmtPy(v)}`);
  return out;
}

/** Python's str() of an int, float, bool, None, string or tuple, for PyTorch-identical reprs. */
export function fmtPy(v: unknown, options: { float?: boolean } = {}): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") return options.float ? pyFloat(v) : String(v);
  if (Array.isArray(v)) {
    const items = v.map((x) => fmtPy(x, options));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
  }
  return String(v);
}

/** Python's repr of a float: 2 -> "2.0", 0.5 -> "0.5", 1e-5 -> "1e-05". */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const s = String(x);
  // JS writes 1e-7 where Python writes 1e-07.
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

/**
 * The window arrangement of a 2-D sliding-window op over [N, C, H, W]: kernel (kh, kw), stride,
 * dilation, the top/left padding (pt, pl), and the number of windows (ho, wo). Windows may run past
 * the bottom/right of the input (padding or ceil mode); those positions read `fill`.
 */
export type Geometry = WindowGeometry;

/** Rows and columns of the padded canvas the windows read: [-pt, canvasH - pt) in input coordinates. */
const canvasH = (g: Geometry) => (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1;
const canvasW = (g: Geometry) => (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1;

/** floor((size + padTotal - dilation * (kernel - 1) - 1) / stride) + 1: the conv output size (may be < 1). */
export function convOutSize(size: number, kernel: number, stride: number, padTotal: number, dilation: number): number {
  return Math.floor((size + padTotal - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** PyTorch's pooling_output_shape, with ceil mode's rule that the last window starts inside the input. */
export function poolOutSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const num = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(num / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * The input laid on a canvas filled with `fill` so that every window lies inside it, or the input
 * itself when no padding is needed. Not recorded (callers run it under noGrad).
 */
function canvas(x: Tensor, g: Geometry, fill: number): Tensor {
  const ch = canvasH(g);
  const cw = canvasW(g);
  if (g.pt === 0 && g.pl === 0 && ch <= g.h && cw <= g.w) return x;
  const out = full([g.n, g.c, ch, cw], fill, { dtype: x.dtype, device: x.device });
  const hv = Math.min(g.h, ch - g.pt);
  const wv = Math.min(g.w, cw - g.pl);
  if (hv > 0 && wv > 0)
    out
      .narrow(2, g.pt, hv)
      .narrow(3, g.pl, wv)
      .copy_(x.narrow(2, 0, hv).narrow(3, 0, wv));
  return out;
}

/** The windows of x as a strided view [N, C, kh, kw, ho, wo] (no copy, not recorded). */
export function windowsView(x: Tensor, g: Geometry, fill = 0): Tensor {
  const c = canvas(x, g, fill);
  let v = c.unfold(2, (g.kh - 1) * g.dh + 1, g.sh).unfold(3, (g.kw - 1) * g.dw + 1, g.sw);
  v = v.narrow(2, 0, g.ho).narrow(3, 0, g.wo);
  if (g.dh > 1) v = v.slice(4, null, null, g.dh);
  if (g.dw > 1) v = v.slice(5, null, null, g.dw);
  return v.permute(0, 1, 4, 5, 2, 3);
}

const invert = (order: readonly number[]) => {
  const inv = new Array<number>(order.length);
  order.forEach((d, i) => {
    inv[d] = i;
  });
  return inv;
};

const isIdentity = (order: readonly number[]) => order.every((d, i) => d === i);

/** A tensor on `like`'s device around the storage a fused kernel returned. */
export function fromKernel(like: Tensor, data: unknown, shape: readonly number[], dtype: DType = like.dtype): Tensor {
  return Tensor.fromData(like.backend, like.device, data, dtype, [...shape]);
}

/** The fused kernel `name` of t's backend; callers check that it exists first. */
export function requireKernel<K extends keyof FusedKernels>(t: Tensor, name: K): NonNullable<FusedKernels[K]> {
  const k = fusedKernel(t, name);
  if (k === undefined) throw new DLError(name, `the ${t.device} backend has no fused ${name} kernel`);
  return k as NonNullable<FusedKernels[K]>;
}

/** Whether x's backend runs im2col and col2im as one kernel each (then the flat layout does not pay). */
export const hasFusedIm2col = (x: Tensor): boolean => fusedKernel(x, "im2col") !== undefined && fusedKernel(x, "col2im") !== undefined;

const windowShape = (g: Geometry) => [g.n, g.c, g.kh, g.kw, g.ho, g.wo];

/**
 * im2col: the windows of x [N, C, H, W] as a contiguous tensor whose dims are the logical
 * [N, C, kh, kw, ho, wo] permuted by `order` (so that the consumer's reshape is free).
 */
const Im2col = defineFunction("Im2col", {
  forward(ctx, x: Tensor, g: Geometry, order: readonly number[], fill: number) {
    ctx.data.g = g;
    ctx.data.order = order;
    const fused = fill === 0 ? fusedKernel(x, "im2col") : undefined;
    if (fused) {
      const shape = windowShape(g);
      return fromKernel(
        x,
        fused(x.ref, g, order),
        order.map((d) => shape[d] as number),
      );
    }
    return tidy(() => {
      const v = windowsView(x, g, fill).permute([...order]);
      // A window view that is already contiguous is x itself (1x1 kernel): copy so the output owns its storage.
      return v.isContiguous() && v._storage === x._storage ? v.clone() : v.contiguous();
    });
  },
  backward(ctx, grad) {
    const order = ctx.data.order as number[];
    return [col2im(grad.permute(invert(order)), ctx.data.g as Geometry, order)];
  },
});

/**
 * col2im: sums windows [N, C, kh, kw, ho, wo] (any strides) back into an [N, C, H, W] tensor,
 * overlapping windows adding up. `order` is the memory order its gradient (an im2col) is made in.
 */
const Col2im = defineFunction("Col2im", {
  forward(ctx, cols: Tensor, g: Geometry, order: readonly number[]) {
    ctx.data.g = g;
    ctx.data.order = order;
    const fused = fusedKernel(cols, "col2im");
    if (fused) return fromKernel(cols, fused(cols.ref, g), [g.n, g.c, g.h, g.w]);
    return tidy(() => {
      const ch = canvasH(g);
      const cw = canvasW(g);
      const acc = full([g.n, g.c, ch, cw], 0, { dtype: cols.dtype, device: cols.device });
      for (let i = 0; i < g.kh; i++) {
        const rows = acc.slice(2, i * g.dh, i * g.dh + (g.ho - 1) * g.sh + 1, g.sh);
        for (let j = 0; j < g.kw; j++) {
          add_(rows.slice(3, j * g.dw, j * g.dw + (g.wo - 1) * g.sw + 1, g.sw), cols.select(2, i).select(2, j));
        }
      }
      // Crop the padding; input rows/columns no window reaches get zeros.
      const hv = Math.min(g.h, ch - g.pt);
      const wv = Math.min(g.w, cw - g.pl);
      if (hv === g.h && wv === g.w) {
        if (g.pt === 0 && g.pl === 0 && ch === g.h && cw === g.w) return acc;
        return acc.narrow(2, g.pt, g.h).narrow(3, g.pl, g.w).clone();
      }
      const out = full([g.n, g.c, g.h, g.w], 0, { dtype: cols.dtype, device: cols.device });
      if (hv > 0 && wv > 0)
        out
          .narrow(2, 0, hv)
          .narrow(3, 0, wv)
          .copy_(acc.narrow(2, g.pt, hv).narrow(3, g.pl, wv));
      return out;
    });
  },
  backward(ctx, grad) {
    const order = ctx.data.order as number[];
    return [im2col(grad, ctx.data.g as Geometry, order).permute(invert(order))];
  },
});

/** Windows of x as a contiguous [N, C, kh, kw, ho, wo] permuted by order (differentiable). */
export function im2col(x: Tensor, g: Geometry, order: readonly number[] = [0, 1, 2, 3, 4, 5], fill = 0): Tensor {
  return Im2col(x, g, order, fill);
}

/** Sum of windows [N, C, kh, kw, ho, wo] into [N, C, H, W] (differentiable); see Col2im. */
export function col2im(cols: Tensor, g: Geometry, order: readonly number[] = [0, 1, 2, 3, 4, 5]): Tensor {
  return Col2im(cols, g, isIdentity(order) ? [0, 1, 2, 3, 4, 5] : order);
}

// ---- the flat layout: stride-1 windows as contiguous runs ----
//
// With stride 1, the windows of one kernel tap (i, j) over a zero-padded canvas of width Wc are the
// contiguous run canvas.flat[i*dh*Wc + j*dw, + ho*Wc) if every output row is computed at all Wc
// positions; the last (kw-1)*dw positions of each row are wrap-around garbage that the conv crops.
// Copying runs of ho*Wc elements instead of rows of wo makes im2col several times cheaper. Each
// run is extended by a few more garbage positions to a row length r: when the garbage positions
// carry zero gradient (the conv's crop guarantees it), col2im becomes a single reduction over a
// strided view of the gradient rows, reads before or after a run landing in those zeros.

/** Whether the flat layout applies (stride 1), pays (little garbage) and covers the whole input. */
export const flatApplies = (g: Geometry) =>
  g.sh === 1 && g.sw === 1 && canvasW(g) <= 2 * g.wo && canvasH(g) - g.pt >= g.h && canvasW(g) - g.pl >= g.w;

/** The flat layout of a geometry: canvas width wc, run = ho * wc, row length r >= run. */
export function flatLayout(g: Geometry): { wc: number; run: number; r: number } {
  const wc = canvasW(g);
  const run = g.ho * wc;
  const maxOff = (g.kh - 1) * g.dh * wc + (g.kw - 1) * g.dw;
  const first = g.pt * wc + g.pl; // canvas position of input pixel (0, 0)
  const last = (g.pt + g.h - 1) * wc + g.pl + g.w - 1;
  // Reads of col2im's view reach maxOff - first before a run and last + 1 - run after it; r > dh * wc
  // keeps every stride of that view positive.
  const r = Math.max(run + Math.max(0, maxOff - first, last + 1 - run), g.dh * wc + 1);
  return { wc, run, r };
}

/** im2col in the flat layout: [C, kh, kw, N, r] (contiguous), differentiable (adjoint: Col2imFlat). */
const Im2colFlat = defineFunction("Im2col", {
  forward(ctx, x: Tensor, g: Geometry) {
    ctx.data.g = g;
    return tidy(() => {
      const { wc, r } = flatLayout(g);
      const maxOff = (g.kh - 1) * g.dh * wc + (g.kw - 1) * g.dw;
      const rows = Math.max(canvasH(g), Math.ceil((maxOff + r) / wc));
      const canvas = full([g.n, g.c, rows, wc], 0, { dtype: x.dtype, device: x.device });
      canvas.narrow(2, g.pt, g.h).narrow(3, g.pl, g.w).copy_(x);
      const v = canvas
        .view(g.n, g.c, rows * wc)
        .unfold(2, r + (g.kw - 1) * g.dw, g.dh * wc)
        .narrow(2, 0, g.kh)
        .unfold(3, r, g.dw);
      return v.permute(1, 2, 3, 0, 4).contiguous();
    });
  },
  backward: (ctx, grad) => [col2imFlat(grad, ctx.data.g as Geometry)],
});

/**
 * Im2colFlat's adjoint on gradients whose garbage positions are zero: [C, kh, kw, N, r] summed
 * into [N, C, H, W] by one reduction over a strided view, in which pixel (n, c, h, w) reads tap
 * (i, j) at its row position minus the tap's offset.
 */
const Col2imFlat = defineFunction("Col2im", {
  forward(ctx, cols: Tensor, g: Geometry) {
    ctx.data.g = g;
    return tidy(() => {
      const { wc, r } = flatLayout(g);
      const kk = g.kh * g.kw;
      const view = asStrided(
        cols.contiguous().view(-1),
        [g.kh, g.kw, g.n, g.c, g.h, g.w],
        [g.kw * g.n * r - g.dh * wc, g.n * r - g.dw, r, kk * g.n * r, wc, 1],
        g.pt * wc + g.pl,
      );
      return sum(view, [0, 1]);
    });
  },
  backward: (ctx, grad) => [im2colFlat(grad, ctx.data.g as Geometry)],
});

/**
 * A view of a contiguous 1-D tensor with arbitrary non-negative strides (torch.as_strided), built
 * from public views: narrow to the span, then one unfold per dim (each window spans the dims after
 * it), then the dims are put back in order. Stride-0 dims are expanded.
 */
export function asStrided(flat: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  const dims = shape.map((_, k) => k).filter((k) => (shape[k] as number) > 1 && (strides[k] as number) > 0);
  let extent = 1;
  for (const k of dims) extent += ((shape[k] as number) - 1) * (strides[k] as number);
  let cur = flat.narrow(0, offset, extent);
  for (const k of dims) {
    extent -= ((shape[k] as number) - 1) * (strides[k] as number);
    cur = cur.unfold(cur.ndim - 1, extent, strides[k] as number);
  }
  // The last window has length 1; cur's dims are then `dims`, in order. Insert the size-1 and
  // broadcast dims.
  let placed = cur.squeeze(cur.ndim - 1);
  const order = [...dims];
  for (let k = 0; k < shape.length; k++) {
    if (order.includes(k)) continue;
    const at = order.filter((d) => d < k).length;
    placed = placed.unsqueeze(at);
    order.splice(at, 0, k);
  }
  return placed.expand([...shape]);
}

export const im2colFlat = (x: Tensor, g: Geometry): Tensor => Im2colFlat(x, g);
const col2imFlat = (cols: Tensor, g: Geometry): Tensor => Col2imFlat(cols, g);

/** The valid outputs [O, N, ho, wo] (strided) of flat-layout rows [O, N, r]. */
const validOf = (rows: Tensor, g: Geometry, wc: number) =>
  rows
    .narrow(2, 0, g.ho * wc)
    .view(rows.shape[0] as number, g.n, g.ho, wc)
    .narrow(3, 0, g.wo);

/**
 * Flat-layout conv rows [O, N, r] (+ bias [O]) -> output [N, O, ho, wo]: drops the garbage
 * positions, adding the bias in the same pass. Adjoint: WidenRows (the bias gradient is a sum).
 */
const CropRows = defineFunction("ConvolutionOutput", {
  forward(ctx, y: Tensor, g: Geometry, bias: Tensor | null) {
    ctx.data.g = g;
    ctx.data.bias = bias !== null;
    const v = validOf(y, g, flatLayout(g).wc).permute(1, 0, 2, 3);
    return bias ? add(v, bias.view(-1, 1, 1)) : v.contiguous();
  },
  backward(ctx, grad) {
    const gy = ctx.needsInputGrad[0] ? widenRows(grad, ctx.data.g as Geometry) : null;
    if (!ctx.data.bias) return [gy];
    return [gy, ctx.needsInputGrad[1] ? sum(grad, [0, 2, 3]) : null];
  },
});

/** [N, O, ho, wo] -> flat-layout rows [O, N, r], zero at every garbage position: the adjoint of CropRows. */
const WidenRows = defineFunction("ConvolutionOutput", {
  forward(ctx, grad: Tensor, g: Geometry) {
    ctx.data.g = g;
    const { wc, r } = flatLayout(g);
    const out = full([grad.shape[1] as number, g.n, r], 0, { dtype: grad.dtype, device: grad.device });
    validOf(out, g, wc).copy_(grad.permute(1, 0, 2, 3));
    return out;
  },
  backward: (ctx, grad) => [cropRows(grad, ctx.data.g as Geometry)],
});

export const cropRows = (y: Tensor, g: Geometry, bias: Tensor | null = null): Tensor => CropRows(y, g, bias);
const widenRows = (grad: Tensor, g: Geometry): Tensor => WidenRows(grad, g);

/** An int64 tensor from host indices. */
export function indexTensor(values: ArrayLike<number>, shape: readonly number[], device: string): Tensor {
  return fromHost(values, shape, { dtype: "int64", device });
}

/** A floating tensor from host values. */
export function valueTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType, device: string): Tensor {
  return fromHost(values, shape, { dtype, device });
}

/**
 * x with dim replaced by `index` positions along it: a gather with the index broadcast (stride 0)
 * over the other dims, so only `index` itself is materialized. Differentiable (gather's backward
 * is a scatter-add). Indices must be in range (callers build them).
 */
export function takeAlong(x: Tensor, dim: number, index: Tensor): Tensor {
  const n = index.numel();
  const shape = x.shape.map((s, k) => (k === dim ? n : s));
  return gatherOp(x, dim, index.view(x.shape.map((_, k) => (k === dim ? n : 1))).expand(shape));
}

export function checkFloating(op: string, x: Tensor): void {
  if (x.dtype !== "float32" && x.dtype !== "float64" && x.dtype !== "float16" && x.dtype !== "bfloat16") {
    throw new ArgumentError(op, `expected a floating point input, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
}

/** Validates the input rank for a k-D spatial op: k+1 (unbatched) or k+2 (batched) dims. */
export function checkRank(op: string, x: Tensor, k: number): boolean {
  if (x.ndim !== k + 1 && x.ndim !== k + 2) {
    throw new ShapeError(op, `expected ${k + 1}D (unbatched) or ${k + 2}D (batched) input, but got input of size ${fmtShape(x.shape)}`);
  }
  return x.ndim === k + 1;
}

export type ConvPadding = IntOrTuple | "same" | "valid";

/** Resolves padding to [before, after] per spatial dim ('same' pads the extra element at the end, as PyTorch). */
export function resolvePadding(
  op: string,
  padding: ConvPadding,
  k: number,
  kernel: number[],
  stride: number[],
  dilation: number[],
): [number, number][] {
  if (padding === "valid") return kernel.map(() => [0, 0]);
  if (padding === "same") {
    if (stride.some((s) => s !== 1))
      throw new ArgumentError(op, `padding='same' is not supported for strided convolutions (stride ${fmtPy(stride)})`);
    return kernel.map((kk, i) => {
      const total = (dilation[i] as number) * (kk - 1);
      const before = Math.floor(total / 2);
      return [before, total - before];
    });
  }
  if (typeof padding === "string") throw new ArgumentError(op, `invalid padding string '${padding}', should be one of 'valid' or 'same'`);
  const p = ntuple(op, "padding", padding, k);
  if (p.some((v) => v < 0)) throw new ArgumentError(op, `negative padding is not supported, got ${fmtPy(padding)}`);
  return p.map((v) => [v, v]);
}

/** Output size of a transposed conv along one dim: (in - 1) s - 2p + d (k - 1) + outputPadding + 1. */
export function convTransposeOutSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  outputPadding: number,
): number {
  return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
}
