import type { AttentionGrads, AttentionOptions, AttentionResult, HostArray, StridedRef } from "@dl/tensor";
import { numel } from "@dl/tensor";
import { exp32 } from "../elementwise.js";
import { gemmView } from "../matmul.js";
import { allocArray, allocArrayUninit, finalize } from "../storage.js";

/**
 * Fused scaled dot-product attention (see FusedKernels.attention in @dl/tensor). Rows of q are
 * processed in blocks: the block's scores [rows, S] come from one gemm, are scaled, masked and
 * softmaxed in place, and one more gemm multiplies them with v straight into the output. Only one
 * block of scores exists at a time, so memory grows with S, not with L * S. With `isCausal` the
 * columns that no row of the block may see are never computed.
 */

/** Score elements per row block (~256 KiB of float32): the block stays in L2 between the two gemms. */
const BLOCK_ELEMENTS = 1 << 16;

/** The storage offset of every batch element of x (batch = all dims but the last two). */
function batchOffsets(x: StridedRef): number[] {
  const dims = x.shape.slice(0, -2);
  const n = numel(dims);
  const out = new Array<number>(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let b = 0; b < n; b++) {
    let off = x.offset;
    for (let d = 0; d < dims.length; d++) off += (idx[d] as number) * (x.strides[d] as number);
    out[b] = off;
    for (let d = dims.length - 1; d >= 0 && ++(idx[d] as number) === dims[d]; d--) idx[d] = 0;
  }
  return out;
}

const last = (x: StridedRef, i: number) => x.strides[x.strides.length - i] as number;

interface Geometry {
  batch: number;
  L: number;
  S: number;
  E: number;
  Ev: number;
  qo: number[];
  ko: number[];
  vo: number[];
  mo: number[] | null;
  block: number;
}

function geometry(q: StridedRef, k: StridedRef, v: StridedRef, mask: StridedRef | null): Geometry {
  const L = q.shape[q.shape.length - 2] as number;
  const E = q.shape[q.shape.length - 1] as number;
  const S = k.shape[k.shape.length - 2] as number;
  const Ev = v.shape[v.shape.length - 1] as number;
  return {
    batch: numel(q.shape.slice(0, -2)),
    L,
    S,
    E,
    Ev,
    qo: batchOffsets(q),
    ko: batchOffsets(k),
    vo: batchOffsets(v),
    mo: mask ? batchOffsets(mask) : null,
    block: Math.max(1, Math.min(L, Math.floor(BLOCK_ELEMENTS / Math.max(S, 1)))),
  };
}

/**
 * Scores of rows [r0, r0 + nb) and columns [0, cols) of batch b into sc (row stride cols):
 * scale * q.k, masked. With `lse` the rows become probabilities exp(s - lse[row]) (backward's
 * recomputation); without it they become softmax rows and their logsumexp is stored in lseOut.
 */
function scores(
  q: StridedRef,
  k: StridedRef,
  mask: StridedRef | null,
  o: AttentionOptions,
  g: Geometry,
  b: number,
  r0: number,
  nb: number,
  cols: number,
  sc: Float32Array | Float64Array,
  lse: HostArray | null,
  lseOff: number,
  lseOut: HostArray | null,
): void {
  const qa = q.data as HostArray;
  gemmView(
    qa,
    (g.qo[b] as number) + r0 * last(q, 2),
    last(q, 2),
    last(q, 1),
    k.data as HostArray,
    g.ko[b] as number,
    last(k, 1),
    last(k, 2),
    sc,
    0,
    nb,
    g.E,
    cols,
  );
  const ma = mask ? (mask.data as HostArray) : null;
  const isBool = mask?.dtype === "bool";
  const mrs = mask ? last(mask, 2) : 0;
  const mcs = mask ? last(mask, 1) : 0;
  const f32 = sc instanceof Float32Array;
  const scale = o.scale;
  const NEG = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < nb; i++) {
    const row = r0 + i;
    const base = i * cols;
    // Columns [0, lim) may be visible; causal masking hides the rest of the row.
    const lim = o.isCausal ? Math.min(cols, row + 1) : cols;
    const end = base + lim;
    let m = NEG;
    let nan = false;
    // One loop per mask kind, so that the hot loop carries no per-element branching on it.
    if (ma === null) {
      for (let q = base; q < end; q++) {
        const v = (sc[q] as number) * scale;
        sc[q] = v;
        if (v > m) m = v;
        else if (v !== v) nan = true;
      }
    } else {
      let mp = (g.mo?.[b] as number) + row * mrs;
      if (isBool) {
        for (let q = base; q < end; q++, mp += mcs) {
          if (ma[mp]) {
            const v = (sc[q] as number) * scale;
            sc[q] = v;
            if (v > m) m = v;
            else if (v !== v) nan = true;
          } else sc[q] = NEG;
        }
      } else {
        for (let q = base; q < end; q++, mp += mcs) {
          const v = (sc[q] as number) * scale + (ma[mp] as number);
          sc[q] = v;
          if (v > m) m = v;
          else if (v !== v) nan = true;
        }
      }
    }
    if (nan) m = Number.NaN; // NaN anywhere makes the whole row NaN, as the composed softmax does
    // Hidden causal columns are exactly 0 after the softmax.
    sc.fill(0, end, base + cols);
    if (lse) {
      const l = lse[lseOff + i] as number;
      if (f32) exp32(sc, base, sc, base, 1, lim, l);
      else for (let q = base; q < end; q++) sc[q] = Math.exp((sc[q] as number) - l);
      continue;
    }
    let sum = 0;
    if (f32) sum = exp32(sc, base, sc, base, 1, lim, m);
    else
      for (let q = base; q < end; q++) {
        const e = Math.exp((sc[q] as number) - m);
        sc[q] = e;
        sum += e;
      }
    const inv = 1 / sum;
    for (let q = base; q < end; q++) sc[q] = (sc[q] as number) * inv;
    if (lseOut) lseOut[lseOff + i] = m + Math.log(sum);
  }
}

