// The tutorial's training loop written as in PyTorch (no tidy, no dispose), measuring memory as it
// runs: backend.memory() and the process's ArrayBuffer bytes and RSS.
//   node bench/memory-loop.mjs [steps] [cnn|lstm|mlp] [train|nograd|inference] [--tidy]
// --tidy wraps each step in tidy() (the eager path) for comparison. Run `pnpm build` first.
import "@dl/backend-cpu/register";
import "@dl/autograd";
import { noGrad } from "@dl/autograd";
import { Conv2d, CrossEntropyLoss, Linear, LSTM, MaxPool2d, Module, ReLU, Sequential } from "@dl/nn";
import { Adam } from "@dl/optim";
import { getBackend, manualSeed, randint, randn, tidy } from "@dl/tensor";

const steps = Number(process.argv[2] ?? 200);
const which = process.argv[3] ?? "cnn";
manualSeed(0);

class CNN extends Module {
  constructor() {
    super();
    this.conv1 = new Conv2d(1, 16, 3, { padding: 1 });
    this.pool = new MaxPool2d(2);
    this.conv2 = new Conv2d(16, 32, 3, { padding: 1 });
    this.relu = new ReLU();
    this.fc = new Linear(32 * 7 * 7, 10);
  }
  forward(x) {
    x = this.pool.call(this.relu.call(this.conv1.call(x)));
    x = this.pool.call(this.relu.call(this.conv2.call(x)));
    return this.fc.call(x.view(x.size(0), -1));
  }
}
class RNN extends Module {
  constructor() {
    super();
    this.lstm = new LSTM(8, 32, { batchFirst: true });
    this.fc = new Linear(32, 3);
  }
  forward(x) {
    const [out] = this.lstm.call(x);
    return this.fc.call(out.select(1, -1));
  }
}
const model = which === "cnn" ? new CNN() : which === "lstm" ? new RNN() : new Sequential(new Linear(64, 128), new ReLU(), new Linear(128, 10));
const input = () => (which === "cnn" ? randn(32, 1, 28, 28) : which === "lstm" ? randn(16, 12, 8) : randn(32, 64));
const classes = which === "lstm" ? 3 : 10;
const criterion = new CrossEntropyLoss();
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const mode = process.argv[4] ?? "train";
const scoped = process.argv.includes("--tidy");
const mb = (b) => (b / 2 ** 20).toFixed(1);
const t0 = performance.now();
const step1 = () => {
  const x = input();
  const y = randint(0, classes, [x.shape[0]]);
  let loss;
  if (mode === "train") {
    const outputs = model.call(x);
    loss = criterion.call(outputs, y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  } else if (mode === "nograd") {
    loss = noGrad(() => criterion.call(model.call(x), y));
  } else {
    loss = criterion.call(model.call(x), y);
  }
  loss.item();
};
for (let step = 1; step <= steps; step++) {
  if (scoped) tidy(step1);
  else step1();
  if (step % Math.max(1, Math.floor(steps / 10)) === 0 || step === 10) {
    const m = getBackend("cpu").memory();
    const p = process.memoryUsage();
    console.log(`step ${step}: memory() ${m.storages} storages ${mb(m.bytes)} MB; arrayBuffers ${mb(p.arrayBuffers)} MB; rss ${mb(p.rss)} MB; ${((performance.now() - t0) / step).toFixed(1)} ms/step`);
  }
}
