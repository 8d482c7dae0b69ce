import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArgumentError, type DType, type HostArray, type StridedRef, type WindowGeometry } from "@dl/tensor";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conv2dGemm, conv2dInputGradGemm, conv2dWeightGradGemm } from "../src/fused/conv-gemm.js";
import { gemm, matmul } from "../src/matmul.js";
import { getNumThreads, setNumThreads, threadStats, threadsReady } from "../src/threads/pool.js";
import { setThreadMinWork, threadMinWork } from "../src/threads/runner.js";
import { values } from "./values.js";

// The thread pool gives the same bits as one thread: matmul (float32 and float64, strided,
// batched, several k-blocks, row groups and column blocks, ragged edges) and the three implicit-GEMM
// convolution kernels, computed with 1 and with 2 threads (every product through the pool).

const contiguous = (shape: number[]) => shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
const ref = (data: HostArray, shape: number[], strides = contiguous(shape), offset = 0): StridedRef => ({
  data,
  dtype: (data instanceof Float64Array ? "float64" : "float32") as DType,
  shape,
  strides,
  offset,
});
const bytes = (a: HostArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * fn() on the calling thread alone and on the pool of 2: the same bytes, and the pool ran tasks
 * (both threads, for products big enough that the worker wakes before the calling thread is done).
 */
function sameBits(fn: () => HostArray[], big = false, minWork = 0): void {
  setThreadMinWork(Number.POSITIVE_INFINITY);
  const one = fn();
  setThreadMinWork(minWork);
  const before = threadStats();
  const two = fn();
  const after = threadStats();
  expect(two.length).toBe(one.length);
  for (let i = 0; i < one.length; i++) {
    expect(two[i]?.length).toBe(one[i]?.length);
    expect(Buffer.from(bytes(two[i] as HostArray)).equals(Buffer.from(bytes(one[i] as HostArray)))).toBe(true);
  }
  const ran = (t: number) => (after[t] ?? 0) - (before[t] ?? 0);
  expect(ran(0) + ran(1)).toBeGreaterThan(0);
  if (big) expect(ran(1)).toBeGreaterThan(0);
}

describe("cpu backend: thread pool (setNumThreads)", () => {
  const minWork = threadMinWork;
  beforeAll(async () => {
    setNumThreads(2);
    expect(await threadsReady()).toBe(2);
  });
  afterAll(() => {
    setThreadMinWork(minWork);
    setNumThreads(1);
  });

  for (const dtype of ["float32", "float64"] as const) {
    it(`matmul ${dtype}: ragged shapes, several k-blocks, transposed and batched operands`, () =>
      sameBits(() => {
        const [M, K, N] = [133, 517, 61];
        const a = values(M * K, 1, dtype);
        const b = values(K * N, 2, dtype);
        const plain = matmul(ref(a, [1, M, K]), ref(b, [1, K, N]), dtype);
        // A transposed view of [K, M] storage; B broadcast over a batch of 3.
        const at = values(3 * K * M, 3, dtype);
        const batched = matmul(ref(at, [3, M, K], [K * M, 1, M]), ref(b, [3, K, N], [0, N, 1]), dtype);
        const small = matmul(ref(a, [1, 5, 3]), ref(b, [1, 3, 7]), dtype);
        return [plain, batched, small];
      }));
  }

  for (const dtype of ["float32", "float64"] as const) {
    it(`batched matmul ${dtype}: many small products, one task each`, () => {
      const [B, M, K, N] = [7, 37, 300, 29];
      // Each product is under the threshold and the batch above it: the batched path.
      sameBits(
        () => [
          matmul(ref(values(B * M * K, 9, dtype), [B, M, K]), ref(values(B * K * N, 10, dtype), [B, K, N]), dtype),
          // A transposed view for A, B broadcast over the batch.
          matmul(ref(values(B * K * M, 11, dtype), [B, M, K], [K * M, 1, M]), ref(values(K * N, 12, dtype), [B, K, N], [0, N, 1]), dtype),
        ],
        false,
        M * K * N + 1,
      );
    });
  }

  it("matmul float32: several row groups and column blocks (M = 4100, N = 530)", () =>
    sameBits(() => {
      const [M, K, N] = [4100, 300, 530];
      return [matmul(ref(values(M * K, 4), [1, M, K]), ref(values(K * N, 5), [1, K, N]), "float32")];
    }, true));

  it("gemm accumulates into C", () =>
    sameBits(() => {
      const [M, K, N] = [70, 300, 45];
      const c = values(M * N + 3, 6) as Float32Array;
      gemm(values(M * K, 7), values(K * N, 8), c, 3, M, K, N);
      return [c];
    }));

  interface Case {
    x: [number, number, number, number];
    o: number;
    k: [number, number];
    stride?: [number, number];
    dil?: [number, number];
    pad?: [number, number, number, number];
  }
  const conv = ({ x: [N, C, H, W], o: O, k: [kh, kw], stride = [1, 1], dil = [1, 1], pad = [0, 0, 0, 0] }: Case) => {
    const [pt, pb, pl, pr] = pad;
    const ho = Math.floor((H + pt + pb - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
    const wo = Math.floor((W + pl + pr - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
    const g: WindowGeometry = { n: N, c: C, h: H, w: W, kh, kw, sh: stride[0], sw: stride[1], dh: dil[0], dw: dil[1], pt, pl, ho, wo };
    const x = ref(values(N * C * H * W, 1), [N, C, H, W]);
    const w = ref(values(O * C * kh * kw, 2), [O, C, kh, kw]);
    const b = ref(values(O, 3), [O]);
    const gy = ref(values(N * O * ho * wo, 4), [N, O, ho, wo]);
    return () => [
      conv2dGemm(x, w, b, g) as HostArray,
      conv2dGemm(x, w, null, g) as HostArray,
      conv2dWeightGradGemm(gy, x, g) as HostArray,
      conv2dInputGradGemm(gy, w, g) as HostArray,
    ];
  };

  it("conv2d forward, weight and input gradients: 3 channels, ragged panels", () => sameBits(conv({ x: [3, 3, 9, 7], o: 5, k: [3, 3], pad: [1, 1, 1, 1] })));
  it("conv2d: several k-blocks (288 taps) and pixel blocks (400 pixels)", () =>
    sameBits(conv({ x: [2, 32, 20, 20], o: 9, k: [3, 3], pad: [1, 1, 1, 1] })));
  it("conv2d: stride, dilation, asymmetric padding", () =>
    sameBits(conv({ x: [3, 4, 13, 11], o: 6, k: [3, 2], stride: [2, 2], dil: [2, 2], pad: [2, 0, 1, 3] })));
  it("conv2d: image groups (the batch in several jobs)", () => sameBits(conv({ x: [40, 16, 48, 48], o: 32, k: [3, 3], pad: [1, 1, 1, 1] }), true));

  it("getNumThreads reports setNumThreads; invalid counts throw", () => {
    setNumThreads(3);
    expect(getNumThreads()).toBe(3);
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(() => setNumThreads(0)).toThrow(ArgumentError);
    expect(() => setNumThreads(1.5)).toThrow(/setNumThreads: Number of threads must be a positive integer, got 1.5/);
  });

  it("workers do not keep Node from exiting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dl-threads-"));
    try {
      const entry = join(dir, "entry.ts");
      const src = join(import.meta.dirname, "../src");
      writeFileSync(
        entry,
        `import { setNumThreads, threadsReady, threadStats } from ${JSON.stringify(`${src}/threads/pool.ts`)};
import { matmul } from ${JSON.stringify(`${src}/matmul.ts`)};
setNumThreads(2);
await threadsReady();
const a = new Float32Array(256 * 256).fill(1);
const r = { data: a, dtype: "float32", shape: [1, 256, 256], strides: [65536, 256, 1], offset: 0 };
const y = matmul(r, r, "float32");
console.log(y[0], threadStats().length);
`,
      );
      const out = join(dir, "out.mjs");
      await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "warning" });
      const stdout = execFileSync(process.execPath, [out], { timeout: 20000, encoding: "utf8" });
      expect(stdout.trim()).toBe("256 2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
