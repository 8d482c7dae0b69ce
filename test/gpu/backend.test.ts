import { noGrad } from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { type GpuBackend, createGpuBackend, missingGlReason } from "@dl/backend-gpu";
import {
  DLError,
  DTypeError,
  DeviceError,
  IndexError,
  type Tensor,
  add,
  arange,
  argmax,
  cumsum,
  gather,
  manualSeed,
  matmul,
  mean,
  mul,
  neg,
  ones,
  randn,
  registerBackend,
  relu,
  scatter,
  scatterAdd,
  setDefaultDevice,
  sort,
  sub,
  sub_,
  sum,
  tensor,
  tidy,
  where,
  zeros,
} from "@dl/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The gpu.js backend itself (the shared op suites run on it through describeEachBackend when
 * DL_TEST_GPU=1). Run in Node under `xvfb-run -a` with DL_TEST_GPU=1; without the flag these are
 * skipped, and with it they fail when no GL context can be created.
 */
const enabled = process.env.DL_TEST_GPU === "1";

describe("missing GL context [gpu]", () => {
  it("names what is missing: the gl build, the X display", () => {
    expect(missingGlReason({ glLoads: false, display: ":99" })).toMatch(/headless-gl is not built: the optional `gl` package failed to load/);
    expect(missingGlReason({ glLoads: true })).toMatch(/^no X display: DISPLAY is not set \(run Node under `xvfb-run -a`\)$/);
    expect(missingGlReason({ glLoads: false })).toMatch(/not built.*; no X display/);
    expect(missingGlReason({ glLoads: true, display: ":1" })).toMatch(/could not open a GL context on display :1/);
  });

  it("mode 'webgpu' is refused with the reason, before any context is made", () => {
    const webgpu = () => createGpuBackend({ mode: "webgpu" as never });
    expect(webgpu).toThrow(DeviceError);
    expect(webgpu).toThrow(/mode 'webgpu' is not supported: gpu\.js's WebGPU kernels cannot run dl's GLSL kernels/);
  });

  it.runIf(enabled)("asking for a mode this platform lacks is a DeviceError, not a CPU fallback", () => {
    expect(() => createGpuBackend({ mode: "webgl2" })).toThrow(DeviceError);
    expect(() => createGpuBackend({ mode: "webgl2" })).toThrow(/^gpu: no GL context for the gpu backend \(mode webgl2\)/);
  });
});

