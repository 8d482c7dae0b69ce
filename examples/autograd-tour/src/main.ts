/**
 * Automatic differentiation with dl, following "Automatic Differentiation with torch.autograd"
 * (the tutorial's section 3) step by step. Every line prints what the tutorial's Python prints,
 * so the output can be read side by side with PyTorch's.
 *
 * Run: pnpm --filter @dl/example-autograd-tour start
 */
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { add, mean, mul, sum, type Tensor, tensor } from "@dl/tensor";

/**
 * Python's f"{t}" of a 0-dim tensor formats its value (PyTorch's Tensor.__format__), e.g. 12.0;
 * other tensors print their repr.
 */
const fmt = (t: Tensor): string => {
  if (t.ndim > 0) return String(t);
  const v = t.item() as number;
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
};

/** Python's True / False. */
const py = (b: boolean): string => (b ? "True" : "False");

/** A gradFn as Python prints it (without the object's address), or None for a leaf. */
const fnName = (t: Tensor): string => (t.gradFn === null ? "None" : String(t.gradFn));

export function main(print: (line: string) => void = console.log): void {
  // ---- requires_grad: tracking operations ----
  {
    const x = tensor([2.0, 3.0], { requiresGrad: true });
    print(`x: ${fmt(x)}, requires_grad: ${py(x.requiresGrad)}`);
    const y = tensor([4.0, 5.0]);
    print(`y: ${fmt(y)}, requires_grad: ${py(y.requiresGrad)}`);
    // Operations on x are tracked.
    const z = add(x, 2);
    print(`z: ${fmt(z)}, requires_grad: ${py(z.requiresGrad)}`);
    // Operations on y alone are not.
    const w = add(y, 2);
    print(`w: ${fmt(w)}, requires_grad: ${py(w.requiresGrad)}`);
    // A tracked operand makes the result tracked.
    const combined = mul(x, y);
    print(`combined: ${fmt(combined)}, requires_grad: ${py(combined.requiresGrad)}`);
  }

  // ---- computing gradients with backward() ----
  {
    const x = tensor([2.0], { requiresGrad: true });
    const y = mul(mul(x, x), 3);
    const z = sum(y); // a scalar, so backward() needs no gradient argument
    print(`x: ${fmt(x)}`);
    print(`y: ${fmt(y)}`);
    print(`z: ${fmt(z)}`);
    z.backward();
    // z = 3x^2, so dz/dx = 6x = 12 at x = 2.
    print(`Gradient of z with respect to x: ${fmt(x.grad as Tensor)}`);
  }

  // ---- non-scalar outputs: a vector-Jacobian product ----
  {
    const x = tensor([2.0, 3.0], { requiresGrad: true });
    const y = mul(x, x);
    const gradientTensor = tensor([1.0, 1.0]);
    y.backward(gradientTensor);
    // With ones as the upstream gradient this is d(sum y)/dx = 2x = [4, 6].
    print(`Gradient of y.sum() with respect to x: ${fmt(x.grad as Tensor)}`);
  }

  // ---- gradients accumulate ----
  {
    const x = tensor([2.0], { requiresGrad: true });
    let y = mul(x, 2);
    y.backward();
    print(`First pass gradient: ${fmt(x.grad as Tensor)}`);
    y = mul(x, 3);
    y.backward();
    print(`Second pass gradient (accumulated): ${fmt(x.grad as Tensor)}`);
    x.grad?.zero_();
    print(`Gradient after zeroing: ${fmt(x.grad as Tensor)}`);
  }

  // ---- disabling tracking: noGrad (torch.no_grad) and detach ----
  {
    const x = tensor([2.0], { requiresGrad: true });
    noGrad(() => {
      const y = mul(x, 2);
      print(`y: ${fmt(y)}, requires_grad: ${py(y.requiresGrad)}`);
    });
  }
  {
    const x = tensor([2.0], { requiresGrad: true });
    const y = mul(x, 2);
    const z = y.detach(); // shares y's data, cut from the graph
    print(`z: ${fmt(z)}, requires_grad: ${py(z.requiresGrad)}`);
  }

  // ---- the computation graph ----
  {
    const x = tensor([2.0], { requiresGrad: true });
    const y = add(x, 1);
    const z = mul(mul(y, y), 2);
    const finalOutput = mean(z);
    print(`x.grad_fn: ${fnName(x)}`);
    print(`y.grad_fn: ${fnName(y)}`);
    print(`z.grad_fn: ${fnName(z)}`);
    print(`final_output.grad_fn: ${fnName(finalOutput)}`);
    finalOutput.backward();
    // final_output = 2 (x + 1)^2, so the gradient is 4 (x + 1) = 12 at x = 2.
    print(`Gradient for x: ${fmt(x.grad as Tensor)}`);
  }
}

// Run when executed (node dist/main.mjs), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
