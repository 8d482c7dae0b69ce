import { createGpuBackend } from "@dl/backend-gpu";
import { registerBackend } from "@dl/tensor";
import { trainMnist } from "../../examples/mnist-cnn/src/train.js";

/**
 * Runs in Chromium (bundled by browser-mnist.test.ts): the MNIST example's own training function
 * (examples/mnist-cnn/src/train.ts) on real digits handed over by the test, once on "gpu" (gpu.js
 * on WebGL2) and once on "cpu", in the same page, from the same seed. Returns a plain report.
 */
export interface MnistRunOptions {
  /** Raw pixels in [0, 1], 784 per image. */
  pixels: number[];
  labels: number[];
  steps: number;
  batchSize: number;
}

export async function runMnist({ pixels, labels, steps, batchSize }: MnistRunOptions): Promise<Record<string, unknown>> {
  // Registered here (not by the example's useDevice) to keep the handle for inspection.
  const gpu = createGpuBackend();
  registerBackend(gpu);
  const images = Float32Array.from(pixels);
  const common = { images, labels, steps, batchSize, seed: 0 };
  let t = performance.now();
  const onGpu = trainMnist({ ...common, device: "gpu" });
  const gpuSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const onCpu = trainMnist({ ...common, device: "cpu" });
  const cpuSeconds = (performance.now() - t) / 1000;
  return {
    mode: gpu.mode,
    kernelClass: gpu.kernelClass,
    kernelClasses: [...new Set(gpu.kernels().values())],
    compiledKernels: gpu.kernels().size,
    weightDevice: onGpu.model.conv1.weight.device,
    gpu: { losses: onGpu.losses, accuracies: onGpu.accuracies, memory: onGpu.memory, seconds: gpuSeconds },
    cpu: { losses: onCpu.losses, accuracies: onCpu.accuracies, memory: onCpu.memory, seconds: cpuSeconds },
  };
}

(globalThis as { __dlMnist?: typeof runMnist }).__dlMnist = runMnist;
