import type { AdamStepOptions, SgdStepOptions, StridedRef } from "@dl/tensor";
import { numel } from "@dl/tensor";

type F = Float32Array | Float64Array;
const arr = (x: StridedRef) => x.data as F;

/**
 * One Adam/AdamW step in place over contiguous views, in float64 with one rounding per stored
 * value; the operations are those of the composed update, in its order.
 */
export function adamStep(
  pRef: StridedRef,
  gRef: StridedRef,
  mRef: StridedRef,
  vRef: StridedRef,
  xRef: StridedRef | null,
  o: AdamStepOptions,
): void {
  const [p, g, m, v] = [pRef, gRef, mRef, vRef].map(arr) as [F, F, F, F];
  const vmax = xRef && arr(xRef);
  const { beta1, beta2, eps } = o;
  const stepSize = o.lr / (1 - beta1 ** o.step);
  const bc2 = Math.sqrt(1 - beta2 ** o.step);
  const decay = o.decoupled ? 1 - o.lr * o.weightDecay : 1;
  const l2 = o.decoupled ? 0 : o.weightDecay;
  const n = numel(pRef.shape);
  for (let i = 0; i < n; i++) {
    const pi = pRef.offset + i;
    let gv = g[gRef.offset + i] as number;
    if (o.maximize) gv = -gv;
    let pv = p[pi] as number;
    if (l2 !== 0) gv += l2 * pv;
    pv *= decay;
    const mv = (m[mRef.offset + i] as number) * beta1 + (1 - beta1) * gv;
    let vv = (v[vRef.offset + i] as number) * beta2 + (1 - beta2) * gv * gv;
    m[mRef.offset + i] = mv;
    v[vRef.offset + i] = vv;
    if (vmax && xRef) {
      vv = Math.max(vmax[xRef.offset + i] as number, vv);
      vmax[xRef.offset + i] = vv;
    }
    p[pi] = pv + (-stepSize * mv) / (Math.sqrt(vv) / bc2 + eps);
  }
}

/** One SGD step in place (momentum buffer: b = momentum * b + (1 - dampening) * d, or d on the first step). */
export function sgdStep(pRef: StridedRef, gRef: StridedRef, bRef: StridedRef | null, o: SgdStepOptions): void {
  const p = arr(pRef);
  const g = arr(gRef);
  const buf = bRef && arr(bRef);
  const n = numel(pRef.shape);
  for (let i = 0; i < n; i++) {
    const pi = pRef.offset + i;
    let d = g[gRef.offset + i] as number;
    if (o.maximize) d = -d;
    if (o.weightDecay !== 0) d += o.weightDecay * (p[pi] as number);
    if (buf && bRef) {
      const bi = bRef.offset + i;
      const b = o.firstStep ? d : (buf[bi] as number) * o.momentum + (1 - o.dampening) * d;
      buf[bi] = b;
      d = o.nesterov ? d + o.momentum * b : b;
    }
    p[pi] = (p[pi] as number) + -o.lr * d;
  }
}
