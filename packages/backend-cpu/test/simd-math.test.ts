import type { DType, HostArray, StridedRef, UnaryOp } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { cpuBackend } from "../src/backend.js";
import { softmax } from "../src/fused/softmax.js";
import { erf, unaryFns } from "../src/math.js";
import { execFileSync } from "node:child_process";
import { isMainThread } from "node:worker_threads";
import { mathRelaxedSites, mathWasm } from "../src/math-wasm.js";
import { HEAP_BASE, hasRelaxedSimd, simdMath, withRelaxedMadd } from "../src/simd-math.js";

// The WebAssembly SIMD float32 transcendentals against the float64 Math.* definitions (math.ts)
// rounded to float32, which is what the CPU backend computed before them.

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);
/** float32 values as integers in value order: the difference of two is their distance in ulps. */
function ordinal(v: number): number {
  f32[0] = v;
  const b = bits[0] as number;
  return b < 0 ? -(b & 0x7fffffff) : b;
}

const view = (values: HostArray, dtype: DType = "float32"): StridedRef => ({ data: values, dtype, shape: [values.length], strides: [1], offset: 0 });

/** Deterministic inputs: a dense grid over [lo, hi], every special value, and random float32 bit patterns. */
function inputs(lo: number, hi: number): Float32Array {
  const grid = 200_000;
  const random = 200_000;
  const specials = [0, -0, 1, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e-45, -1e-45, 1e-40, -1e-40, 1.17549435e-38,
    -1.17549435e-38, 3.4028235e38, -3.4028235e38, 88.7, 88.73, 89, -87.3, -103.9, -104, -150, 1e-8, -1e-8, 0.625, -0.625, 0.62499994, 4, -4, 3.99, 9, -9, 20, -20];
  const out = new Float32Array(grid + random + specials.length);
  for (let i = 0; i < grid; i++) out[i] = lo + ((hi - lo) * i) / (grid - 1);
  let s = 12345;
  for (let i = 0; i < random; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    bits[0] = s;
    out[grid + i] = f32[0] as number;
  }
  out.set(specials, grid + random);
  return out;
}

const cases: [UnaryOp, number, number, number][] = [
  // op, grid range, max ulps
  ["exp", -110, 100, 1],
  ["sigmoid", -110, 40, 2],
  ["tanh", -12, 12, 1],
  ["erf", -5, 5, 2],
];

