import type { BinaryOp, DType, HostArray, StridedRef, UnaryOp } from "@dl/tensor";
import { binaryFns, unaryFns } from "./math.js";
import { allocArray, finalize, freeArray } from "./storage.js";
import { forEachRow, size } from "./strided.js";

const data = (x: StridedRef) => x.data as HostArray;

/** Contiguous copy of a strided view, converted to dtype. */
export function copy(x: StridedRef, dtype: DType): HostArray {
  const out = allocArray(size(x.shape), dtype);
  const src = data(x);
  const toBool = dtype === "bool" && x.dtype !== "bool";
  let o = 0;
  forEachRow(x.shape, [x.offset], [x.strides], (offs, n, inner) => {
    const s = inner[0] as number;
    let p = offs[0] as number;
    if (s === 1 && out.constructor === src.constructor && !toBool) {
      out.set(src.subarray(p, p + n), o);
      o += n;
      return;
    }
    // A Uint8Array would store 0.5 or 256 as 0: truthiness must be decided before the store.
    if (toBool) for (let j = 0; j < n; j++, p += s) out[o++] = (src[p] as number) !== 0 ? 1 : 0;
    else for (let j = 0; j < n; j++, p += s) out[o++] = src[p] as number;
  });
  return dtype !== x.dtype ? finalize(out, dtype) : out;
}

/** Writes src (broadcast to dst's shape) into dst's strided view, converting to dst's dtype. */
export function write(dst: StridedRef, src: StridedRef): void {
  const d = data(dst);
  // Convert into a temporary first: dst and src may overlap (x.copy_(x.flip(0))).
  const values = copy(src, dst.dtype);
  let i = 0;
  forEachRow(dst.shape, [dst.offset], [dst.strides], (offs, n, inner) => {
    const st = inner[0] as number;
    let p = offs[0] as number;
    for (let j = 0; j < n; j++, p += st) d[p] = values[i++] as number;
  });
  freeArray(values);
}

export function unary(op: UnaryOp, x: StridedRef, dtype: DType): HostArray {
  const f = unaryFns[op];
  const out = allocArray(size(x.shape), dtype);
  const src = data(x);
  let o = 0;
  forEachRow(x.shape, [x.offset], [x.strides], (offs, n, inner) => {
    const s = inner[0] as number;
    let p = offs[0] as number;
    for (let j = 0; j < n; j++, p += s) out[o++] = f(src[p] as number);
  });
  return finalize(out, dtype);
}

// Hand-written inner loops for the hottest ops; the rest go through the scalar table.
type Inner = (out: HostArray, o: number, a: HostArray, pa: number, sa: number, b: HostArray, pb: number, sb: number, n: number) => void;
const innerLoops: Partial<Record<BinaryOp, Inner>> = {
  add: (out, o, a, pa, sa, b, pb, sb, n) => {
    for (let j = 0; j < n; j++, pa += sa, pb += sb) out[o + j] = (a[pa] as number) + (b[pb] as number);
  },
  sub: (out, o, a, pa, sa, b, pb, sb, n) => {
    for (let j = 0; j < n; j++, pa += sa, pb += sb) out[o + j] = (a[pa] as number) - (b[pb] as number);
  },
  mul: (out, o, a, pa, sa, b, pb, sb, n) => {
    for (let j = 0; j < n; j++, pa += sa, pb += sb) out[o + j] = (a[pa] as number) * (b[pb] as number);
  },
  div: (out, o, a, pa, sa, b, pb, sb, n) => {
    for (let j = 0; j < n; j++, pa += sa, pb += sb) out[o + j] = (a[pa] as number) / (b[pb] as number);
  },
};

export function binary(op: BinaryOp, a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const out = allocArray(size(a.shape), dtype);
  const da = data(a);
  const db = data(b);
  let o = 0;
  const loop = innerLoops[op];
  if (loop) {
    forEachRow(a.shape, [a.offset, b.offset], [a.strides, b.strides], (offs, n, inner) => {
      loop(out, o, da, offs[0] as number, inner[0] as number, db, offs[1] as number, inner[1] as number, n);
      o += n;
    });
  } else {
    const f = binaryFns[op];
    forEachRow(a.shape, [a.offset, b.offset], [a.strides, b.strides], (offs, n, inner) => {
      const sa = inner[0] as number;
      const sb = inner[1] as number;
      let pa = offs[0] as number;
      let pb = offs[1] as number;
      for (let j = 0; j < n; j++, pa += sa, pb += sb) out[o++] = f(da[pa] as number, db[pb] as number);
    });
  }
  return finalize(out, dtype);
}

export function where(cond: StridedRef, a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const out = allocArray(size(a.shape), dtype);
  const dc = data(cond);
  const da = data(a);
  const db = data(b);
  let o = 0;
  forEachRow(a.shape, [cond.offset, a.offset, b.offset], [cond.strides, a.strides, b.strides], (offs, n, inner) => {
    let pc = offs[0] as number;
    let pa = offs[1] as number;
    let pb = offs[2] as number;
    const [sc, sa, sb] = inner as [number, number, number];
    for (let j = 0; j < n; j++, pc += sc, pa += sa, pb += sb) out[o++] = (dc[pc] as number) !== 0 ? (da[pa] as number) : (db[pb] as number);
  });
  return finalize(out, dtype);
}
