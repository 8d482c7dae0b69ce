/**
 * The tutorial's section 8 "Advanced PyTorch Techniques" with dl, end to end on a small synthetic
 * classification task:
 *
 *   1. custom modules: CustomActivation, CustomLayer (with its own Parameter), MatrixMultiplyBias
 *   2. forward hooks that print activation shapes, and a full backward hook
 *   3. learning-rate schedules: StepLR and CosineAnnealingLR
 *   4. a custom training loop: gradient accumulation over 4 micro-batches, gradient clipping
 *      (clipGradNorm_), a scheduler stepped once per epoch
 *   5. mixed precision: autocast + GradScaler (float16 on the CPU rounds like a half-precision
 *      device but is not faster: this shows correctness only)
 *   6. checkpoints of the model, optimizer, scheduler, grad scaler and random generators that
 *      resume training with bit-identical results: 2N epochs in one go == N epochs, save, load into
 *      fresh objects, N more epochs
 *
 * Checkpoint layout (a folder, written by saveCheckpoint):
 *   model.safetensors      model.stateDict() (PyTorch's keys: "layer1.linear.weight", ...)
 *   optimizer.safetensors  every tensor of optimizer.stateDict(), keyed by its path in the dict
 *                          ("state.0.exp_avg", "state.0.step", ...)
 *   trainer.json           everything else: the optimizer's state dict with each tensor replaced
 *                          by {"$tensor": "<its key in optimizer.safetensors>"}, the scheduler's and
 *                          the grad scaler's state dicts, the random generators' states (dropout,
 *                          data shuffling) and the number of epochs done
 *
 * Run: pnpm --filter @dl/example-advanced-training start
 *      node dist/main.mjs --smoke   (fewer epochs; a few seconds)
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { DataLoader, TensorDataset } from "@dl/data";
import { CrossEntropyLoss, Dropout, Linear, Module, Parameter, clipGradNorm_, load, save } from "@dl/nn";
import { Adam, CosineAnnealingLR, GradScaler, type LRScheduler, StepLR } from "@dl/optim";
import {
  Generator,
  Tensor,
  add,
  argmax,
  autocast,
  defaultGenerator,
  div,
  eq,
  equal,
  manualSeed,
  matmul,
  maximum,
  mul,
  randn,
  sum,
  tanh,
  tidy,
} from "@dl/tensor";

// =============================================================================================
// 1. Custom layers and modules

/** A leaky ReLU written as max(0.01 x, x): no parameters, just a forward. */
export class CustomActivation extends Module {
  forward(x: Tensor): Tensor {
    return maximum(mul(x, 0.01), x);
  }
}

/** Linear -> CustomActivation -> scaled by a learnable per-feature weight. */
export class CustomLayer extends Module {
  linear: Linear;
  customActivation: CustomActivation;
  /** A Parameter assigned as a property is registered (its state-dict key is the property name). */
  custom_weight: Parameter;

  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.linear = new Linear(inFeatures, outFeatures);
    this.customActivation = new CustomActivation();
    this.custom_weight = new Parameter(randn(outFeatures));
  }

  forward(x: Tensor): Tensor {
    x = this.linear.call(x);
    x = this.customActivation.call(x);
    return mul(x, this.custom_weight);
  }
}

/** x @ weight + bias with weight [in, out] (the transpose of Linear's layout), as the tutorial. */
export class MatrixMultiplyBias extends Module {
  weight: Parameter;
  bias: Parameter;

  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.weight = new Parameter(randn(inFeatures, outFeatures));
    this.bias = new Parameter(randn(outFeatures));
  }

  forward(x: Tensor): Tensor {
    return add(matmul(x, this.weight), this.bias);
  }
}

/** The model trained below: CustomLayer -> Dropout -> MatrixMultiplyBias. */
export class Net extends Module {
  layer1: CustomLayer;
  dropout: Dropout;
  head: MatrixMultiplyBias;

  constructor(inFeatures: number, hidden: number, numClasses: number, dropout = 0.1) {
    super();
    this.layer1 = new CustomLayer(inFeatures, hidden);
    this.dropout = new Dropout(dropout);
    this.head = new MatrixMultiplyBias(hidden, numClasses);
  }

