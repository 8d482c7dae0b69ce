import { type HostArray, IndexError, type ScatterReduce, type StridedRef } from "@dl/tensor";
import { copy } from "./elementwise.js";
import { allocArray } from "./storage.js";
import { contiguousStrides, forEachRow, size } from "./strided.js";

function checkIndex(op: string, i: number, len: number): number {
  if (i < -len || i >= len) throw new IndexError(op, `index ${i} is out of bounds for dimension with size ${len}`);
  return i < 0 ? i + len : i;
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
      out[o++] = src[px + checkIndex("gather", idx[pi] as number, len) * step] as number;
    }
  });
  return out;
}

export function scatter(base: StridedRef, dim: number, index: StridedRef, src: StridedRef, reduce: ScatterReduce): HostArray {
  const out = copy(base, base.dtype);
  const outStrides = contiguousStrides(base.shape);
  const len = base.shape[dim] as number;
  const step = outStrides[dim] as number;
  const os = outStrides.map((s, d) => (d === dim ? 0 : s));
  const idx = index.data as HostArray;
  const sv = src.data as HostArray;
  // For amax/amin PyTorch (include_self=True) combines with the existing value.
  forEachRow(index.shape, [index.offset, src.offset, 0], [index.strides, src.strides, os], (offs, n, inner) => {
    let pi = offs[0] as number;
    let ps = offs[1] as number;
    let po = offs[2] as number;
    for (let j = 0; j < n; j++, pi += inner[0] as number, ps += inner[1] as number, po += inner[2] as number) {
      const at = po + checkIndex("scatter", idx[pi] as number, len) * step;
      const v = sv[ps] as number;
      switch (reduce) {
        case "none":
          out[at] = v;
          break;
        case "add":
          out[at] = (out[at] as number) + v;
          break;
        case "multiply":
          out[at] = (out[at] as number) * v;
          break;
        case "amax":
          out[at] = Math.max(out[at] as number, v);
          break;
        case "amin":
          out[at] = Math.min(out[at] as number, v);
          break;
      }
    }
  });
  return out;
}
