// The page side of bench/browser.mjs: dl on its gpu backend (gpu.js, WebGL2) and TensorFlow.js on
// its WebGL backend, in one Chromium page, on the same inputs and weights. Bundled by browser.mjs
// (esbuild, iife); exposes globalThis.__bench. Each timed call computes a workload and reads the
// whole result back to JS (dataSync on both sides), so queued GL work is inside the timing.
import * as autograd from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { createGpuBackend } from "@dl/backend-gpu";
import * as nn from "@dl/nn";
import * as optim from "@dl/optim";
import * as tensor from "@dl/tensor";
import * as tf from "@tensorflow/tfjs";
import { values } from "../../../bench/lib/harness.mjs";
import { trainingWorkloads } from "../../../bench/workloads/training.mjs";
// The same module instance the backend uses (esbuild dedupes by path): --profile wraps its run().
import { Program, UploadProgram } from "../src/program.ts";

/** The namespace bench/workloads/training.mjs expects (as bench/lib/load.mjs builds it). */
const dl = { ...tensor, ...autograd, nn, optim, cpuBackend };

let gpu = null;

async function setup() {
  gpu = createGpuBackend();
  dl.registerBackend(cpuBackend);
  dl.registerBackend(gpu);
  // Every dl tensor of the bench (inputs, weights, Adam's state, temporaries) lives on the gpu.
  dl.setDefaultDevice("gpu");
  await tf.setBackend("webgl");
  await tf.ready();
  const gl = document.createElement("canvas").getContext("webgl2");
  const dbg = gl?.getExtension("WEBGL_debug_renderer_info");
  return {
    userAgent: navigator.userAgent,
    renderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl?.getParameter(gl.RENDERER),
    dl: `${gpu.kernelClass} (gpu.js mode ${gpu.mode}), MAX_TEXTURE_SIZE ${gpu.maxTextureSize}`,
    tf: `tfjs ${tf.version.tfjs} backend ${tf.getBackend()}, WEBGL_VERSION ${tf.env().getNumber("WEBGL_VERSION")}, float32 render ${tf.env().getBool("WEBGL_RENDER_FLOAT32_ENABLED")}, packed ${tf.env().getBool("WEBGL_PACK")}`,
  };
}

const numel = (shape) => shape.reduce((p, s) => p * s, 1);

