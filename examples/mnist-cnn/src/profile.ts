/**
 * §11 "Profiling": the MNIST CNN under dl's profiler (torch.profiler's API in camelCase). Runs a
 * few training steps on real digits, prints PyTorch's key_averages() table and writes a Chrome
 * trace (open it in chrome://tracing or Perfetto).
 *
 * Run: pnpm --filter @dl/example-mnist-cnn profile   (--steps N, --trace path, --sort self_cpu_time_total)
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CrossEntropyLoss } from "@dl/nn";
import { Adam } from "@dl/optim";
import { profile, recordFunction, type SortKey } from "@dl/profiler";
import { manualSeed } from "@dl/tensor";
import { loadMnist } from "./data.js";
import { SimpleCNN } from "./train.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const steps = Number(arg("steps") ?? 5);
const tracePath = arg("trace") ?? join(tmpdir(), "dl-mnist-trace.json");
const sortBy = (arg("sort") ?? "cpu_time_total") as SortKey;

manualSeed(0);
const { images, labels } = loadMnist();
const model = new SimpleCNN();
const criterion = new CrossEntropyLoss();
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const batch = 64;

const step = (i: number) => {
  const inputs = images.narrow(0, (i * batch) % 9000, batch);
  const targets = labels.narrow(0, (i * batch) % 9000, batch);
  const outputs = model(inputs);
  const loss = criterion(outputs, targets);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  return loss.item() as number;
};

step(0); // warm-up: the first call of each kernel is not what a profile should show
const prof = profile({ recordShapes: true, profileMemory: true }, () => {
  for (let i = 1; i <= steps; i++) recordFunction("train_step", () => step(i));
});
console.log(prof.keyAverages().table({ sortBy, rowLimit: 15 }));
await prof.exportChromeTrace(tracePath);
console.log(`\nChrome trace (${prof.events.length} events): ${tracePath}`);
