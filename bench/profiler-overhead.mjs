#!/usr/bin/env node
// What @dl/profiler costs when it is not profiling, and when it is.
//
//   node bench/profiler-overhead.mjs [--rounds=15] [--steps=10]
//
// 1. The seams it leaves in place (a global-hook length check per module call, a null check per
//    backward node): the cost of a module call on an identity module, model(x) against
//    model.forward(x), in nanoseconds, next to the number of module calls in a training step.
// 2. The MNIST CNN training step (b64, Adam) "before" (no profile ever ran in this process), "after"
//    (a profile ran and ended: every kernel must be restored) and "on" (inside profile(), shapes and
//    memory recorded). "after" and "on" alternate round by round; medians of the rounds.
import { loadDlPackages } from "./lib/load.mjs";

const args = process.argv.slice(2);
const option = (name, d) => Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? d);
const rounds = option("rounds", 15);
const steps = option("steps", 10);

const dl = await loadDlPackages("profiler-overhead", {
  nn: "packages/nn/src/index.ts",
  optim: "packages/optim/src/index.ts",
  profiler: "packages/profiler/src/index.ts",
});
dl.registerBackend(dl.cpuBackend);
const { nn, optim, profiler } = dl;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- 1. a module call's own cost ----
class Identity extends nn.Module {
  forward(x) {
    return x;
  }
}
const id = new Identity();
const x1 = dl.zeros([1]);
const perCall = (f) => {
  const n = 2_000_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return ((performance.now() - t0) * 1e6) / n;
};
const direct = [];
const called = [];
for (let r = 0; r < 7; r++) {
  direct.push(perCall(() => id.forward(x1)));
  called.push(perCall(() => id(x1)));
}

// ---- 2. the CNN training step ----
dl.manualSeed(0);
class MnistCnn extends nn.Module {
  conv1 = new nn.Conv2d(1, 16, 3, { padding: 1 });
  conv2 = new nn.Conv2d(16, 32, 3, { padding: 1 });
  pool = new nn.MaxPool2d(2);
  fc1 = new nn.Linear(32 * 7 * 7, 128);
  fc2 = new nn.Linear(128, 10);
  relu = new nn.ReLU();
  forward(x) {
    let h = this.pool(this.relu(this.conv1(x)));
    h = this.pool(this.relu(this.conv2(h)));
    return this.fc2(this.relu(this.fc1(h.flatten(1))));
  }
}
const model = new MnistCnn();
const lossFn = new nn.CrossEntropyLoss();
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const x = dl.randn(64, 1, 28, 28);
const y = dl.randint(0, 10, [64]);
const step = () => {
  opt.zeroGrad();
  const loss = lossFn(model(x), y);
  loss.backward();
  opt.step();
  loss.item();
};
const time = (fn) => {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) fn();
  return (performance.now() - t0) / steps;
};
for (let i = 0; i < 10; i++) step(); // JIT warm-up
const before = [];
for (let r = 0; r < rounds; r++) before.push(time(step));
// One profile counts the module calls of a step (and leaves the process "after").
const counted = profiler.profile(() => step());
const moduleCalls = counted.events.filter((e) => e.kind === "module").length;
const after = [];
const on = [];
const opts = { recordShapes: true, profileMemory: true };
for (let r = 0; r < rounds; r++) {
  after.push(time(step));
  let ms = 0;
  profiler.profile(opts, () => {
    ms = time(step);
  });
  on.push(ms);
}

const ns = (v) => `${v.toFixed(1)} ns`;
const ms = (v) => `${v.toFixed(2)} ms`;
console.log(`module call (identity module): model.forward(x) ${ns(median(direct))}, model(x) ${ns(median(called))}`);

console.log(`MNIST CNN b64 Adam step, ${moduleCalls} module calls, medians of ${rounds} rounds of ${steps} steps:`);
console.log(`  before any profile ${ms(median(before))}`);
console.log(`  after a profile    ${ms(median(after))}  (${(median(after) / median(before)).toFixed(3)}x before)`);
console.log(`  inside profile()   ${ms(median(on))}  (${(median(on) / median(after)).toFixed(3)}x after; shapes and memory recorded)`);
const machinery = median(called) - median(direct);
const share = ((machinery * moduleCalls) / 1e6 / median(before)) * 100;
console.log(
  `  the seams' share of a step: ${moduleCalls} calls x ${ns(machinery)} = ${share.toFixed(4)} % (upper bound: the whole call machinery)`,
);