describe.runIf(enabled)("gpu backend (gpu.js on headless-gl) [gpu]", () => {
  let gpu: GpuBackend;
  beforeAll(() => {
    gpu = createGpuBackend();
    registerBackend(cpuBackend);
    registerBackend(gpu);
    setDefaultDevice("gpu");
  });
  afterAll(() => setDefaultDevice("cpu"));

  it("runs every kernel on HeadlessGLKernel (never a CPU or WebAssembly kernel)", () => {
    expect(gpu.kernelClass).toBe("HeadlessGLKernel");
    expect(gpu.mode).toBe("headlessgl");
    const x = tensor([[3, 1, 2], [0, 5, 4]]);
    const idx = tensor([[2, 0], [1, 1]], { dtype: "int64" });
    const results = [
      add(x, 1),
      sum(x, 1),
      matmul(x, x.t()),
      sort(x, 1).values,
      cumsum(x, 1),
      argmax(x, 1),
      gather(x, 1, idx),
      scatter(zeros(2, 3), 1, idx, 1),
      where(tensor([true, false, true]), x, 0),
      relu(sub(x, 2)),
    ];
    expect(results.map((r) => r.device)).toEqual(results.map(() => "gpu"));
    const classes = new Set(gpu.kernels().values());
    expect(gpu.kernels().size).toBeGreaterThan(10);
    expect([...classes]).toEqual(["HeadlessGLKernel"]);
  });

  it("compiles a kernel once per signature, not once per size", () => {
    const run = (n: number) => sum(add(mul(zeros(n), 2), 1)).item();
    // 70000 elements take a two-level reduction: both kinds of reduce pass compile here. Sizes that
    // are a multiple of 4 run the four-outputs-per-texel variant of each elementwise kernel, other
    // sizes the one-output variant: at most two programs per signature.
    expect(run(70000)).toBe(70000);
    expect(run(3)).toBe(3);
    const compiled = [...gpu.kernels().keys()];
    expect(compiled).toContain("map|binary|mul|f|float32|r1|qtb");
    expect(compiled).toContain("map|binary|mul|f|float32|r1");
    expect(run(1000)).toBe(1000);
    expect(run(17)).toBe(17);
    expect(run(250001)).toBe(250001);
    expect([...gpu.kernels().keys()]).toEqual(compiled);
  });

  it("to('gpu') / to('cpu') round trips values and dtypes", () => {
    const cases: [number[], "float32" | "int32" | "int64" | "bool" | "float16" | "bfloat16"][] = [
      [[1.5, -2.25, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3e38], "float32"],
      [[0, -7, 16777216, -16777216, 123456], "int32"],
      [[0, -7, 16777216, -16777216, 42], "int64"],
      [[1, 0, 1, 1], "bool"],
      [[0.1, 1000, 65504, -2], "float16"],
      [[0.1, 3.14, -2], "bfloat16"],
    ];
    for (const [values, dtype] of cases) {
      const c = tensor(values, { dtype, device: "cpu" });
      const g = c.to("gpu");
      expect(g.device).toBe("gpu");
      expect(g.dtype).toBe(dtype);
      const back = g.to("cpu");
      expect(back.device).toBe("cpu");
      expect(back.dtype).toBe(dtype);
      expect(Array.from(back.dataSync())).toEqual(Array.from(c.dataSync()));
    }
    // Integers float32 cannot hold exactly are refused, not rounded.
    expect(() => tensor([2 ** 24 + 1], { dtype: "int32", device: "cpu" }).to("gpu")).toThrow(/int32 value 16777217 .* exact only for \|x\| <= 2\^24/);
    expect(() => tensor([0, -(2 ** 31)], { dtype: "int64", device: "gpu" })).toThrow(DTypeError);
    // A strided view reads back in its own order.
    const m = tensor([[1, 2, 3], [4, 5, 6]]).t();
    expect(m.to("cpu").tolist()).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  it("reads synchronously and asynchronously (item, tolist, data)", async () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(sum(x).item()).toBe(10);
    expect(x.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    expect(tensor([true, false]).tolist()).toEqual([true, false]);
  });

  it("float64 is a DTypeError that says to use the CPU", () => {
    expect(() => tensor([1, 2], { dtype: "float64" })).toThrow(DTypeError);
    expect(() => tensor([1, 2], { dtype: "float64" })).toThrow(/^gpu: float64 is not supported by the gpu backend .*\.to\('cpu'\)/);
    const x = tensor([1, 2]);
    expect(() => x.to("float64")).toThrow(/^gpu: float64 is not supported/);
    expect(() => zeros(2, { dtype: "float64" })).toThrow(DTypeError);
    // float64 on the CPU moves to the GPU as nothing else: the conversion itself fails.
    expect(() => tensor([1], { dtype: "float64", device: "cpu" }).to("gpu")).toThrow(DTypeError);
  });

  it("a tensor beyond the texture limit fails with an error naming MAX_TEXTURE_SIZE", () => {
    const max = gpu.maxTextureSize;
    expect(max).toBeGreaterThanOrEqual(4096);
    const before = gpu.memory();
    // 4 values per texel in a max x max texture hold 4 * max^2 (or 2^30) elements at most.
    expect(() => zeros(65536, 16385)).toThrow(DLError);
    expect(() => zeros(65536, 16385)).toThrow(new RegExp(`^gpu: a tensor of 1073807360 elements needs a \\d+x\\d+ texture, larger than this device's MAX_TEXTURE_SIZE ${max}`));
    expect(gpu.memory()).toEqual(before);
  });

  it("memory() counts live textures and bytes; dispose frees them", () => {
    const before = gpu.memory();
    const x = zeros(10, 100);
    const after = gpu.memory();
    expect(after.storages).toBe(before.storages + 1);
    // 1000 float32 values in RGBA float texels (4 values, 16 bytes each): at least 250 texels.
    expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(4000);
    const v = x.t(); // a view shares the storage
    expect(gpu.memory().storages).toBe(before.storages + 1);
    x.dispose();
    expect(gpu.memory().storages).toBe(before.storages + 1);
    v.dispose();
    expect(gpu.memory()).toEqual(before);
  });

  it("an index out of range is an IndexError, as on the CPU", () => {
    const x = tensor([[1, 2, 3]]);
    expect(() => gather(x, 1, tensor([[0, 3]], { dtype: "int64" }))).toThrow(IndexError);
    expect(() => gather(x, 1, tensor([[0, 3]], { dtype: "int64" }))).toThrow(/^gather: index 3 is out of bounds for dimension 1 with size 3/);
  });

  it("long dims take several passes (reductions, matmul K, argmax, sort, scans, scatter)", () => {
    // Values that are obvious by hand, at sizes past every single-pass limit (256-element
    // reduction chunks, 2048-long dot products, 4096-long scatter extents).
    const n = 100_003;
    expect(sum(ones(n)).item()).toBe(n);
    expect(sum(ones(3, n), 1).tolist()).toEqual([n, n, n]);
    expect(matmul(ones(2, 5000), ones(5000, 3)).tolist()).toEqual([
      [5000, 5000, 5000],
      [5000, 5000, 5000],
    ]);
    // A transposed operand is read through its strides.
    expect(matmul(ones(5000, 2).t(), ones(5000, 3)).tolist()[1]).toEqual([5000, 5000, 5000]);
    const ramp = arange(70_000, { dtype: "float32" });
    expect(argmax(ramp).item()).toBe(69_999);
    expect(argmax(neg(ramp)).item()).toBe(0);
    const sorted = sort(neg(arange(5000, { dtype: "float32" })));
    expect(Array.from(sorted.values.dataSync()).every((v, i) => v === i - 4999)).toBe(true);
    expect(Array.from(sorted.indices.dataSync()).every((v, i) => v === 4999 - i)).toBe(true);
    const c = cumsum(ones(10_000), 0).dataSync();
    expect(Array.from(c).every((v, i) => v === i + 1)).toBe(true);
    const hits = scatterAdd(zeros(3), 0, zeros(9000, { dtype: "int64" }), ones(9000));
    expect(hits.tolist()).toEqual([9000, 0, 0]);
  });

  it("matmul agrees with the CPU for every operand read pattern (aligned texels, transposed, sliced, odd N, split K)", () => {
    manualSeed(3);
    // Operands as views whose layouts pick each kernel path.
    const cases: [string, () => [Tensor, Tensor]][] = [
      ["row-major, N % 4 == 0 (A and B a texel at a time)", () => [randn(12, 40), randn(40, 8)]],
      ["B transposed (B's k-runs a texel at a time)", () => [randn(12, 40), randn(8, 40).t()]],
      ["A transposed (A one value per k)", () => [randn(40, 12).t(), randn(40, 8)]],
      ["B sliced off alignment", () => [randn(12, 40), randn(40, 9).narrow(1, 1, 8)]],
      ["A sliced off alignment, K % 4 != 0", () => [randn(12, 43).narrow(1, 1, 41), randn(41, 12)]],
      ["batched, broadcast batch", () => [randn(3, 8, 20), randn(1, 20, 4).expand(3, 20, 4)]],
      ["odd N (scalar path)", () => [randn(5, 7), randn(7, 3)]],
      ["odd N, M % 4 == 0, long K (computed transposed)", () => [randn(16, 300), randn(300, 9)]],
      ["split K (partial products), four outputs per texel", () => [randn(4, 4500), randn(4500, 8)]],
      ["split K, odd N, transposed", () => [randn(8, 4500).t().t(), randn(9, 4500).t()]],
    ];
    for (const [name, make] of cases) {
      // Made on the gpu (the default device here): the views keep their layout there.
      const [a, b] = make();
      const want = matmul(a.to("cpu"), b.to("cpu")).dataSync();
      const got = matmul(a, b).dataSync();
      expect(got.length, name).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
      const scale = Math.sqrt(a.shape[a.ndim - 1] as number);
      expect(worst / scale, name).toBeLessThan(1e-5);
    }
    const programs = [...gpu.kernels().keys()].filter((k) => k.startsWith("matmul|"));
    for (const pattern of ["quad-a4-bn4", "quad-a4-bk4", "quad-bn4", "quad-b1", "scalar"]) {
      expect(programs.some((k) => k.endsWith(`|${pattern}`)), pattern).toBe(true);
    }
    expect(programs).toContain("matmul|partial|quad-a4-bn4");
  });

  it("memory stays flat over a 1000-step MLP training loop with tidy", () => {
    manualSeed(0);
    const x = randn(64, 32);
    const target = randn(64, 1);
    const scale = (t: Tensor, s: number) => noGrad(() => mul(t, s));
    const params = [scale(randn(32, 16), 0.2), scale(randn(16), 0.1), scale(randn(16, 1), 0.2), scale(randn(1), 0.1)].map((p) => p.requiresGrad_());
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    const step = (): number =>
      tidy(() => {
        const h = relu(add(matmul(x, w1), b1));
        const d = sub(add(matmul(h, w2), b2), target);
        const loss = mean(mul(d, d));
        loss.backward();
        noGrad(() => {
          for (const p of params) {
            sub_(p, mul(p.grad as Tensor, 0.05));
            p.grad = null;
          }
        });
        return loss.item() as number;
      });
    let first = 0;
    let last = 0;
    let at10 = { storages: 0, bytes: 0 };
    let textures10 = 0;
    for (let i = 1; i <= 1000; i++) {
      last = step();
      if (i === 1) first = last;
      if (i === 10) {
        at10 = { ...gpu.memory() };
        textures10 = gpu.glTextures();
      }
    }
    expect(gpu.memory()).toEqual(at10);
    // GL textures too: nothing that gpu.js holds behind our backs grows either.
    expect(gpu.glTextures()).toBe(textures10);
    expect(last).toBeLessThan(first * 0.8);
    expect(params.every((p) => p.device === "gpu" && !p.isDisposed)).toBe(true);
  }, 300_000);
});
