import { grad } from "@dl/autograd";
import { cpuBackend, getNumThreads, setNumThreads, threadsReady } from "@dl/backend-cpu";
import { F } from "@dl/nn";
import * as dl from "@dl/tensor";
import { defaultNumThreads, threadStats } from "../../packages/backend-cpu/src/threads/pool.js";

/**
 * Runs in a cross-origin-isolated Chromium page (browser-threads.test.ts): the CPU backend's
 * matmul and conv2d (forward and gradients) on 1 thread and on the default thread count
 * (navigator.hardwareConcurrency), reporting whether the workers ran tasks and whether the
 * results are the same bits.
 */
async function run(): Promise<Record<string, unknown>> {
  dl.registerBackend(cpuBackend);
  dl.manualSeed(0);
  const a = dl.randn(301, 257);
  const b = dl.randn(257, 190);
  const x = dl.randn(8, 8, 33, 29, { requiresGrad: true });
  const w = dl.randn(12, 8, 3, 3, { requiresGrad: true });
  const bias = dl.randn(12, { requiresGrad: true });
  const compute = () => {
    const y = F.conv2d(x, w, bias, { padding: 1 });
    const [gx, gw, gb] = grad(dl.sum(dl.mul(y, y)), [x, w, bias]);
    return [dl.matmul(a, b), y, gx, gw, gb].map((t) => Array.from((t as dl.Tensor).dataSync()));
  };
  setNumThreads(1);
  const one = compute();
  // Asking for 4 threads: a page that is not cross-origin isolated keeps 1.
  setNumThreads(4);
  const asked4 = getNumThreads();
  const threads = defaultNumThreads();
  setNumThreads(threads);
  const ready = await threadsReady();
  const before = threadStats();
  const many = compute();
  const after = threadStats();
  const same = one.every((r, i) => r.length === many[i]?.length && r.every((v, j) => Object.is(v, many[i]?.[j])));
  return {
    isolated: globalThis.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    asked4,
    threads: getNumThreads(),
    ready,
    tasks: after.map((t, i) => t - (before[i] ?? 0)),
    same,
    sizes: many.map((r) => r.length),
  };
}

(globalThis as unknown as { __dlThreads: typeof run }).__dlThreads = run;