  forward(x: Tensor): Tensor {
    return this.head.call(this.dropout.call(this.layer1.call(x)));
  }
}

// =============================================================================================
// The task: 3 classes labelled by a fixed random "teacher" network over 8 features.

export const IN_FEATURES = 8;
export const HIDDEN = 32;
export const NUM_CLASSES = 3;

/** n samples of the teacher task; the same seed gives the same data. */
export function makeData(n: number, seed: number): TensorDataset {
  const g = new Generator().manualSeed(seed);
  const w1 = randn(IN_FEATURES, 16, { generator: new Generator().manualSeed(1234) });
  const w2 = randn(16, NUM_CLASSES, { generator: new Generator().manualSeed(5678) });
  const x = randn(n, IN_FEATURES, { generator: g });
  const y = argmax(matmul(tanh(matmul(x, w1)), w2), 1);
  return new TensorDataset(x, y);
}

// =============================================================================================
// 4./5. The training loop: gradient accumulation, clipping, optional mixed precision

export interface TrainConfig {
  /** Micro-batches whose gradients are summed before one optimizer step. */
  accumulationSteps: number;
  batchSize: number;
  lr: number;
  /** Gradients are clipped to this total L2 norm (after unscaling, with a GradScaler). */
  maxGradNorm: number;
  scheduler: "step" | "cosine";
  /** Epochs of the whole schedule (CosineAnnealingLR's T_max). */
  totalEpochs: number;
  /** autocast(float16) + GradScaler. */
  amp: boolean;
}

/** Everything that changes while training, i.e. everything a checkpoint must hold. */
export interface Trainer {
  config: TrainConfig;
  model: Net;
  optimizer: Adam;
  scheduler: LRScheduler;
  scaler: GradScaler | null;
  /** Drives the DataLoader's shuffling (its state is checkpointed). */
  loaderGenerator: Generator;
  loader: DataLoader<Tensor[], Tensor[]>;
  criterion: CrossEntropyLoss;
  /** Epochs done. */
  epoch: number;
}

/** A fresh model, optimizer, scheduler and scaler; `seed` decides the model's initial weights. */
export function makeTrainer(dataset: TensorDataset, config: TrainConfig, seed: number): Trainer {
  manualSeed(seed);
  const model = new Net(IN_FEATURES, HIDDEN, NUM_CLASSES);
  const optimizer = new Adam(model.parameters(), { lr: config.lr });
  const scheduler: LRScheduler =
    config.scheduler === "step" ? new StepLR(optimizer, 3, { gamma: 0.5 }) : new CosineAnnealingLR(optimizer, config.totalEpochs);
  const scaler = config.amp ? new GradScaler({ initScale: 2 ** 12, growthInterval: 10 }) : null;
  const loaderGenerator = new Generator().manualSeed(seed + 1);
  const loader = new DataLoader(dataset, { batchSize: config.batchSize, shuffle: true, generator: loaderGenerator });
  return { config, model, optimizer, scheduler, scaler, loaderGenerator, loader, criterion: new CrossEntropyLoss(), epoch: 0 };
}

export interface EpochStats {
  epoch: number;
  /** Mean loss over the epoch's micro-batches (unscaled). */
  loss: number;
  /** Learning rate used during the epoch. */
  lr: number;
  /** Optimizer steps taken (micro-batches / accumulationSteps, rounded up). */
  steps: number;
  /** Largest total gradient norm seen before clipping. */
  maxGradNorm: number;
  /** Optimizer steps skipped by the GradScaler (inf/NaN gradients). */
  skipped: number;
  /** The GradScaler's scale after the epoch (1 without one). */
  scale: number;
}

