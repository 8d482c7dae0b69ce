import { type BasicIndex, ShapeError, type Tensor, arange, broadcastShapes, slice } from "@dl/tensor";
import fc from "fast-check";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/**
 * Property tests: random shapes, permutations, slices, broadcasts and view chains, checked
 * against a naive reference that materializes every result by index arithmetic on flat arrays.
 */

interface Ref {
  shape: number[];
  data: number[];
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function strides(shape: readonly number[]): number[] {
  const out: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i] as number;
  }
  return out;
}

function at(x: Ref, idx: readonly number[]): number {
  const st = strides(x.shape);
  let p = 0;
  idx.forEach((v, i) => (p += v * (st[i] as number)));
  return x.data[p] as number;
}

/** A tensor of `shape` with element fn(multi-index), row-major. */
function build(shape: number[], fn: (idx: number[]) => number): Ref {
  const data: number[] = [];
  const idx = new Array<number>(shape.length).fill(0);
  const n = numel(shape);
  for (let k = 0; k < n; k++) {
    data.push(fn([...idx]));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++(idx[d] as number) < (shape[d] as number)) break;
      idx[d] = 0;
    }
  }
  return { shape, data };
}

const iota = (shape: number[]): Ref => ({ shape, data: Array.from({ length: numel(shape) }, (_, i) => i) });
const dl = (shape: number[]): Tensor => arange(numel(shape), { dtype: "float64" }).reshape(shape);
const norm = (d: number, n: number) => (d < 0 ? d + n : d);

// ---- reference ops ----

function refPermute(x: Ref, dims: number[]): Ref {
  return build(
    dims.map((d) => x.shape[d] as number),
    (idx) => {
      const src = new Array<number>(x.shape.length);
      dims.forEach((d, i) => (src[d] = idx[i] as number));
      return at(x, src);
    },
  );
}

/** Python slice semantics for a positive step: clamp negative/oversized bounds. */
function sliceRange(len: number, start: number | null, stop: number | null, step: number): number[] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
  const s = start === null ? 0 : clamp(start);
  const e = stop === null ? len : clamp(stop);
  const out: number[] = [];
  for (let i = s; i < e; i += step) out.push(i);
  return out;
}

function refSlice(x: Ref, dim: number, start: number | null, stop: number | null, step: number): Ref {
  const r = sliceRange(x.shape[dim] as number, start, stop, step);
  const shape = [...x.shape];
  shape[dim] = r.length;
  return build(shape, (idx) => at(x, idx.map((v, i) => (i === dim ? (r[v] as number) : v))));
}

function refSelect(x: Ref, dim: number, i: number): Ref {
  const ii = norm(i, x.shape[dim] as number);
  return build(
    x.shape.filter((_, k) => k !== dim),
    (idx) => at(x, [...idx.slice(0, dim), ii, ...idx.slice(dim)]),
  );
}

function refExpand(x: Ref, to: number[]): Ref {
  const lead = to.length - x.shape.length;
  return build(to, (idx) => at(x, x.shape.map((s, i) => (s === 1 ? 0 : (idx[lead + i] as number)))));
}

function refDiagonal(x: Ref, offset: number, d1: number, d2: number): Ref {
  const a = x.shape[d1] as number;
  const b = x.shape[d2] as number;
  const n = Math.max(0, offset >= 0 ? Math.min(a, b - offset) : Math.min(a + offset, b));
  const rest = x.shape.filter((_, i) => i !== d1 && i !== d2);
  return build([...rest, n], (idx) => {
    const k = idx[idx.length - 1] as number;
    const src: number[] = [];
    let r = 0;
    for (let i = 0; i < x.shape.length; i++) {
      if (i === d1) src.push(offset >= 0 ? k : k - offset);
      else if (i === d2) src.push(offset >= 0 ? k + offset : k);
      else src.push(idx[r++] as number);
    }
    return at(x, src);
  });
}