/** NCHW data -> NHWC (tfjs's layout). */
function nchwToNhwc(data, [N, C, H, W]) {
  const out = new Float32Array(data.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[((n * H + h) * W + w) * C + c] = data[((n * C + c) * H + h) * W + w];
  return out;
}

/** [O, I, kh, kw] (PyTorch) -> [kh, kw, I, O] (tfjs conv2d filter). */
function oihwToHwio(data, [O, I, KH, KW]) {
  const out = new Float32Array(data.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let h = 0; h < KH; h++) for (let w = 0; w < KW; w++) out[((h * KW + w) * I + i) * O + o] = data[((o * I + i) * KH + h) * KW + w];
  return out;
}

/**
 * A workload: `dl()` and `tf()` each set up (untimed) and return { run, dispose }, where run()
 * computes and returns the result read back as a Float32Array; `toDlLayout` maps tfjs's result to
 * dl's layout for the comparison; `loss` marks results compared relative to their own scale.
 */
function matmulWorkload(n) {
  const a = values(n * n, 11);
  const b = values(n * n, 12);
  return {
    name: `matmul ${n}x${n} @ ${n}x${n}`,
    dl: () => {
      const [x, y] = [dl.fromArray(a, [n, n]), dl.fromArray(b, [n, n])];
      return {
        run: () => dl.tidy(() => dl.matmul(x, y).dataSync()),
        dispose: () => [x, y].forEach((t) => t.dispose()),
      };
    },
    tf: () => {
      const [x, y] = [tf.tensor(a, [n, n]), tf.tensor(b, [n, n])];
      return {
        run: () => tf.tidy(() => tf.matMul(x, y).dataSync()),
        dispose: () => [x, y].forEach((t) => t.dispose()),
      };
    },
  };
}

function conv2dWorkload(xShape, wShape) {
  const [N, C, H, W] = xShape;
  const [O] = wShape;
  const x = values(numel(xShape), 21);
  const w = values(numel(wShape), 22, 1 / Math.sqrt(C * 9));
  return {
    name: `conv2d [${xShape}] x [${wShape}], padding 1`,
    dl: () => {
      const [xt, wt] = [dl.fromArray(x, xShape), dl.fromArray(w, wShape)];
      return {
        run: () => dl.tidy(() => nn.F.conv2d(xt, wt, null, { padding: 1 }).dataSync()),
        dispose: () => [xt, wt].forEach((t) => t.dispose()),
      };
    },
    tf: () => {
      const xt = tf.tensor(nchwToNhwc(x, xShape), [N, H, W, C]);
      const wt = tf.tensor(oihwToHwio(w, wShape), [3, 3, C, O]);
      return {
        run: () => tf.tidy(() => tf.conv2d(xt, wt, 1, "same").dataSync()),
        dispose: () => [xt, wt].forEach((t) => t.dispose()),
      };
    },
    // tfjs's NHWC result -> NCHW.
    toDlLayout: (r) => {
      const out = new Float32Array(r.length);
      for (let n = 0; n < N; n++)
        for (let h = 0; h < H; h++) for (let ww = 0; ww < W; ww++) for (let o = 0; o < O; o++) out[((n * O + o) * H + h) * W + ww] = r[((n * H + h) * W + ww) * O + o];
      return out;
    },
  };
}

/** bench/workloads/training.mjs's CNN step (conv16-conv32-fc128, Adam), both sides as it builds them. */
function cnnWorkload(quick) {
  const w = trainingWorkloads(quick).find((t) => t.name.startsWith("CNN"));
  return {
    name: `MNIST CNN step: ${w.name}`,
    loss: true,
    dl: () => {
      const t = w.dl(dl);
      return {
        run: () => {
          const l = t.run();
          const v = l.dataSync();
          l.dispose();
          return v;
        },
        dispose: t.dispose,
      };
    },
    tf: () => {
      const t = w.tf(tf);
      return {
        run: () => {
          const l = t.run();
          const v = l.dataSync();
          l.dispose();
          return v;
        },
        dispose: t.dispose,
      };
    },
  };
}

function workloads(quick) {
  return quick
    ? [matmulWorkload(32), matmulWorkload(64), conv2dWorkload([2, 4, 8, 8], [8, 4, 3, 3]), cnnWorkload(true)]
    : [matmulWorkload(512), matmulWorkload(1024), conv2dWorkload([32, 32, 16, 16], [64, 32, 3, 3]), cnnWorkload(false)];
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function timed(run) {
  const t0 = performance.now();
  const out = run();
  return { ms: performance.now() - t0, out };
}

/**
 * Runs workload `index`: warmup calls (compiling both sides' shaders), then `reps` rounds of one dl
 * call and one tfjs call. Kernels compare the first results; the training step compares every
 * step's loss (both sides take the same steps from the same weights on the same batch).
 */
function runWorkload(index, { quick, warmup, reps }) {
  const w = workloads(quick)[index];
  const d = w.dl();
  const t = w.tf();
  const dlOut = [];
  const tfOut = [];
  const dlMs = [];
  const tfMs = [];
  const memoryBefore = gpu.memory().storages;
  for (let i = 0; i < warmup + reps; i++) {
    const a = timed(d.run);
    const b = timed(t.run);
    dlOut.push(a.out);
    tfOut.push(w.toDlLayout ? w.toDlLayout(b.out) : b.out);
    if (i >= warmup) {
      dlMs.push(a.ms);
      tfMs.push(b.ms);
    }
  }
  d.dispose();
  t.dispose();
  // Kernels: the first call's outputs (every call computes the same); the step: every loss.
  const pairs = w.loss ? dlOut.map((o, i) => [o, tfOut[i]]) : [[dlOut[0], tfOut[0]]];
  let maxAbsDiff = 0;
  let scale = 0;
  for (const [p, q] of pairs) {
    if (p.length !== q.length) throw new Error(`${w.name}: dl returned ${p.length} values, tfjs ${q.length}`);
    for (let i = 0; i < p.length; i++) {
      const diff = Math.abs(p[i] - q[i]);
      maxAbsDiff = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(maxAbsDiff, diff);
      scale = Math.max(scale, Math.abs(q[i]));
    }
  }
  return {
    name: w.name,
    loss: w.loss ?? false,
    dlMs: median(dlMs),
    tfMs: median(tfMs),
    dlAll: dlMs,
    tfAll: tfMs,
    maxAbsDiff,
    scale,
    losses: w.loss ? { dl: dlOut.map((o) => o[0]), tf: tfOut.map((o) => o[0]) } : undefined,
    liveDlStorages: gpu.memory().storages - memoryBefore,
  };
}

// ---- --profile: which gpu kernels run, how often, and how long each takes ----

const profile = { installed: false, on: false, byKey: new Map(), matmuls: [], syncMs: 0 };

/**
 * Reads one texel of the bound framebuffer: a true wait for the GL work queued before it (Chromium's
 * gl.finish() returns at once).
 */
const texel = new Float32Array(4);
function sync(gl) {
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, texel);
}

/**
 * Wraps Program.run (and the upload program) to count and time every kernel run: the queue is
 * drained before it (untimed), and one texel of its output read after it (timed), so its GPU time
 * is inside. profile.syncMs is the cost of that read alone, subtracted per run.
 */
function installProfiler() {
  if (profile.installed) return;
  profile.installed = true;
  const wrap = (proto, keyOf) => {
    const run = proto.run;
    proto.run = function (...args) {
      if (!profile.on) return run.apply(this, args);
      const gl = this.shortcut.kernel.context;
      sync(gl);
      if (profile.syncMs === null) {
        // What a one-texel read costs with nothing queued: the median of 50.
        const costs = Array.from({ length: 50 }, () => timed(() => sync(gl)).ms);
        profile.syncMs = median(costs);
      }
      const t0 = performance.now();
      const out = run.apply(this, args);
      sync(gl);
      const ms = performance.now() - t0 - profile.syncMs;
      const key = keyOf(this, args);
      const e = profile.byKey.get(key) ?? { calls: 0, ms: 0, elements: 0 };
      e.calls++;
      e.ms += ms;
      e.elements += args[0]?.length ?? args[0];
      profile.byKey.set(key, e);
      if (key.startsWith("matmul")) {
        // ints: m, n, k, b*m*n, a's offset and strides, b's (see src/matmul.ts), then its read modes if any.
        const [m, n, k, total, , sab, sam, sak, , sbb, sbk, sbn, ...modes] = args[2];
        const strides = `a ${[sab, sam, sak]} b ${[sbb, sbk, sbn]}`;
        profile.matmuls.push({ key, b: total / (m * n), m, n, k, strides, modes: modes.join(",") || "-", ms });
      }
      return out;
    };
  };
  wrap(Program.prototype, (p) => p.key);
  wrap(UploadProgram.prototype, () => "upload");
}

/**
 * Profiles the dl side of workload `index`: `warmup` untimed calls, then `steps` calls with every
 * kernel counted and timed. Returns per-call wall time (with and without the per-kernel finish),
 * and per kernel key: runs and ms per call.
 */
function profileWorkload(index, { quick, warmup, steps }) {
  const w = workloads(quick)[index];
  const d = w.dl();
  for (let i = 0; i < warmup; i++) d.run();
  const plain = [];
  for (let i = 0; i < steps; i++) plain.push(timed(d.run).ms);
  installProfiler();
  profile.byKey.clear();
  profile.matmuls = [];
  profile.syncMs = null;
  profile.on = true;
  const withFinish = [];
  for (let i = 0; i < steps; i++) withFinish.push(timed(d.run).ms);
  d.dispose();
  const kernels = [...profile.byKey].map(([key, e]) => ({ key, calls: e.calls / steps, ms: e.ms / steps, elements: e.elements / e.calls }));
  kernels.sort((a, b) => b.ms - a.ms);
  profile.on = false;
  // Every matmul of one call (the last), by shape.
  const matmuls = profile.matmuls.slice((profile.matmuls.length / steps) * (steps - 1));
  return { name: w.name, plainMs: median(plain), profiledMs: median(withFinish), syncMs: profile.syncMs, kernels, matmuls };
}

globalThis.__bench = {
  setup,
  names: (quick) => workloads(quick).map((w) => w.name),
  run: runWorkload,
  profile: profileWorkload,
};
