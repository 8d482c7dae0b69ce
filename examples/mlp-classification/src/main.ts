/**
 * Training your first neural network with dl: the tutorial's section 5 "Putting It All Together"
 * example, step by step. A custom Dataset makes synthetic binary-classification data (labels from a
 * hidden linear rule), a DataLoader batches and shuffles it, SimpleMLP (Linear -> ReLU -> Linear)
 * outputs one logit, BCEWithLogitsLoss scores it and Adam updates the weights. Every epoch prints
 * the last batch's loss and the accuracy over the training set, as the tutorial does; the end runs
 * one inference.
 *
 * Run: pnpm --filter @dl/example-mlp-classification start            (the tutorial's 100 epochs)
 *      pnpm --filter @dl/example-mlp-classification start -- --smoke (10 epochs: a few seconds)
 *      ... start -- --device gpu   the same script on the gpu.js backend (Node: under `xvfb-run -a`)
 */
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { createGpuBackend } from "@dl/backend-gpu";
import { DataLoader, Dataset } from "@dl/data";
import { BCEWithLogitsLoss, Linear, Module, ReLU } from "@dl/nn";
import { Adam } from "@dl/optim";
import {
  add,
  eq,
  getDefaultDevice,
  gt,
  hasBackend,
  manualSeed,
  matmul,
  randn,
  registerBackend,
  setDefaultDevice,
  sigmoid,
  sum,
  type Tensor,
  tidy,
} from "@dl/tensor";

// 1. Define the Dataset
/** Synthetic binary data: y = 1 where sigmoid(X w + b) > 0.5 for a hidden random w and b. */
export class CustomDataset extends Dataset<[Tensor, Tensor]> {
  readonly X: Tensor;
  readonly y: Tensor;
  readonly trueWeights: Tensor;
  readonly trueBias: Tensor;

  constructor(numSamples = 1000, numFeatures = 5) {
    super();
    this.X = randn(numSamples, numFeatures);
    // Create a simple linear relationship for labels
    this.trueWeights = randn(numFeatures);
    this.trueBias = randn(1);
    const logits = add(matmul(this.X, this.trueWeights), this.trueBias);
    const probabilities = sigmoid(logits);
    this.y = gt(probabilities, 0.5).float(); // Binary labels (0 or 1)
  }

  get length(): number {
    return this.y.shape[0] as number;
  }

  getItem(idx: number): [Tensor, Tensor] {
    return [this.X.select(0, idx), this.y.select(0, idx)];
  }
}

// 2. Define the Model
export class SimpleMLP extends Module {
  fc1: Linear;
  relu: ReLU;
  fc2: Linear;

  constructor(inputSize: number, hiddenSize: number, outputSize: number) {
    super();
    this.fc1 = new Linear(inputSize, hiddenSize);
    this.relu = new ReLU();
    this.fc2 = new Linear(hiddenSize, outputSize);
  }

  forward(x: Tensor): Tensor {
    x = this.fc1.call(x);
    x = this.relu.call(x);
    x = this.fc2.call(x);
    return x;
  }
}

export interface Options {
  /** A short run (10 epochs) for tests and CI. */
  smoke?: boolean;
  /** Overrides the number of epochs. */
  epochs?: number;
  seed?: number;
  /** "cpu" (default) or "gpu" (registers @dl/backend-gpu's gpu.js backend on first use). */
  device?: string;
  print?: (line: string) => void;
}

export interface EpochResult {
  epoch: number;
  /** Loss of the last batch of the epoch (what the tutorial prints). */
  loss: number;
  /** Mean loss over the epoch's batches. */
  meanLoss: number;
  /** Loss of every batch, in order. */
  stepLosses: number[];
  /** Accuracy over the training set after the epoch. */
  accuracy: number;
}

export interface Result {
  /** Accuracy over the training set before training (about the share of the majority class). */
  initialAccuracy: number;
  epochs: EpochResult[];
  model: SimpleMLP;
  dataset: CustomDataset;
  prediction: { input: number[]; logit: number; probability: number; label: number };
}

const f4 = (v: number) => v.toFixed(4);

/** Accuracy of the model over a loader, in evaluation mode and without gradient tracking. */
export function evaluate(model: Module, loader: Iterable<Tensor[]>): number {
  model.eval(); // Set the model to evaluation mode
  let totalCorrect = 0;
  let totalSamples = 0;
  noGrad(() =>
    tidy(() => {
      for (const [inputs, targets] of loader) {
        tidy(() => {
          const t = (targets as Tensor).unsqueeze(1);
          const outputs = (model as SimpleMLP).call(inputs as Tensor);
          const predictedProbabilities = sigmoid(outputs);
          const predictedLabels = gt(predictedProbabilities, 0.5).float();
          totalSamples += t.size(0);
          totalCorrect += sum(eq(predictedLabels, t)).item() as number;
        });
      }
    }),
  );
  return totalCorrect / totalSamples;
}