describe.skipIf(!simdMath())("cpu backend: WebAssembly SIMD transcendentals (float32)", () => {
  for (const [op, lo, hi, maxUlps] of cases) {
    it(`${op}: within ${maxUlps} ulp of the float64 result over the float32 range, NaN and +-inf included`, () => {
      const x = inputs(lo, hi);
      const y = cpuBackend.unary(op, view(x), "float32") as Float32Array;
      const f = op === "erf" ? erf : unaryFns[op];
      let worst = 0;
      let at = 0;
      for (let i = 0; i < x.length; i++) {
        const want = Math.fround(f(x[i] as number));
        const got = y[i] as number;
        if (Number.isNaN(want) || Number.isNaN(got)) {
          expect(Number.isNaN(got), `${op}(${x[i]}) = ${got}, expected ${want}`).toBe(Number.isNaN(want));
          continue;
        }
        const d = Math.abs(ordinal(got) - ordinal(want));
        if (d > worst) {
          worst = d;
          at = x[i] as number;
        }
      }
      expect(worst, `${op}: ${worst} ulp at x = ${at}`).toBeLessThanOrEqual(maxUlps);
    });
  }

  it("keeps exact values at the edges: exp(0) = 1, exp(-inf) = 0, tanh(+-0) = +-0, sigmoid(0) = 0.5, erf(+-inf) = +-1", () => {
    const x = Float32Array.of(0, -0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN);
    const run = (op: UnaryOp) => Array.from(cpuBackend.unary(op, view(x), "float32") as Float32Array);
    expect(run("exp")).toEqual([1, 1, 0, Number.POSITIVE_INFINITY, Number.NaN]);
    expect(run("tanh")).toEqual([0, -0, -1, 1, Number.NaN]);
    expect(Object.is(run("tanh")[1], -0)).toBe(true);
    expect(run("sigmoid")).toEqual([0.5, 0.5, 0, 1, Number.NaN]);
    expect(run("erf")).toEqual([0, -0, -1, 1, Number.NaN]);
    expect(Object.is(run("erf")[1], -0)).toBe(true);
  });

  it("gives the same values for strided views, for every chunk boundary, as for contiguous data", () => {
    const n = 3 * 8192 + 5; // several chunks plus a ragged tail
    const base = new Float32Array(2 * n);
    for (let i = 0; i < base.length; i++) base[i] = Math.sin(i) * 12;
    const strided: StridedRef = { data: base, dtype: "float32", shape: [n], strides: [2], offset: 1 };
    const packed = new Float32Array(n);
    for (let i = 0; i < n; i++) packed[i] = base[1 + 2 * i] as number;
    for (const op of ["exp", "sigmoid", "tanh", "erf"] as const) {
      const a = cpuBackend.unary(op, strided, "float32") as Float32Array;
      const b = cpuBackend.unary(op, view(packed), "float32") as Float32Array;
      expect(a).toEqual(b);
    }
    // A transposed [3, 5] view walks rows of length 1 with stride 5.
    const m = Float32Array.from({ length: 15 }, (_, i) => i - 7);
    const t: StridedRef = { data: m, dtype: "float32", shape: [5, 3], strides: [1, 5], offset: 0 };
    const y = cpuBackend.unary("tanh", t, "float32") as Float32Array;
    for (let r = 0; r < 5; r++) for (let c = 0; c < 3; c++) expect(y[r * 3 + c]).toBe(Math.fround(Math.tanh(m[c * 5 + r] as number)));
  });

  it("leaves float64 on the exact Math.* path", () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => (i - 500) / 7);
    for (const op of ["exp", "sigmoid", "tanh", "erf"] as const) {
      const y = cpuBackend.unary(op, view(x, "float64"), "float64") as Float64Array;
      const f = unaryFns[op];
      for (let i = 0; i < x.length; i++) expect(y[i]).toBe(f(x[i] as number));
    }
  });

  for (const len of [1000, 20_000]) {
    it(`softmax rows of ${len} (${len > 8192 ? "longer than one chunk" : "in one pass"}): within 2 ulp of exp(x - max) / sum with x - max in float32 (as PyTorch), NaN and -inf rows`, () => {
      const rows = 4;
      const x = new Float32Array(rows * len);
      for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.37) * 30;
      x[2 * len + 7] = Number.NaN;
      x.fill(Number.NEGATIVE_INFINITY, 3 * len + 1, 4 * len); // one finite element: softmax is one-hot
      const y = softmax({ data: x, dtype: "float32", shape: [rows, len], strides: [len, 1], offset: 0 }, 1, false) as Float32Array;
      for (let r = 0; r < 2; r++) {
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < len; j++) m = Math.max(m, x[r * len + j] as number);
        let sum = 0;
        const e = (j: number) => Math.exp(Math.fround((x[r * len + j] as number) - m));
        for (let j = 0; j < len; j++) sum += e(j);
        let worst = 0;
        for (let j = 0; j < len; j++) {
          const want = Math.fround(e(j) / sum);
          worst = Math.max(worst, Math.abs(ordinal(y[r * len + j] as number) - ordinal(want)));
        }
        expect(worst).toBeLessThanOrEqual(2);
      }
      expect(Array.from(y.subarray(2 * len, 3 * len)).every(Number.isNaN)).toBe(true);
      expect(y[3 * len]).toBe(1);
      expect(y[3 * len + 1]).toBe(0);
    });
  }

  for (const len of [1, 3, 7, 1024, 3001, 20_000]) {
    it(`logSoftmax rows of ${len}: x - max - log(sum(exp(x - max))) within 2^-23 of the operands, NaN and -inf rows; softmax of odd lengths within 2 ulp`, () => {
      const rows = 5;
      const x = new Float32Array(rows * len);
      for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.37) * 30;
      x[2 * len + (len >> 1)] = Number.NaN;
      x.fill(Number.NEGATIVE_INFINITY, 3 * len + 1, 4 * len);
      x.fill(Number.NEGATIVE_INFINITY, 4 * len, 5 * len); // all -inf: NaN, as the composed op
      const ref = { data: x, dtype: "float32", shape: [rows, len], strides: [len, 1], offset: 0 } as const;
      const y = softmax(ref, 1, true) as Float32Array;
      const p = softmax(ref, 1, false) as Float32Array;
      for (const r of [0, 1]) {
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < len; j++) m = Math.max(m, x[r * len + j] as number);
        let sum = 0;
        const e = (j: number) => Math.exp(Math.fround((x[r * len + j] as number) - m));
        for (let j = 0; j < len; j++) sum += e(j);
        const ls = Math.log(sum);
        let worst = 0;
        let worstP = 0;
        for (let j = 0; j < len; j++) {
          // The float32 exps make log(sum) exact to ~2^-24 relative: the error is one of the operands' size.
          const d = (x[r * len + j] as number) - m;
          worst = Math.max(worst, Math.abs((y[r * len + j] as number) - (d - ls)) / ((Math.abs(d) + ls) * 2 ** -24 + 1e-30));
          worstP = Math.max(worstP, Math.abs(ordinal(p[r * len + j] as number) - ordinal(Math.fround(e(j) / sum))));
        }
        expect(worst).toBeLessThanOrEqual(2);
        expect(worstP).toBeLessThanOrEqual(2);
      }
      if (len > 1) {
        expect(Array.from(y.subarray(2 * len, 3 * len)).every(Number.isNaN)).toBe(true);
        expect(y[3 * len]).toBe(0);
        expect(y[3 * len + 1]).toBe(Number.NEGATIVE_INFINITY);
      }
      expect(Array.from(y.subarray(4 * len, 5 * len)).every(Number.isNaN)).toBe(true);
      expect(Array.from(p.subarray(4 * len, 5 * len)).every(Number.isNaN)).toBe(true);
    });
  }
});