const scratch = (dtype: string, n: number) => (dtype === "float64" ? new Float64Array(n) : new Float32Array(n));

export function attention(q: StridedRef, k: StridedRef, v: StridedRef, mask: StridedRef | null, o: AttentionOptions): AttentionResult {
  const g = geometry(q, k, v, mask);
  const { L, S, Ev, batch, block } = g;
  const out = allocArrayUninit(batch * L * Ev, q.dtype);
  const lse = allocArrayUninit(batch * L, q.dtype);
  const sc = scratch(q.dtype, block * S);
  for (let b = 0; b < batch; b++) {
    for (let r0 = 0; r0 < L; r0 += block) {
      const nb = Math.min(block, L - r0);
      // Causal: no row of this block sees a column past its last row.
      const cols = o.isCausal ? Math.min(S, r0 + nb) : S;
      scores(q, k, mask, o, g, b, r0, nb, cols, sc, null, b * L + r0, lse);
      gemmView(sc, 0, cols, 1, v.data as HostArray, g.vo[b] as number, last(v, 2), last(v, 1), out, (b * L + r0) * Ev, nb, cols, Ev);
    }
  }
  return { out: finalize(out, q.dtype), lse: finalize(lse, q.dtype) };
}

export function attentionBackward(
  gRef: StridedRef,
  q: StridedRef,
  k: StridedRef,
  v: StridedRef,
  mask: StridedRef | null,
  outRef: StridedRef,
  lseRef: StridedRef,
  o: AttentionOptions,
): AttentionGrads {
  const g = geometry(q, k, v, mask);
  const { L, S, E, Ev, batch, block } = g;
  const go = batchOffsets(gRef);
  const oo = batchOffsets(outRef);
  const ga = gRef.data as HostArray;
  const oa = outRef.data as HostArray;
  const la = lseRef.data as HostArray;
  const lo = lseRef.offset;
  const ls = last(lseRef, 1);
  const gq = allocArrayUninit(batch * L * E, q.dtype);
  const gk = allocArray(batch * S * E, q.dtype);
  const gv = allocArray(batch * S * Ev, q.dtype);
  const p = scratch(q.dtype, block * S);
  const dp = scratch(q.dtype, block * S);
  const lseBlock = scratch(q.dtype, block);
  for (let b = 0; b < batch; b++) {
    const gb = go[b] as number;
    const ob = oo[b] as number;
    for (let r0 = 0; r0 < L; r0 += block) {
      const nb = Math.min(block, L - r0);
      const cols = o.isCausal ? Math.min(S, r0 + nb) : S;
      for (let i = 0; i < nb; i++) lseBlock[i] = la[lo + (b * L + r0 + i) * ls] as number;
      scores(q, k, mask, o, g, b, r0, nb, cols, p, lseBlock, 0, null);
      const gOff = gb + r0 * last(gRef, 2);
      // gv += p^T g
      gemmView(p, 0, 1, cols, ga, gOff, last(gRef, 2), last(gRef, 1), gv, b * S * Ev, cols, nb, Ev, true);
      // dp = g v^T
      gemmView(ga, gOff, last(gRef, 2), last(gRef, 1), v.data as HostArray, g.vo[b] as number, last(v, 1), last(v, 2), dp, 0, nb, Ev, cols);
      // ds = scale * p * (dp - rowsum(g * out)), into dp
      for (let i = 0; i < nb; i++) {
        let d = 0;
        let gp = gOff + i * last(gRef, 2);
        let op = ob + (r0 + i) * last(outRef, 2);
        for (let j = 0; j < Ev; j++, gp += last(gRef, 1), op += last(outRef, 1)) d += (ga[gp] as number) * (oa[op] as number);
        const base = i * cols;
        for (let j = 0; j < cols; j++) dp[base + j] = o.scale * (p[base + j] as number) * ((dp[base + j] as number) - d);
      }
      // gq = ds k ; gk += ds^T q
      gemmView(dp, 0, cols, 1, k.data as HostArray, g.ko[b] as number, last(k, 2), last(k, 1), gq, (b * L + r0) * E, nb, cols, E);
      gemmView(
        dp,
        0,
        1,
        cols,
        q.data as HostArray,
        (g.qo[b] as number) + r0 * last(q, 2),
        last(q, 2),
        last(q, 1),
        gk,
        b * S * E,
        cols,
        nb,
        E,
        true,
      );
    }
  }
  return { gq: finalize(gq, q.dtype), gk: finalize(gk, q.dtype), gv: finalize(gv, q.dtype) };
}