function refUnfold(x: Ref, dim: number, size: number, step: number): Ref {
  const shape = [...x.shape];
  shape[dim] = Math.floor(((x.shape[dim] as number) - size) / step) + 1;
  shape.push(size);
  return build(shape, (idx) => {
    const w = idx.pop() as number;
    idx[dim] = (idx[dim] as number) * step + w;
    return at(x, idx);
  });
}

function refBroadcast(a: number[], b: number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

// ---- generators ----

const shapeArb = (maxDims = 4, maxSize = 4) => fc.array(fc.integer({ min: 0, max: maxSize }), { minLength: 0, maxLength: maxDims });
const nonEmptyShape = (minDims = 0, maxDims = 4) => fc.array(fc.integer({ min: 1, max: 4 }), { minLength: minDims, maxLength: maxDims });
const permArb = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });

function expectSame(t: Tensor, r: Ref): void {
  expect([...t.shape]).toEqual(r.shape);
  expect(Array.from(t.dataSync())).toEqual(r.data);
  // The contiguous copy has the same values and row-major strides.
  const c = t.contiguous();
  expect(c.isContiguous()).toBe(true);
  expect(Array.from(c.dataSync())).toEqual(r.data);
}

const params = { numRuns: 150, seed: 20240601 };

describeEachBackend("properties of views", () => {
  it("permute (incl. negative dims) matches index arithmetic", () => {
    fc.assert(
      fc.property(
        shapeArb().chain((s) => fc.tuple(fc.constant(s), permArb(s.length), fc.boolean())),
        ([shape, perm, negative]) => {
          const dims = negative ? perm.map((d) => d - shape.length) : perm;
          expectSame(dl(shape).permute(dims), refPermute(iota(shape), perm));
        },
      ),
      params,
    );
  });

  it("transpose swaps two dims", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(1).chain((s) => fc.tuple(fc.constant(s), fc.nat(s.length - 1), fc.nat(s.length - 1))),
        ([shape, a, b]) => {
          const perm = [...shape.keys()];
          [perm[a], perm[b]] = [perm[b] as number, perm[a] as number];
          expectSame(dl(shape).transpose(a, b - shape.length), refPermute(iota(shape), perm));
        },
      ),
      params,
    );
  });

  it("slices with steps and negative/out-of-range bounds follow Python's rules", () => {
    const bound = fc.option(fc.integer({ min: -7, max: 7 }), { nil: null });
    fc.assert(
      fc.property(
        shapeArb(3, 5).chain((s) =>
          fc.tuple(fc.constant(s), fc.array(fc.tuple(bound, bound, fc.integer({ min: 1, max: 3 })), { minLength: s.length, maxLength: s.length })),
        ),
        ([shape, specs]) => {
          let r = iota(shape);
          specs.forEach(([a, b, st], d) => (r = refSlice(r, d, a, b, st)));
          expectSame(dl(shape).index(...specs.map(([a, b, st]) => slice(a, b, st))), r);
          // The same through string specs and Tensor.slice.
          const str = specs.map(([a, b, st]) => `${a ?? ""}:${b ?? ""}:${st}`);
          expectSame(dl(shape).index(...str), r);
          let t = dl(shape);
          specs.forEach(([a, b, st], d) => (t = t.slice(d, a, b, st)));
          expectSame(t, r);
        },
      ),
      params,
    );
  });

  it("select with negative indices removes the dim", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(1).chain((s) => fc.tuple(fc.constant(s), fc.nat(s.length - 1)).chain(([sh, d]) => fc.tuple(fc.constant(sh), fc.constant(d), fc.integer({ min: -(sh[d] as number), max: (sh[d] as number) - 1 })))),
        ([shape, d, i]) => {
          expectSame(dl(shape).select(d, i), refSelect(iota(shape), d, i));
        },
      ),
      params,
    );
  });

  it("expand to a random broadcast-compatible shape reads with stride 0", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(0, 3).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
            fc.array(fc.integer({ min: 1, max: 3 }), { minLength: s.length, maxLength: s.length }),
          ),
        ),
        ([shape, lead, grow]) => {
          const small = shape.map((s, i) => (i % 2 === 0 ? 1 : s));
          const to = [...lead, ...small.map((s, i) => (s === 1 ? (grow[i] as number) : s))];
          const t = dl(small).expand(to);
          small.forEach((s, i) => {
            if (s === 1 && (to[lead.length + i] as number) !== 1) expect(t.stride(lead.length + i)).toBe(0);
          });
          expectSame(t, refExpand(iota(small), to));
        },
      ),
      params,
    );
  });

  it("reshape of any (permuted) tensor keeps row-major order; view agrees whenever it succeeds", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(1).chain((s) => fc.tuple(fc.constant(s), permArb(s.length), fc.nat())),
        ([shape, perm, pick]) => {
          const t = dl(shape).permute(perm);
          const r = refPermute(iota(shape), perm);
          // [a, -1] for a random divisor a of numel.
          const n = numel(shape);
          const divs = [...Array(n + 1).keys()].filter((k) => k > 0 && n % k === 0);
          const a = divs[pick % divs.length] as number;
          const target = [a, -1];
          const reshaped = t.reshape(target);
          expectSame(reshaped, { shape: [a, n / a], data: r.data });
          let viewed: Tensor | undefined;
          try {
            viewed = t.view(target);
          } catch (e) {
            expect(e).toBeInstanceOf(ShapeError);
          }
          if (viewed) {
            expect(viewed._storage).toBe(t._storage);
            expect(reshaped._storage).toBe(t._storage);
            expectSame(viewed, { shape: [a, n / a], data: r.data });
          } else {
            // reshape copied because no strides express the new shape; contiguous inputs always view.
            expect(reshaped._storage).not.toBe(t._storage);
            expect(t.isContiguous()).toBe(false);
          }
          expectSame(t.flatten(), { shape: [n], data: r.data });
        },
      ),
      params,
    );
  });

  it("diagonal with random offsets and dims", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(2, 4).chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: -5, max: 5 }), permArb(s.length))),
        ([shape, offset, perm]) => {
          const [d1, d2] = perm as [number, number];
          expectSame(dl(shape).diagonal(offset, d1, d2 - shape.length), refDiagonal(iota(shape), offset, d1, d2));
        },
      ),
      params,
    );
  });

  it("unfold with random size and step", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(1, 3).chain((s) => fc.tuple(fc.constant(s), fc.nat(s.length - 1)).chain(([sh, d]) => fc.tuple(fc.constant(sh), fc.constant(d), fc.integer({ min: 0, max: sh[d] as number }), fc.integer({ min: 1, max: 3 })))),
        ([shape, d, size, step]) => {
          expectSame(dl(shape).unfold(d, size, step), refUnfold(iota(shape), d, size, step));
        },
      ),
      params,
    );
  });

  it("random chains of views match the reference and share storage with the base", () => {
    type Step =
      | { op: "transpose"; a: number; b: number }
      | { op: "slice"; d: number; start: number | null; stop: number | null; step: number }
      | { op: "select"; d: number; i: number }
      | { op: "unsqueeze"; d: number }
      | { op: "squeeze" }
      | { op: "flip_t" };
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ op: fc.constant("transpose" as const), a: fc.nat(5), b: fc.nat(5) }),
      fc.record({
        op: fc.constant("slice" as const),
        d: fc.nat(5),
        start: fc.option(fc.integer({ min: -4, max: 4 }), { nil: null }),
        stop: fc.option(fc.integer({ min: -4, max: 4 }), { nil: null }),
        step: fc.integer({ min: 1, max: 2 }),
      }),
      fc.record({ op: fc.constant("select" as const), d: fc.nat(5), i: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ op: fc.constant("unsqueeze" as const), d: fc.nat(5) }),
      fc.record({ op: fc.constant("squeeze" as const) }),
      fc.record({ op: fc.constant("flip_t" as const) }),
    );
    fc.assert(
      fc.property(nonEmptyShape(1, 4), fc.array(stepArb, { maxLength: 6 }), (shape, steps) => {
        const base = dl(shape);
        let t = base;
        let r = iota(shape);
        for (const s of steps) {
          const n = r.shape.length;
          if (s.op === "transpose" && n > 0) {
            const a = s.a % n;
            const b = s.b % n;
            const perm = [...Array(n).keys()];
            [perm[a], perm[b]] = [perm[b] as number, perm[a] as number];
            t = t.transpose(a, b);
            r = refPermute(r, perm);
          } else if (s.op === "slice" && n > 0) {
            const d = s.d % n;
            t = t.slice(d, s.start, s.stop, s.step);
            r = refSlice(r, d, s.start, s.stop, s.step);
          } else if (s.op === "select" && n > 0) {
            const d = s.d % n;
            const len = r.shape[d] as number;
            if (len === 0) continue;
            const i = ((s.i % len) + len) % len;
            t = t.select(d, i);
            r = refSelect(r, d, i);
          } else if (s.op === "unsqueeze") {
            const d = s.d % (n + 1);
            t = t.unsqueeze(d);
            r = { shape: [...r.shape.slice(0, d), 1, ...r.shape.slice(d)], data: r.data };
          } else if (s.op === "squeeze") {
            t = t.squeeze();
            r = { shape: r.shape.filter((x) => x !== 1), data: r.data };
          } else if (s.op === "flip_t" && n === 2) {
            t = t.t();
            r = refPermute(r, [1, 0]);
          }
        }
        expect(t._storage).toBe(base._storage);
        expectSame(t, r);
      }),
      params,
    );
  });
});