// Relaxed SIMD's multiply-add: Node 20 validates it only behind a flag, so the fused module is
// checked in a child process started with the flag; this process checks the detection.
describe.skipIf(!simdMath())("cpu backend: relaxed SIMD multiply-add (feature-detected)", () => {
  const plain = Uint8Array.from(atob(mathWasm), (c) => c.charCodeAt(0));

  it("the engine's module follows the detection (plain SIMD where relaxed SIMD is missing)", () => {
    expect(simdMath()?.relaxed).toBe(hasRelaxedSimd());
    // Node 20's V8 ships relaxed SIMD behind --experimental-wasm-relaxed-simd (a worker thread
    // shares its process's flags but not its execArgv: checked in the main thread only).
    if (process.versions.node.startsWith("20.") && isMainThread) {
      expect(hasRelaxedSimd()).toBe(process.execArgv.includes("--experimental-wasm-relaxed-simd"));
    }
  });

  it("the rewrite keeps the module's length and touches only the listed sites (8 bytes each)", () => {
    const fused = withRelaxedMadd(plain, mathRelaxedSites);
    expect(fused.length).toBe(plain.length);
    let changed = 0;
    for (let i = 0; i < plain.length; i++) if (fused[i] !== plain[i]) changed++;
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThanOrEqual(8 * atob(mathRelaxedSites).length);
    if (hasRelaxedSimd()) expect(WebAssembly.validate(fused)).toBe(true);
  });

  it("under --experimental-wasm-relaxed-simd the fused module validates and keeps exp, sigmoid, tanh within 2 ulp and softmax rows", () => {
    const x = inputs(-110, 100);
    const fused = withRelaxedMadd(plain, mathRelaxedSites);
    // The child maps x through each function of the fused module and prints the results (base64).
    const script = `
      const [bytes, xs] = require("node:fs").readFileSync(0, "utf8").split(" ").map((b) => Buffer.from(b, "base64"));
      if (!WebAssembly.validate(bytes)) { console.log("invalid"); process.exit(0); }
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { Math: { log: Math.log } }).exports;
      const x = new Float32Array(xs.buffer, xs.byteOffset, xs.length / 4);
      ex.memory.grow(Math.ceil((${HEAP_BASE} + x.length * 4 + 64) / 65536));
      const heap = new Float32Array(ex.memory.buffer, ${HEAP_BASE}, x.length + 16);
      const out = [];
      for (const f of ["exp_f32", "sigmoid_f32", "tanh_f32"]) {
        heap.set(x);
        ex[f](${HEAP_BASE}, x.length);
        out.push(Buffer.from(heap.slice(0, x.length).buffer).toString("base64"));
      }
      const row = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i * 0.37) * 30);
      heap.set(row);
      ex.softmax_rows_f32(${HEAP_BASE}, 1, 1000, 1000, 0);
      out.push(Buffer.from(heap.slice(0, 1000).buffer).toString("base64"));
      console.log(out.join(" "));`;
    const stdout = execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", "-e", script], {
      input: `${Buffer.from(fused).toString("base64")} ${Buffer.from(x.buffer).toString("base64")}`,
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
    expect(stdout.trim()).not.toBe("invalid");
    const [ex, sg, th, sm] = stdout
      .trim()
      .split(" ")
      .map((b) => {
        const buf = Buffer.from(b, "base64");
        return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
      }) as [Float32Array, Float32Array, Float32Array, Float32Array];
    for (const [op, y, bound] of [["exp", ex, 2], ["sigmoid", sg, 2], ["tanh", th, 2]] as const) {
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        const want = Math.fround(unaryFns[op](x[i] as number));
        const got = y[i] as number;
        if (Number.isNaN(want) || Number.isNaN(got)) {
          expect(Number.isNaN(got), `${op}(${x[i]})`).toBe(Number.isNaN(want));
          continue;
        }
        worst = Math.max(worst, Math.abs(ordinal(got) - ordinal(want)));
      }
      expect(worst, op).toBeLessThanOrEqual(bound);
    }
    const row = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i * 0.37) * 30);
    const want = softmax(view(row), 0, false) as Float32Array;
    for (let i = 0; i < 1000; i++) expect(Math.abs(ordinal(sm[i] as number) - ordinal(want[i] as number))).toBeLessThanOrEqual(2);
  });
});
