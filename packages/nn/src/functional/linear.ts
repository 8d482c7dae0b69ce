import { type Tensor, add, matmul, assertTensor } from "@dl/tensor";

/** y = x W^T + b (F.linear); weight is [out, in] as in PyTorch. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor("linear", input, "input");
  assertTensor("linear", weight, "weight");
  const y = matmul(input, weight.t());
  return bias ? add(y, bias) : y;
}
