// Size-budget entry: what a browser user bundles to train a 2-layer MLP with Adam on the CPU.
import "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { Linear, Module, MSELoss, ReLU } from "@dl/nn";
import { Adam } from "@dl/optim";
import { randn, registerBackend, tidy } from "@dl/tensor";

registerBackend(cpuBackend);

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