/** One epoch of the tutorial's custom loop, then scheduler.step(). */
export function trainEpoch(t: Trainer): EpochStats {
  const { model, optimizer, scheduler, scaler, criterion, config } = t;
  const accumulationSteps = config.accumulationSteps;
  const lr = optimizer.paramGroups[0]?.lr as number;
  model.train();
  let totalLoss = 0;
  let batches = 0;
  let steps = 0;
  let skipped = 0;
  let maxGradNorm = 0;

  const update = () => {
    if (scaler) scaler.unscale_(optimizer); // clip the real gradients, not the scaled ones
    const norm = clipGradNorm_(model.parameters(), config.maxGradNorm).item() as number;
    if (Number.isFinite(norm)) maxGradNorm = Math.max(maxGradNorm, norm);
    if (scaler) {
      const before = scaler.getScale();
      scaler.step(optimizer); // skipped when a gradient is inf or NaN
      scaler.update();
      if (scaler.getScale() < before) skipped++;
    } else {
      optimizer.step();
    }
    optimizer.zeroGrad();
    steps++;
  };

  // The outer tidy() frees the batches the DataLoader made (and the few temporaries of in-place ops
  // outside the inner scopes), the inner one each micro-batch's tensors.
  tidy(() => {
    optimizer.zeroGrad(); // zero the gradients at the start of the epoch
    for (const [inputs, targets] of t.loader) {
      tidy(() => {
        const forward = () => criterion.call(model.call(inputs as Tensor), targets as Tensor);
        const rawLoss = scaler ? autocast(forward, { dtype: "float16" }) : forward();
        const loss = div(rawLoss, accumulationSteps); // each micro-batch contributes 1/accumulationSteps
        (scaler ? scaler.scale(loss) : loss).backward(); // gradients add up in .grad
        batches++;
        if (batches % accumulationSteps === 0) update();
        totalLoss += (loss.item() as number) * accumulationSteps; // unscaled, for logging
      });
    }
    if (batches % accumulationSteps !== 0) update(); // the remaining micro-batches
  });
  scheduler.step(); // once per epoch
  t.epoch++;
  return { epoch: t.epoch, loss: totalLoss / batches, lr, steps, maxGradNorm, skipped, scale: scaler?.getScale() ?? 1 };
}

/** Accuracy of the model over a dataset (eval mode, no gradients). */
export function accuracy(model: Net, dataset: TensorDataset): number {
  model.eval();
  const [x, y] = dataset.tensors as [Tensor, Tensor];
  return noGrad(() => tidy(() => (sum(eq(argmax(model.call(x), 1), y)).item() as number) / dataset.length));
}

// =============================================================================================
// 6. Checkpoints

/** A JSON value with every tensor replaced by {"$tensor": key} and non-finite numbers by {"$number": "Infinity"}. */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Splits a state dict into JSON and a flat record of its tensors, keyed by their dotted path. */
export function extractTensors(value: unknown, path: string, tensors: Record<string, Tensor>): Json {
  if (value instanceof Tensor) {
    tensors[path] = value;
    return { $tensor: path };
  }
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (Array.isArray(value)) return value.map((v, i) => extractTensors(v, `${path}.${i}`, tensors));
  if (value !== null && typeof value === "object") {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = extractTensors(v, path ? `${path}.${k}` : k, tensors);
    return out;
  }
  if (value === undefined) return null;
  return value as Json;
}

/** The inverse of extractTensors. */
export function restoreTensors(value: Json, tensors: Record<string, Tensor>): unknown {
  if (Array.isArray(value)) return value.map((v) => restoreTensors(v, tensors));
  if (value !== null && typeof value === "object") {
    if (typeof value.$tensor === "string") {
      const t = tensors[value.$tensor];
      if (t === undefined) throw new Error(`checkpoint: tensor '${value.$tensor}' is missing from optimizer.safetensors`);
      return t;
    }
    if (typeof value.$number === "string") return Number(value.$number);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreTensors(v, tensors)]));
  }
  return value;
}

/** Writes model.safetensors, optimizer.safetensors and trainer.json into `dir`. */
export async function saveCheckpoint(dir: string, t: Trainer): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await save(t.model.stateDict(), join(dir, "model.safetensors"));
  const tensors: Record<string, Tensor> = {};
  const optimizer = extractTensors(t.optimizer.stateDict(), "", tensors);
  await save(tensors, join(dir, "optimizer.safetensors"));
  const trainer = {
    format: "dl-example-checkpoint/1",
    epoch: t.epoch,
    optimizer,
    scheduler: extractTensors(t.scheduler.stateDict(), "scheduler", {}),
    scaler: t.scaler ? extractTensors(t.scaler.stateDict(), "scaler", {}) : null,
    // torch.get_rng_state() and the loader's generator: dropout masks and shuffling continue exactly.
    rng: { default: defaultGenerator.getState(), loader: t.loaderGenerator.getState() },
  };
  writeFileSync(join(dir, "trainer.json"), `${JSON.stringify(trainer, null, 2)}\n`);
}

