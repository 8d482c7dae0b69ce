import { Tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { type TSpec, decode, expectClose, fromSpec, isSpec } from "../helpers/fixtures.js";

/**
 * Runs the case tables of tooling/fixtures/gen_reduce.py and gen_sort.py: each case names an op,
 * an input (stored once under `inputs`), view transforms that make it non-contiguous, the TS
 * arguments, and PyTorch's result or an error pattern.
 */

type Transform = [string, ...unknown[]];

/** The view transforms gen_reduce.py / gen_sort.py apply to inputs (non-contiguous cases). */
function applyTransforms(x: Tensor, tf: Transform[] | undefined): Tensor {
  let t = x;
  for (const [kind, ...a] of tf ?? []) {
    if (kind === "t") t = t.transpose(a[0] as number, a[1] as number);
    else if (kind === "permute") t = t.permute(a[0] as number[]);
    else if (kind === "slice") t = t.slice(a[0] as number, a[1] as number | null, a[2] as number | null, a[3] as number);
    else if (kind === "expand") t = t.expand(a[0] as number[]);
    else throw new Error(`unknown transform ${kind}`);
  }
  return t;
}

/** Fixture arguments: {tensor: spec} becomes a tensor, "inf"/"-inf" numbers, objects recurse. */
function decodeArg(a: unknown): unknown {
  if (a === "inf") return Number.POSITIVE_INFINITY;
  if (a === "-inf") return Number.NEGATIVE_INFINITY;
  if (Array.isArray(a)) return a.map(decodeArg);
  if (a !== null && typeof a === "object") {
    const o = a as Record<string, unknown>;
    if ("tensor" in o) return fromSpec(o.tensor as TSpec);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeArg(v)]));
  }
  return a;
}

/** Compares a Tensor / { values, indices } / { min, max } / [..] result with its fixture. */
function expectResult(actual: unknown, expected: unknown, path = "out"): void {
  if (isSpec(expected)) {
    expect(actual, path).toBeInstanceOf(Tensor);
    expectClose(actual as Tensor, expected);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} is a list`).toBe(true);
    expected.forEach((e, i) => expectResult((actual as unknown[])[i], e, `${path}[${i}]`));
    return;
  }
  for (const [k, v] of Object.entries(expected as Record<string, unknown>)) {
    expectResult((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  }
}

/** Only dtype and shape of a result whose index order may legitimately differ. */
function expectLayout(actual: unknown, expected: TSpec): void {
  expect(actual).toBeInstanceOf(Tensor);
  expect((actual as Tensor).dtype).toBe(expected.dtype);
  expect([...(actual as Tensor).shape]).toEqual(expected.shape);
}

/** Same dtype, shape and multiset of values (order free). */
export function expectSameValues(actual: Tensor, expected: TSpec): void {
  expectLayout(actual, expected);
  const byValue = (a: number, b: number) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b);
  expect(Array.from(actual.dataSync()).sort(byValue)).toEqual(expected.data.map(decode).sort(byValue));
}

// biome-ignore lint/suspicious/noExplicitAny: ops are called with fixture-decoded arguments
export type FixtureOp = (x: Tensor, ...args: any[]) => unknown;

interface Case {
  name: string;
  op: string;
  x: string;
  tf?: Transform[];
  args: unknown[];
  out?: unknown;
  error?: string;
  /** Indices of equal values follow PyTorch's unstable CPU algorithms ("unordered": values too). */
  ties?: boolean | "unordered";
}

/**
 * Runs every fixture case of a family. With exactTies false (backends that cannot replay PyTorch's
 * CPU algorithms) `ties` cases compare values, and indices only by shape and dtype.
 */
export function runFixtureCases(fixtures: { inputs: Record<string, TSpec>; cases: Case[] }, table: Record<string, FixtureOp>, exactTies = true): void {
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const fn = table[c.op];
      if (!fn) throw new Error(`no op ${c.op}`);
      const x = applyTransforms(fromSpec(fixtures.inputs[c.x] as TSpec), c.tf);
      const args = c.args.map(decodeArg);
      if (c.error !== undefined) {
        const before = Array.from(x.dataSync());
        expect(() => fn(x, ...args)).toThrow(new RegExp(c.error));
        // A failed call leaves its input as it was.
        expect(Array.from(x.dataSync())).toEqual(before);
        return;
      }
      const result = fn(x, ...args);
      if (c.ties && !exactTies) {
        if (isSpec(c.out)) return expectLayout(result, c.out);
        const out = c.out as { values: TSpec; indices: TSpec };
        const values = (result as { values: Tensor }).values;
        if (c.ties === "unordered") expectSameValues(values, out.values);
        else expectResult(values, out.values, "out.values");
        return expectLayout((result as { indices: unknown }).indices, out.indices);
      }
      expectResult(result, c.out);
    });
  }
}

