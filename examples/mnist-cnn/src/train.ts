/**
 * The MNIST CNN's model and training loop, with no Node import: the CLI (main.ts) and a browser
 * bundle (test/gpu/browser-mnist-entry.ts) run the same code, on "cpu" or "gpu" by changing the
 * device name. Data comes in as plain arrays; reading files and saving checkpoints stay in main.ts.
 */
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { createGpuBackend } from "@dl/backend-gpu";
import { DataLoader, type TensorDataset } from "@dl/data";
import { Conv2d, CrossEntropyLoss, Linear, MaxPool2d, Module, ReLU } from "@dl/nn";
import { Adam, type LRScheduler } from "@dl/optim";
import {
  argmax,
  div,
  eq,
  fromArray,
  getBackend,
  getDefaultDevice,
  hasBackend,
  type MemoryInfo,
  manualSeed,
  registerBackend,
  setDefaultDevice,
  sub,
  sum,
  type Tensor,
  tidy,
} from "@dl/tensor";

/** The tutorial's SimpleCNN for 1-channel 28 x 28 images: 28 -> 14 -> 7 after the two pools. */
export class SimpleCNN extends Module {
  conv1: Conv2d;
  relu1: ReLU;
  pool1: MaxPool2d;
  conv2: Conv2d;
  relu2: ReLU;
  pool2: MaxPool2d;
  fc: Linear;

  constructor(numClasses = 10, channels: readonly [number, number] = [16, 32]) {
    super();
    const [c1, c2] = channels;
    // First convolutional block: 1 channel (grayscale) in, 28x28 -> 14x14 after pooling
    this.conv1 = new Conv2d(1, c1, 3, { padding: 1 });
    this.relu1 = new ReLU();
    this.pool1 = new MaxPool2d(2, { stride: 2 });
    // Second convolutional block: 14x14 -> 7x7 after pooling
    this.conv2 = new Conv2d(c1, c2, 3, { padding: 1 });
    this.relu2 = new ReLU();
    this.pool2 = new MaxPool2d(2, { stride: 2 });
    // Fully connected layer: (28/2/2) * (28/2/2) * c2 features
    this.fc = new Linear(c2 * 7 * 7, numClasses);
  }

  forward(x: Tensor): Tensor {
    // The tutorial applies ReLU before pooling; max-pooling first gives exactly the same values and
    // gradients (max and ReLU commute: ReLU is monotonic) with a 4x smaller ReLU.
    x = this.relu1.call(this.pool1.call(this.conv1.call(x))); // [B, c1, 14, 14]
    x = this.relu2.call(this.pool2.call(this.conv2.call(x))); // [B, c2, 7, 7]
    x = x.view(x.size(0), -1); // Flatten all dimensions except the batch
    return this.fc.call(x);
  }
}

/** MNIST's usual normalization constants (mean and standard deviation of the training pixels). */
export const MEAN = 0.1307;
export const STD = 0.3081;

/** Raw pixels in [0, 1] (count * 784 floats) -> normalized images [count, 1, 28, 28] on the default device. */
export function normalizeImages(pixels: Float32Array, count: number): Tensor {
  return tidy(() => div(sub(fromArray(pixels, [count, 1, 28, 28]), MEAN), STD));
}

/** Makes `device` the default device, registering the gpu backend the first time it is asked for. */
export function useDevice(device: string): void {
  if (device === "gpu" && !hasBackend("gpu")) registerBackend(createGpuBackend());
  setDefaultDevice(device);
}

/** Accuracy (0..1) of the model over a dataset, in eval mode, in large batches, without autograd. */
export function evaluate(model: Module & { call(x: Tensor): Tensor }, dataset: TensorDataset, batchSize = 500): number {
  model.eval();
  let correct = 0;
  // The outer tidy() also frees the batches the loader made; the inner one each batch's temporaries.
  noGrad(() =>
    tidy(() => {
      for (const [x, y] of new DataLoader(dataset, { batchSize })) {
        correct += tidy(() => sum(eq(argmax(model.call(x as Tensor), 1), y as Tensor)).item() as number);
      }
    }),
  );
  return correct / dataset.length;
}

