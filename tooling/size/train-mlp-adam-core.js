// Size-budget entry: train-mlp-adam.js on the CPU backend with only the kernel groups that an MLP
// trained with Adam uses (no sort, gather, convolution, pooling, attention, softmax or norm kernels,
// and unary ops without the WebAssembly SIMD transcendentals: ReLU needs none).
import "@dl/autograd";
import {
  attachKernels,
  binaryKernels,
  copyKernels,
  matmulKernels,
  optimizerKernels,
  plainUnaryKernels,
  reduceKernels,
  whereKernels,
} from "@dl/backend-cpu/core";
import { Linear, Module, MSELoss, ReLU } from "@dl/nn";
import { Adam } from "@dl/optim";
import { randn, registerBackend, tidy } from "@dl/tensor";

registerBackend(attachKernels(copyKernels, binaryKernels, plainUnaryKernels, whereKernels, reduceKernels, matmulKernels, optimizerKernels));

class MLP extends Module {
  fc1 = new Linear(4, 16);
  act = new ReLU();
  fc2 = new Linear(16, 1);
  forward(x) {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

const model = new MLP();
const opt = new Adam(model.parameters(), { lr: 1e-2 });
const lossFn = new MSELoss();
const x = randn(32, 4);
const y = randn(32, 1);
for (let i = 0; i < 10; i++) {
  tidy(() => {
    opt.zeroGrad();
    const loss = lossFn.call(model.call(x), y);
    loss.backward();
    opt.step();
    console.log(loss.item());
  });
}
