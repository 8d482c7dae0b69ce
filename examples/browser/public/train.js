// @ts-check
/**
 * The training program both pages run: an MLP on MNIST digits (the tutorial's §4–§5 loop) on the
 * CPU backend, written as plain JavaScript modules so that a page can load it without a build step.
 * The bundled page (src/app.ts) imports this same file through esbuild.
 */
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { CrossEntropyLoss, Linear, ReLU, Sequential } from "@dl/nn";
import { Adam } from "@dl/optim";
import { argmax, fromArray, manualSeed } from "@dl/tensor";

/**
 * @typedef {{ pixels: Uint8Array, labels: number[] }} Digits  pixels: 784 bytes (0-255) per image
 * @typedef {{ step: number, loss: number }} Progress
 */

/**
 * Normalized images [n, 784] float32, as torchvision's ToTensor + Normalize((0.1307,), (0.3081,)).
 * @param {Digits} d
 */
function imagesOf(d) {
  const x = new Float32Array(d.pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = (d.pixels[i] / 255 - 0.1307) / 0.3081;
  return fromArray(x, [d.labels.length, 784]);
}

/**
 * Trains 784-128-10 with Adam for `epochs` over `train`, then measures accuracy on `test`.
 * @param {{ train: Digits, test: Digits, epochs?: number, batchSize?: number, seed?: number, onStep?: (p: Progress) => void }} options
 * @returns {Promise<{ losses: number[], accuracy: number, milliseconds: number }>}
 */
export async function trainMnist({ train, test, epochs = 1, batchSize = 64, seed = 0, onStep }) {
  const start = performance.now();
  manualSeed(seed);
  const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
  const lossFn = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const images = imagesOf(train);
  const labels = fromArray(train.labels, [train.labels.length], { dtype: "int64" });
  const n = train.labels.length;
  /** @type {number[]} */
  const losses = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let at = 0; at < n; at += batchSize) {
      const len = Math.min(batchSize, n - at);
      const loss = lossFn(model(images.narrow(0, at, len)), labels.narrow(0, at, len));
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(Number(loss.item()));
      onStep?.({ step: losses.length, loss: losses[losses.length - 1] });
      // Let the page repaint between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  model.eval();
  const predicted = noGrad(() => argmax(model(imagesOf(test)), 1));
  const guesses = await predicted.data();
  let correct = 0;
  test.labels.forEach((label, i) => {
    if (Number(guesses[i]) === label) correct++;
  });
  return { losses, accuracy: correct / test.labels.length, milliseconds: performance.now() - start };
}

/**
 * The digits the example's server prepares (server.mjs): labels as JSON, pixels as raw bytes.
 * @param {string} base  the URL the server's files are under
 * @returns {Promise<{ train: Digits, test: Digits }>}
 */
export async function fetchDigits(base = "/") {
  const meta = await (await fetch(new URL("digits.json", new URL(base, location.href)))).json();
  const bytes = new Uint8Array(await (await fetch(new URL("digits.bin", new URL(base, location.href)))).arrayBuffer());
  const split = meta.train.length * 784;
  return {
    train: { pixels: bytes.subarray(0, split), labels: meta.train },
    test: { pixels: bytes.subarray(split), labels: meta.test },
  };
}
