import { type DType, type HostArray, IndexError, type ScatterReduce, type StridedRef, castScalar } from "@dl/tensor";
import { copy } from "./elementwise.js";
import { allocArray } from "./storage.js";
import { contiguousStrides, forEachRow, size } from "./strided.js";

// As PyTorch's gather/scatter kernels: indices must lie in [0, size); negative indices are an
// error here (ops that accept them, like take or x[idx], wrap them before calling the kernel).
function checkIndex(op: string, i: number, dim: number, len: number): number {
  if (!(i >= 0 && i < len)) throw new IndexError(op, `index ${i} is out of bounds for dimension ${dim} with size ${len}`);
  return i;
}

/** out has index's shape; out[..i..] = x[..index[..i..]..] along dim. */
export function gather(x: StridedRef, dim: number, index: StridedRef): HostArray {
  const out = allocArray(size(index.shape), x.dtype);
  const src = x.data as HostArray;
  const idx = index.data as HostArray;
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  // Walk index and x together with x's stride along dim zeroed; add the gathered offset.
  const xs = x.strides.map((s, d) => (d === dim ? 0 : s));
  let o = 0;
  forEachRow(index.shape, [index.offset, x.offset], [index.strides, xs], (offs, n, inner) => {
    let pi = offs[0] as number;
    let px = offs[1] as number;
    for (let j = 0; j < n; j++, pi += inner[0] as number, px += inner[1] as number) {
      out[o++] = src[px + checkIndex("gather", idx[pi] as number, dim, len) * step] as number;
    }
  });
  return out;
}

// Accumulating reductions leave the dtype's value set (bool sums, int64 products, half
// precision), so each combined value is rounded as PyTorch's per-element kernels do.
const rounds = (d: DType) => d === "bool" || d === "int64" || d === "float16" || d === "bfloat16";

export function scatter(base: StridedRef, dim: number, index: StridedRef, src: StridedRef, reduce: ScatterReduce): HostArray {
  const out = copy(base, base.dtype);
  const outStrides = contiguousStrides(base.shape);
  const len = base.shape[dim] as number;
  const step = outStrides[dim] as number;
  const os = outStrides.map((s, d) => (d === dim ? 0 : s));
  const idx = index.data as HostArray;
  const sv = src.data as HostArray;
  const round = reduce !== "none" && rounds(base.dtype);
  // amax/amin combine with the existing value (PyTorch's include_self=True); NaN propagates.
  forEachRow(index.shape, [index.offset, src.offset, 0], [index.strides, src.strides, os], (offs, n, inner) => {
    let pi = offs[0] as number;
    let ps = offs[1] as number;
    let po = offs[2] as number;
    for (let j = 0; j < n; j++, pi += inner[0] as number, ps += inner[1] as number, po += inner[2] as number) {
      const at = po + checkIndex("scatter", idx[pi] as number, dim, len) * step;
      const v = sv[ps] as number;
      const cur = out[at] as number;
      let r: number;
      switch (reduce) {
        case "none":
          r = v;
          break;
        case "add":
          r = cur + v;
          break;
        case "multiply":
          r = cur * v;
          break;
        case "amax":
          r = Math.max(cur, v);
          break;
        case "amin":
          r = Math.min(cur, v);
          break;
      }
      out[at] = round ? castScalar(r, base.dtype) : r;
    }
  });
  return out;
}
