import { noGrad } from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { createGpuBackend } from "@dl/backend-gpu";
import * as dl from "@dl/tensor";

/**
 * Runs in Chromium (bundled by browser.test.ts): the gpu backend on WebGL2, each op compared with
 * the CPU backend on the same inputs (the CPU backend is what the shared suites check against
 * PyTorch), plus a training loop whose memory must stay flat. Returns a plain report.
 */
type Fn = (...xs: dl.Tensor[]) => dl.Tensor;

export async function run(): Promise<Record<string, unknown>> {
  const gpu = createGpuBackend();
  dl.registerBackend(cpuBackend);
  dl.registerBackend(gpu);
  dl.manualSeed(0);
  const a = dl.randn(5, 7);
  const b = dl.randn(7, 3);
  const c = dl.randn(5, 7);
  const idx = dl.tensor([[0, 6, 2], [1, 1, 5]], { dtype: "int64" });
  const cases: [string, Fn, dl.Tensor[]][] = [
    ["add (broadcast)", (x, y) => dl.add(x, y.view(-1)), [a, dl.randn(7)]],
    ["mul transposed", (x, y) => dl.mul(x.t(), y.t()), [a, c]],
    ["exp/log/tanh/erf", (x) => dl.add(dl.add(dl.exp(x), dl.tanh(x)), dl.erf(x)), [a]],
    ["sigmoid, sqrt of abs", (x) => dl.mul(dl.sigmoid(x), dl.sqrt(dl.abs(x))), [a]],
    ["floorDivide/remainder", (x, y) => dl.add(dl.floorDivide(x, y), dl.remainder(x, y)), [a, dl.add(dl.abs(c), 0.5)]],
    ["pow", (x) => dl.pow(dl.abs(x), 1.7), [a]],
    ["sum over dims", (x) => dl.sum(x, 1), [a]],
    ["mean keepdim", (x) => dl.mean(x, 0, { keepdim: true }), [a]],
    ["amax", (x) => dl.amax(x, 1), [a]],
    ["argmax", (x) => dl.argmax(x, 1), [a]],
    ["matmul", (x, y) => dl.matmul(x, y), [a, b]],
    ["matmul transposed operand", (x, y) => dl.matmul(x, y.t()), [a, c]],
    [
      "softmax (composed)",
      (x) => {
        const e = dl.exp(dl.sub(x, dl.amax(x, 1, { keepdim: true })));
        return dl.div(e, dl.sum(e, 1, { keepdim: true }));
      },
      [a],
    ],
    ["cumsum", (x) => dl.cumsum(x, 1), [a]],
    ["sort values", (x) => dl.sort(x, 1).values, [a]],
    ["sort indices", (x) => dl.sort(x, 1, { descending: true }).indices, [a]],
    ["gather", (x, i) => dl.gather(x, 1, i as dl.Tensor), [a, idx]],
    ["where", (x) => dl.where(dl.gt(x, 0), x, dl.mul(x, 0.1)), [a]],
    ["float16 round trip", (x) => dl.mul(x.to("float16"), 3).to("float32"), [a]],
    ["int64 arithmetic", (x) => dl.mul(dl.add(x, 3), 7), [dl.arange(12).view(3, 4)]],
  ];
  const results: { name: string; ok: boolean; detail?: string }[] = [];
  for (const [name, fn, inputs] of cases) {
    try {
      const want = fn(...inputs).dataSync();
      const outGpu = fn(...inputs.map((t) => t.to("gpu")));
      const got = outGpu.dataSync();
      let bad = "";
      for (let i = 0; i < want.length && !bad; i++) {
        const w = want[i] as number;
        const g = got[i] as number;
        if (!(Math.abs(g - w) <= 1e-5 + 2e-5 * Math.abs(w))) bad = `[${i}] gpu ${g} cpu ${w}`;
      }
      if (outGpu.device !== "gpu") bad = `ran on ${outGpu.device}`;
      results.push(bad ? { name, ok: false, detail: bad } : { name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }

  // A small MLP trained on the GPU: memory flat from step 10 to step 200, and it trains.
  dl.setDefaultDevice("gpu");
  const x = dl.randn(32, 8);
  const target = dl.randn(32, 1);
  const scale = (t: dl.Tensor, s: number) => noGrad(() => dl.mul(t, s));
  const params = [scale(dl.randn(8, 16), 0.3), dl.zeros(16), scale(dl.randn(16, 1), 0.3), dl.zeros(1)].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params as [dl.Tensor, dl.Tensor, dl.Tensor, dl.Tensor];
  const losses: number[] = [];
  let at10 = { storages: 0, bytes: 0 };
  let textures10 = 0;
  for (let i = 1; i <= 200; i++) {
    losses.push(
      dl.tidy(() => {
        const h = dl.relu(dl.add(dl.matmul(x, w1), b1));
        const d = dl.sub(dl.add(dl.matmul(h, w2), b2), target);
        const loss = dl.mean(dl.mul(d, d));
        loss.backward();
        noGrad(() => {
          for (const p of params) {
            dl.sub_(p, dl.mul(p.grad as dl.Tensor, 0.05));
            p.grad = null;
          }
        });
        return loss.item() as number;
      }),
    );
    if (i === 10) {
      at10 = { ...gpu.memory() };
      textures10 = gpu.glTextures();
    }
  }
  dl.setDefaultDevice("cpu");
  return {
    userAgent: navigator.userAgent,
    kernelClass: gpu.kernelClass,
    mode: gpu.mode,
    maxTextureSize: gpu.maxTextureSize,
    kernelClasses: [...new Set(gpu.kernels().values())],
    results,
    memory10: at10,
    memory200: gpu.memory(),
    textures10,
    textures200: gpu.glTextures(),
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
  };
}

(globalThis as { __dlRun?: () => Promise<unknown> }).__dlRun = run;