/** Makes `device` the default device, registering the gpu backend the first time it is asked for. */
export function useDevice(device: string): void {
  if (device === "gpu" && !hasBackend("gpu")) registerBackend(createGpuBackend());
  setDefaultDevice(device);
}

export function main(options: Options = {}): Result {
  const previousDevice = getDefaultDevice();
  try {
    return run(options);
  } finally {
    setDefaultDevice(previousDevice); // leave the caller's default device as it was
  }
}

function run(options: Options): Result {
  const print = options.print ?? console.log;
  manualSeed(options.seed ?? 42);

  // --- Hyperparameters ---
  const inputDim = 5;
  const hiddenDim = 10;
  const outputDim = 1; // For binary classification, output a single logit
  const learningRate = 0.01;
  const batchSize = 32;
  const numEpochs = options.epochs ?? (options.smoke ? 10 : 100);

  // --- Device Configuration --- (dl registers the CPU backend; `--device gpu` plugs in gpu.js)
  const device = options.device ?? "cpu";
  useDevice(device); // every tensor made from here on (data, weights, optimizer state) lives on it
  print(`Using device: ${device}`);

  // --- Instantiate Dataset and DataLoader ---
  const trainDataset = new CustomDataset(1000, inputDim);
  const trainLoader = new DataLoader(trainDataset, { batchSize, shuffle: true });

  // --- Instantiate Model, Loss Function, and Optimizer ---
  const model = new SimpleMLP(inputDim, hiddenDim, outputDim).to(device);
  const criterion = new BCEWithLogitsLoss(); // Binary Cross-Entropy with Logits Loss
  const optimizer = new Adam(model.parameters(), { lr: learningRate });

  const initialAccuracy = evaluate(model, trainLoader);

  // --- Training Loop ---
  print("\nStarting Training...");
  print(`Before training, Accuracy: ${f4(initialAccuracy)}`);
  const history: EpochResult[] = [];
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    model.train(); // training mode (matters for layers like Dropout, BatchNorm)
    let loss = Number.NaN;
    let lossSum = 0;
    let batches = 0;
    const stepLosses: number[] = [];
    // tidy() frees every tensor made inside it but the ones returned (JS has no deterministic
    // destructors): the outer one the batches the DataLoader stacks, the inner one each step's.
    tidy(() => {
      for (const [inputs, targets] of trainLoader) {
        loss = tidy(() => {
          const x = (inputs as Tensor).to(device);
          const t = (targets as Tensor).to(device).unsqueeze(1); // [B] -> [B, 1], like the outputs
          // 1. Forward pass
          const outputs = model.call(x);
          // 2. Calculate Loss
          const l = criterion.call(outputs, t);
          // 3. Backward pass
          optimizer.zeroGrad(); // Zero gradients
          l.backward();
          // 4. Optimizer step
          optimizer.step();
          return l.item() as number;
        });
        lossSum += loss;
        batches++;
        stepLosses.push(loss);
      }
    });

    // --- Evaluation (usually on a separate validation set; here on the training data, as the tutorial) ---
    const accuracy = evaluate(model, trainLoader);
    history.push({ epoch: epoch + 1, loss, meanLoss: lossSum / batches, stepLosses, accuracy });
    print(`Epoch [${epoch + 1}/${numEpochs}], Loss: ${f4(loss)}, Accuracy: ${f4(accuracy)}`);
  }

  print("\nTraining Complete!");

  // --- Final Test/Inference Example ---
  model.eval(); // Ensure model is in evaluation mode
  const prediction = noGrad(() => {
    const testInput = randn(1, inputDim).to(device);
    const rawOutput = model.call(testInput);
    const finalPredictionProb = sigmoid(rawOutput);
    const finalPredictionLabel = gt(finalPredictionProb, 0.5).float();
    const input = Array.from(testInput.dataSync(), Number);
    // numpy prints the array as [[ 0.1234 -1.2345 ...]]
    print(`\nTest input: [[${input.map((v) => (v < 0 ? "" : " ") + v.toFixed(4)).join(" ")}]]`);
    const logit = rawOutput.item() as number;
    const probability = finalPredictionProb.item() as number;
    const label = finalPredictionLabel.item() as number;
    print(`Raw model output (logit): ${f4(logit)}`);
    print(`Predicted probability: ${f4(probability)}`);
    print(`Predicted label: ${label.toFixed(1)}`);
    return { input, logit, probability, label };
  });
  return { initialAccuracy, epochs: history, model, dataset: trainDataset, prediction };
}

// Run when executed (node dist/main.mjs [--smoke] [--device gpu]), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--device");
  main({ smoke: process.argv.includes("--smoke"), device: i < 0 ? undefined : process.argv[i + 1] });
}
