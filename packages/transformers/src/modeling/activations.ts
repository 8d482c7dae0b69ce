import { F } from "@dl/nn";
import { ArgumentError, mul, sigmoid, type Tensor, tanh } from "@dl/tensor";

export type Activation = (x: Tensor) => Tensor;

/**
 * Hugging Face's ACT2FN by config name. "gelu" is the exact erf form (BERT); "gelu_new" and
 * "gelu_pytorch_tanh" are the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GPT-2).
 */
export const ACT2FN: Record<string, Activation> = {
  gelu: (x) => F.gelu(x),
  gelu_new: (x) => F.gelu(x, { approximate: "tanh" }),
  gelu_pytorch_tanh: (x) => F.gelu(x, { approximate: "tanh" }),
  gelu_fast: (x) => F.gelu(x, { approximate: "tanh" }),
  quick_gelu: (x) => mul(x, sigmoid(mul(x, 1.702))),
  relu: (x) => F.relu(x),
  silu: (x) => F.silu(x),
  swish: (x) => F.silu(x),
  tanh: (x) => tanh(x),
  sigmoid: (x) => sigmoid(x),
  linear: (x) => x,
};

export function getActivation(name: string): Activation {
  const fn = ACT2FN[name];
  if (!fn) throw new ArgumentError("getActivation", `unknown activation function "${name}"; known: ${Object.keys(ACT2FN).join(", ")}`);
  return fn;
}
