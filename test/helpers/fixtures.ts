import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DType, Tensor, fromHost } from "@dl/tensor";
import { expect } from "vitest";

/** A tensor as the Python generators encode it (see tooling/fixtures/common.py). */
export interface TSpec {
  dtype: DType;
  shape: number[];
  data: (number | string | boolean)[];
}

const root = join(import.meta.dirname, "..", "fixtures");

// biome-ignore lint/suspicious/noExplicitAny: fixture files are free-form JSON
export function loadFixtures(name: string): any {
  return JSON.parse(readFileSync(join(root, `${name}.json`), "utf8"));
}

export function decode(v: number | string | boolean): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v === "nan") return Number.NaN;
  if (v === "inf") return Number.POSITIVE_INFINITY;
  if (v === "-inf") return Number.NEGATIVE_INFINITY;
  return v as number;
}

export function isSpec(x: unknown): x is TSpec {
  return typeof x === "object" && x !== null && "dtype" in x && "shape" in x && "data" in x;
}

/** Builds the tensor a fixture describes, on the default device. */
export function fromSpec(spec: TSpec, options: { device?: string; requiresGrad?: boolean } = {}): Tensor {
  return fromHost(spec.data.map(decode), spec.shape, { dtype: spec.dtype, ...options });
}

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /** Compare dtype too (default true). */
  dtype?: boolean;
}

const defaultTol: Partial<Record<DType, [number, number]>> = {
  float64: [1e-7, 1e-10],
  float32: [1.3e-5, 1e-5],
  float16: [1e-3, 1e-3],
  bfloat16: [1.6e-2, 1e-2],
};

/** Asserts dtype, shape and values (NaN matches NaN, infinities match exactly). */
export function expectClose(actual: Tensor, expected: TSpec, options: CloseOptions = {}): void {
  if (options.dtype !== false) expect(actual.dtype).toBe(expected.dtype);
  expect([...actual.shape]).toEqual(expected.shape);
  const got = actual.dataSync();
  const want = expected.data.map(decode);
  const [rt, at] = defaultTol[expected.dtype] ?? [0, 0];
  const rtol = options.rtol ?? rt;
  const atol = options.atol ?? at;
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${w}`);
  }
  expect(bad, `values differ (rtol ${rtol}, atol ${atol})`).toEqual([]);
}