/** What one training step needs besides its batch. */
export interface Trainer {
  model: SimpleCNN;
  criterion: CrossEntropyLoss;
  optimizer: Adam;
  scheduler?: LRScheduler | null;
}

/**
 * One training step on a batch (zero grads, forward, loss, backward, Adam step, scheduler step)
 * inside tidy(): returns the loss and how many predictions were right. Only the parameters, their
 * .grad and the optimizer's state outlive it.
 */
export function trainStep({ model, criterion, optimizer, scheduler }: Trainer, x: Tensor, y: Tensor): { loss: number; hits: number } {
  return tidy(() => {
    const outputs = model.call(x);
    const l = criterion.call(outputs, y);
    optimizer.zeroGrad();
    l.backward();
    optimizer.step();
    scheduler?.step();
    return { loss: l.item() as number, hits: noGrad(() => sum(eq(argmax(outputs, 1), y)).item() as number) };
  });
}

export interface TrainOptions {
  /** Raw pixels in [0, 1], 784 per image (what the `mnist` package's digit files hold). */
  images: Float32Array;
  /** The digit of every image. */
  labels: ArrayLike<number>;
  /** "cpu" (default) or "gpu": the one line that changes. */
  device?: string;
  /** Training steps (default: one pass over the images). Batches are taken in order, wrapping around. */
  steps?: number;
  batchSize?: number;
  lr?: number;
  channels?: readonly [number, number];
  /** Seed of the weight initialization (the same weights on every device). */
  seed?: number;
}

export interface TrainResult {
  /** Loss of every step, in order. */
  losses: number[];
  /** Accuracy (0..1) of every step's batch, as it was seen before the update. */
  accuracies: number[];
  /** The device's live storages after every step (its backend's memory()). */
  memory: MemoryInfo[];
  model: SimpleCNN;
}

/**
 * Trains a fresh SimpleCNN (Adam, cross-entropy, constant lr) on the given images, batch after
 * batch, on `device`. Leaves the caller's default device as it was.
 */
export function trainMnist(options: TrainOptions): TrainResult {
  const count = options.labels.length;
  const batchSize = Math.min(options.batchSize ?? 32, count);
  const steps = options.steps ?? Math.ceil(count / batchSize);
  if (options.images.length !== count * 784) {
    throw new Error(`trainMnist: expected ${count} * 784 pixels for ${count} labels, got ${options.images.length}`);
  }
  const previousDevice = getDefaultDevice();
  const device = options.device ?? "cpu";
  try {
    manualSeed(options.seed ?? 0);
    useDevice(device);
    const images = normalizeImages(options.images, count);
    const labels = fromArray(Array.from(options.labels), [count], { dtype: "int64" });
    const model = new SimpleCNN(10, options.channels ?? [16, 32]);
    const trainer: Trainer = {
      model,
      criterion: new CrossEntropyLoss(),
      optimizer: new Adam(model.parameters(), { lr: options.lr ?? 3e-3 }),
    };
    model.train();
    const losses: number[] = [];
    const accuracies: number[] = [];
    const memory: MemoryInfo[] = [];
    for (let step = 0; step < steps; step++) {
      const start = (step * batchSize) % count;
      const end = Math.min(start + batchSize, count);
      const { loss, hits } = tidy(() => trainStep(trainer, images.slice(0, start, end), labels.slice(0, start, end)));
      losses.push(loss);
      accuracies.push(hits / (end - start));
      memory.push({ ...getBackend(device).memory() });
    }
    images.dispose();
    labels.dispose();
    return { losses, accuracies, memory, model };
  } finally {
    setDefaultDevice(previousDevice);
  }
}
