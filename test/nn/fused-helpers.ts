import { type FusedKernels, type Tensor, getBackend, mul, randn, sum } from "@dl/tensor";
import { vi } from "vitest";

/** The fused-kernel table of the backend serving `device` (shared by its test wrapper). */
export function fusedTable(device: string): FusedKernels {
  const table = getBackend(device).fused;
  if (table === undefined) throw new Error(`${device} has no fused kernels`);
  return table;
}

/** Runs fn with the named fused kernels removed from the device's backend: the generic path. */
export function withoutKernels<T>(device: string, names: readonly (keyof FusedKernels)[], fn: () => T): T {
  const table = fusedTable(device) as Record<string, unknown>;
  const saved = names.map((n) => [n, table[n]] as const);
  for (const n of names) delete table[n];
  try {
    return fn();
  } finally {
    for (const [n, v] of saved) table[n] = v;
  }
}

/** Spies on fused kernels (call counts), restoring them after fn. */
export function countingCalls<T>(device: string, names: readonly (keyof FusedKernels)[], fn: () => T): [T, Record<string, number>] {
  const table = fusedTable(device) as Required<FusedKernels>;
  const spies = names.map((n) => vi.spyOn(table, n));
  try {
    const r = fn();
    return [r, Object.fromEntries(names.map((n, i) => [n, (spies[i] as { mock: { calls: unknown[] } }).mock.calls.length]))];
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/**
 * Output and input gradients of f on fresh leaves holding `inputs`' values, under a fixed random
 * upstream gradient, as host arrays.
 */
export function outputAndGrads(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], seedGrad: Tensor | null = null): number[][] {
  const leaves = inputs.map((t) => t.detach().clone().requiresGrad_());
  const y = f(...leaves);
  const g = seedGrad ?? randn(y.shape, { dtype: y.dtype });
  sum(mul(y, g)).backward();
  return [Array.from(y.dataSync()), ...leaves.map((l) => Array.from((l.grad as Tensor).dataSync()))];
}

/** Element-wise |a - b| <= atol + rtol * |b| (NaN matches NaN, infinities match exactly). */
export function expectClose(got: readonly number[], want: readonly number[], what: string, tol = 1e-4): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const a = got[i] as number;
    const b = want[i] as number;
    const same = Number.isNaN(a) ? Number.isNaN(b) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= tol + tol * Math.abs(b);
    if (!same) throw new Error(`${what}: element ${i} is ${a}, expected ${b}`);
  }
}