describeEachBackend("properties of broadcasting", () => {
  it("broadcastShapes follows the right-aligned rule and rejects incompatible pairs", () => {
    fc.assert(
      fc.property(shapeArb(4, 3), shapeArb(4, 3), (a, b) => {
        const want = refBroadcast(a, b);
        if (want === null) {
          expect(() => broadcastShapes("add", a, b)).toThrow(ShapeError);
          expect(() => broadcastShapes("add", a, b)).toThrow(/^add: shapes .* cannot be broadcast/);
        } else {
          expect(broadcastShapes("add", a, b)).toEqual(want);
          expect(broadcastShapes("add", b, a)).toEqual(want);
        }
      }),
      params,
    );
  });

  it("compatible pairs built by blanking dims to 1 broadcast to the larger shape; expand agrees", () => {
    fc.assert(
      fc.property(
        nonEmptyShape(0, 4).chain((s) =>
          fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.nat(s.length)),
        ),
        ([full, ones, drop]) => {
          const a = full.map((s, i) => (ones[i] ? 1 : s));
          const b = full.slice(drop).map((s, i) => (ones[i + drop] ? s : 1));
          const out = broadcastShapes("mul", a, b);
          expect(out).toEqual(refBroadcast(a, b));
          const ta = dl(a).expand(out);
          const tb = dl(b).expand(out);
          expectSame(ta, refExpand(iota(a), out));
          expectSame(tb, refExpand(iota(b), out));
        },
      ),
      params,
    );
  });

  it("broadcasts any number of shapes", () => {
    expect(broadcastShapes("where", [2, 1, 3], [4, 1], [1])).toEqual([2, 4, 3]);
    expect(broadcastShapes("where")).toEqual([]);
    expect(() => broadcastShapes("where", [2], [3], [1])).toThrow(/^where: shapes \[2\] and \[3\] and \[1\] cannot be broadcast/);
  });
});

it("index() mixes ints, slices, null and '...' like Python", () => {
  const specs: BasicIndex[] = [null, 1, "...", "::2", null];
  const t = dl([2, 3, 4]).index(...specs);
  // x[None, 1, ..., ::2, None]: shape [1, 3, 2, 1]
  expect(t.shape).toEqual([1, 3, 2, 1]);
  expect(Array.from(t.dataSync())).toEqual([12, 14, 16, 18, 20, 22]);
});