/** Loads a checkpoint written by saveCheckpoint into (fresh) objects of the same configuration. */
export async function loadCheckpoint(dir: string, t: Trainer): Promise<void> {
  const trainer = JSON.parse(readFileSync(join(dir, "trainer.json"), "utf8")) as {
    epoch: number;
    optimizer: Json;
    scheduler: Json;
    scaler: Json;
    rng: { default: object; loader: object };
  };
  t.model.loadStateDict(await load(join(dir, "model.safetensors")));
  const tensors = await load(join(dir, "optimizer.safetensors"));
  t.optimizer.loadStateDict(restoreTensors(trainer.optimizer, tensors) as ReturnType<Adam["stateDict"]>);
  t.scheduler.loadStateDict(restoreTensors(trainer.scheduler, {}) as ReturnType<LRScheduler["stateDict"]>);
  if (t.scaler && trainer.scaler) t.scaler.loadStateDict(restoreTensors(trainer.scaler, {}) as ReturnType<GradScaler["stateDict"]>);
  defaultGenerator.setState(trainer.rng.default);
  t.loaderGenerator.setState(trainer.rng.loader);
  t.epoch = trainer.epoch;
}

// =============================================================================================
// The program

export interface Options {
  /** Fewer epochs: a few seconds. */
  smoke?: boolean;
  /** Where the checkpoint goes (default: a new folder in the OS temp dir). */
  checkpointDir?: string;
  print?: (line: string) => void;
}

export interface Result {
  hookShapes: string[];
  schedules: { step: number[]; cosine: number[] };
  training: EpochStats[];
  initialAccuracy: number;
  finalAccuracy: number;
  amp: { fp32: EpochStats[]; fp16: EpochStats[] };
  resume: {
    /** Losses of epochs N+1..2N: in one go, and after the checkpoint. */
    straight: number[];
    resumed: number[];
    /** Whether every parameter is bitwise equal after 2N epochs both ways. */
    parametersEqual: boolean;
    /** Whether the optimizer's state tensors are bitwise equal too. */
    optimizerStateEqual: boolean;
    checkpointDir: string;
    files: string[];
  };
}

const shape = (t: Tensor) => `[${t.shape.join(", ")}]`;
const f4 = (v: number) => v.toFixed(4);

function paramsEqual(a: Module, b: Module): boolean {
  const pa = a.stateDict();
  const pb = b.stateDict();
  return Object.keys(pa).every((k) => pb[k] !== undefined && equal(pa[k] as Tensor, pb[k] as Tensor));
}

function optimizerStatesEqual(a: Adam, b: Adam): boolean {
  const sa = a.stateDict().state as Record<string, Record<string, unknown>>;
  const sb = b.stateDict().state as Record<string, Record<string, unknown>>;
  return Object.keys(sa).every((k) =>
    Object.entries(sa[k] ?? {}).every(([key, v]) => {
      const w = sb[k]?.[key];
      return v instanceof Tensor && w instanceof Tensor ? equal(v, w) : v === w;
    }),
  );
}

