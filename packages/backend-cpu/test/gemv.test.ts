import { describe, expect, it } from "vitest";
import { gemvF32 } from "../src/gemv.js";
import { matmul } from "../src/matmul.js";
import { values32 as values } from "./values.js";

// The matrix-vector kernels (wasm/gemv.wat) against float64 sums, for both layouts of B (rows of
// W^T: x @ W^T as nn.Linear; rows of W: x @ W as GPT-2's Conv1D), over sizes that exercise their
// edges: K not a multiple of 8 (the dot kernel's tail), N not a multiple of 4 (the padded row
// updates), several blocks of B (more than 256 KiB), strided A and B views, 1-4 rows.

function reference(a: (m: number, k: number) => number, b: (k: number, j: number) => number, rows: number, K: number, N: number) {
  const out = new Float64Array(rows * N);
  for (let m = 0; m < rows; m++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a(m, k) * b(k, j);
    out[m * N + j] = s;
  }
  return out;
}

function expectClose(got: Float32Array, want: Float64Array, K: number) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  // float32 sums of K products of values in [-1, 1]
  expect(worst).toBeLessThan(4e-7 * K + 1e-6);
  expect(got.every(Number.isFinite)).toBe(true);
}

const shapes: [number, number, number][] = [
  [1, 768, 50],
  [1, 13, 7],
  [2, 100, 301],
  [3, 9, 1000],
  [4, 1031, 130],
  [1, 3, 70000],
  [1, 70000, 3],
];

describe("gemvF32", () => {
  it.each(shapes)("rows %i, K %i, N %i: x @ W^T (dot products over W's rows)", (rows, K, N) => {
    const a = values(rows * K, 7);
    const w = values(N * K, 11); // W [N, K]; B[k, j] = W[j, k]
    const out = new Float32Array(rows * N);
    expect(gemvF32(a, 0, K, 1, w, 0, 1, K, out, 0, rows, K, N)).toBe(true);
    expectClose(out, reference((m, k) => a[m * K + k] as number, (k, j) => w[j * K + k] as number, rows, K, N), K);
  });

  it.each(shapes)("rows %i, K %i, N %i: x @ W (row updates over W's rows)", (rows, K, N) => {
    const a = values(rows * K, 3);
    const w = values(K * N, 5); // W [K, N]
    const out = new Float32Array(rows * N);
    expect(gemvF32(a, 0, K, 1, w, 0, N, 1, out, 0, rows, K, N)).toBe(true);
    expectClose(out, reference((m, k) => a[m * K + k] as number, (k, j) => w[k * N + j] as number, rows, K, N), K);
  });

  it("strided views: A transposed, W^T rows with a gap, W rows with a gap, an output offset", () => {
    const rows = 2;
    const K = 37;
    const N = 29;
    const a = values(K * rows + 5, 1); // A[m, k] = a[5 + k * rows + m]
    const wt = values(N * (K + 3) + 2, 2); // B[k, j] = wt[2 + j * (K + 3) + k]
    const wr = values(K * (N + 6) + 4, 3); // B[k, j] = wr[4 + k * (N + 6) + j]
    const A = (m: number, k: number) => a[5 + k * rows + m] as number;
    const out = new Float32Array(3 + rows * N);
    expect(gemvF32(a, 5, 1, rows, wt, 2, 1, K + 3, out, 3, rows, K, N)).toBe(true);
    expectClose(out.subarray(3), reference(A, (k, j) => wt[2 + j * (K + 3) + k] as number, rows, K, N), K);
    expect(gemvF32(a, 5, 1, rows, wr, 4, N + 6, 1, out, 3, rows, K, N)).toBe(true);
    expectClose(out.subarray(3), reference(A, (k, j) => wr[4 + k * (N + 6) + j] as number, rows, K, N), K);
  });

  it("a B with no unit stride is left to the GEMM path", () => {
    const out = new Float32Array(4);
    expect(gemvF32(values(4, 1), 0, 2, 1, values(16, 2), 0, 2, 8, out, 0, 2, 2, 2)).toBe(false);
    expect([...out]).toEqual([0, 0, 0, 0]);
  });

  it("matmul takes it for a decoding step and agrees with the GEMM path on five rows", () => {
    const K = 300;
    const N = 203;
    const x = values(5 * K, 9);
    const w = values(N * K, 10);
    const ref = (data: Float32Array, shape: number[], strides: number[]) => ({ data, dtype: "float32" as const, shape, strides, offset: 0 });
    const wT = ref(w, [1, K, N], [0, 1, K]);
    const five = matmul(ref(x, [1, 5, K], [0, K, 1]), wT, "float32") as Float32Array; // GEMM (5 rows)
    const one = matmul(ref(x, [1, 1, K], [0, K, 1]), wT, "float32") as Float32Array; // gemv
    for (let j = 0; j < N; j++) expect(Math.abs((one[j] as number) - (five[j] as number))).toBeLessThan(1e-4);
  });
});