export async function main(options: Options = {}): Promise<Result> {
  const print = options.print ?? console.log;
  const smoke = options.smoke ?? false;
  const trainSet = makeData(smoke ? 512 : 2048, 1);
  const testSet = makeData(1000, 2);

  // ---- 1. custom modules ----
  print("== 1. Custom layers and modules ==");
  manualSeed(0);
  {
    const inputData = randn(1, 10);
    const customModule = new CustomLayer(10, 5);
    const output = customModule.call(inputData);
    print(`Custom Layer output shape: ${shape(output)}`);
    print(`Custom Layer parameters: ${[...customModule.namedParameters()].map(([n, p]) => `${n} ${shape(p)}`).join(", ")}`);
    const customLinear = new MatrixMultiplyBias(10, 5);
    print(`Custom Linear Layer output shape: ${shape(customLinear.call(randn(4, 10)))}`);
    print(String(new Net(IN_FEATURES, HIDDEN, NUM_CLASSES)));
  }

  // ---- 2. hooks ----
  print("\n== 2. Hooks: forward hooks on every layer, a backward hook on the head ==");
  const hookShapes: string[] = [];
  {
    const model = new Net(IN_FEATURES, HIDDEN, NUM_CLASSES);
    const handles = [model.layer1, model.dropout, model.head].map((m) =>
      m.registerForwardHook((module, _input, output) => {
        const line = `Inside ${module.constructor.name} - Output shape: ${shape(output as Tensor)}`;
        hookShapes.push(line);
        print(line);
      }),
    );
    handles.push(
      model.head.registerFullBackwardHook((module, _gradInput, gradOutput) => {
        const line = `Inside ${module.constructor.name} - Grad output shape: ${shape(gradOutput[0] as Tensor)}`;
        hookShapes.push(line);
        print(line);
      }),
    );
    const [x, y] = trainSet.getBatch([0, 1, 2, 3, 4, 5, 6, 7]) as [Tensor, Tensor];
    new CrossEntropyLoss().call(model.call(x), y).backward();
    for (const h of handles) h.remove(); // remove hooks when they are no longer needed
    model.call(x); // prints nothing now
  }

  // ---- 3. schedules ----
  print("\n== 3. Learning-rate schedulers (stepped once per epoch) ==");
  const schedules = { step: [] as number[], cosine: [] as number[] };
  {
    const epochs = 10;
    const optStep = new Adam([randn(1).requiresGrad_()], { lr: 0.01 });
    const optCos = new Adam([randn(1).requiresGrad_()], { lr: 0.01 });
    const step = new StepLR(optStep, 3, { gamma: 0.5 });
    const cosine = new CosineAnnealingLR(optCos, epochs);
    print("epoch  StepLR(step_size=3, gamma=0.5)  CosineAnnealingLR(T_max=10)");
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const a = optStep.paramGroups[0]?.lr as number;
      const b = optCos.paramGroups[0]?.lr as number;
      schedules.step.push(a);
      schedules.cosine.push(b);
      print(`${String(epoch).padStart(5)}  ${a.toFixed(6).padStart(30)}  ${b.toFixed(6).padStart(27)}`);
      step.step();
      cosine.step();
    }
  }

  // ---- 4. training with accumulation and clipping ----
  const epochs = smoke ? 6 : 20;
  const config: TrainConfig = {
    accumulationSteps: 4,
    batchSize: 16,
    lr: 0.01,
    maxGradNorm: 1.0,
    scheduler: "cosine",
    totalEpochs: epochs,
    amp: false,
  };
  print(
    `\n== 4. Training: batches of ${config.batchSize}, gradients accumulated over ${config.accumulationSteps} micro-batches (effective batch ${config.batchSize * config.accumulationSteps}), clipped to norm ${config.maxGradNorm}, CosineAnnealingLR ==`,
  );
  const trainer = makeTrainer(trainSet, config, 10);
  const initialAccuracy = accuracy(trainer.model, testSet);
  print(`Test accuracy before training: ${f4(initialAccuracy)}`);
  const training: EpochStats[] = [];
  for (let e = 0; e < epochs; e++) {
    const s = trainEpoch(trainer);
    training.push(s);
    print(
      `Epoch ${s.epoch}, Avg Loss: ${f4(s.loss)}, LR: ${s.lr.toFixed(6)}, optimizer steps: ${s.steps}, max grad norm: ${s.maxGradNorm.toFixed(3)}`,
    );
  }
  const finalAccuracy = accuracy(trainer.model, testSet);
  print(`Test accuracy after training: ${f4(finalAccuracy)}`);

  // ---- 5. mixed precision ----
  const ampEpochs = smoke ? 3 : 6;
  print(`\n== 5. Mixed precision: autocast(float16) + GradScaler vs float32, ${ampEpochs} epochs from the same start ==`);
  print("(On the CPU float16 products are rounded like a half-precision device's, but not faster: this checks correctness.)");
  const amp = { fp32: [] as EpochStats[], fp16: [] as EpochStats[] };
  {
    const base = { ...config, scheduler: "step" as const, totalEpochs: ampEpochs };
    // Same initial weights, same shuffling, same dropout masks (the default generator is rewound):
    // only the precision of the matrix products differs.
    const t32 = makeTrainer(trainSet, { ...base, amp: false }, 20);
    const rng = defaultGenerator.getState();
    for (let e = 0; e < ampEpochs; e++) amp.fp32.push(trainEpoch(t32));
    const t16 = makeTrainer(trainSet, { ...base, amp: true }, 20);
    defaultGenerator.setState(rng);
    for (let e = 0; e < ampEpochs; e++) amp.fp16.push(trainEpoch(t16));
    amp.fp32.forEach((a, e) => {
      const b = amp.fp16[e] as EpochStats;
      print(`Epoch ${e + 1}: float32 loss ${f4(a.loss)}, float16 loss ${f4(b.loss)}, grad scale ${b.scale}, skipped steps ${b.skipped}`);
    });
    print(`Test accuracy: float32 ${f4(accuracy(t32.model, testSet))}, float16 ${f4(accuracy(t16.model, testSet))}`);
  }

  // ---- 6. checkpoint and resume ----
  const n = smoke ? 2 : 4;
  const resumeConfig: TrainConfig = { ...config, scheduler: "step", totalEpochs: 2 * n, amp: true };
  print(`\n== 6. Checkpoint and resume: ${2 * n} epochs in one go vs ${n} + save + load into fresh objects + ${n} ==`);
  print("(float16 autocast + GradScaler, StepLR, dropout and shuffling all continue from the checkpoint)");
  const checkpointDir = options.checkpointDir ?? mkdtempSync(join(tmpdir(), "dl-advanced-training-"));
  const straightTrainer = makeTrainer(trainSet, resumeConfig, 30);
  const straight: number[] = [];
  for (let e = 0; e < 2 * n; e++) {
    const s = trainEpoch(straightTrainer);
    if (e >= n) straight.push(s.loss);
  }
  const first = makeTrainer(trainSet, resumeConfig, 30);
  for (let e = 0; e < n; e++) trainEpoch(first);
  await saveCheckpoint(checkpointDir, first);
  const files = ["model.safetensors", "optimizer.safetensors", "trainer.json"];
  print(`Saved after epoch ${first.epoch} to ${checkpointDir}: ${files.join(", ")}`);
  // Fresh objects with other initial weights and generators: everything must come from the files.
  const resumedTrainer = makeTrainer(trainSet, resumeConfig, 999);
  await loadCheckpoint(checkpointDir, resumedTrainer);
  print(`Loaded into fresh objects: resuming at epoch ${resumedTrainer.epoch + 1}, LR ${resumedTrainer.optimizer.paramGroups[0]?.lr}`);
  const resumed: number[] = [];
  for (let e = 0; e < n; e++) resumed.push(trainEpoch(resumedTrainer).loss);
  for (let e = 0; e < n; e++) {
    print(`Epoch ${n + e + 1}: loss in one go ${straight[e]}, resumed ${resumed[e]}`);
  }
  const parametersEqual = paramsEqual(straightTrainer.model, resumedTrainer.model);
  const optimizerStateEqual = optimizerStatesEqual(straightTrainer.optimizer, resumedTrainer.optimizer);
  const lossesEqual = straight.every((v, i) => v === resumed[i]);
  print(`Losses identical: ${lossesEqual}, parameters identical: ${parametersEqual}, optimizer state identical: ${optimizerStateEqual}`);

  return {
    hookShapes,
    schedules,
    training,
    initialAccuracy,
    finalAccuracy,
    amp,
    resume: { straight, resumed, parametersEqual, optimizerStateEqual, checkpointDir, files },
  };
}

/** --smoke, --checkpoint-dir DIR. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--smoke") o.smoke = true;
    else if (a === "--checkpoint-dir") o.checkpointDir = argv[++i] as string;
    else throw new Error(`unknown argument ${a} (expected --smoke, --checkpoint-dir DIR)`);
  }
  return o;
}

// Run when executed (node dist/main.mjs), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(parseArgs(process.argv.slice(2))).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
