import "@dl/backend-cpu/register";
import { tensor, add, mul, div, arange, zeros, rand, manualSeed, linspace } from "@dl/tensor";
import { it, expect } from "vitest";
it("smoke", () => {
  const a = tensor([[1, 2], [3, 4]], { dtype: "int64" });
  const b = tensor([10, 20], { dtype: "int64" });
  console.log(String(add(a, b)));
  console.log(String(div(a, b)));
  const x = arange(9);
  console.log(String(x.view(3, 3)), String(x.view(3, 3).t().contiguous()));
  console.log(String(x.view(3,3).index(":", -1)), String(x.view(3,3).index("0:2", "1:3")));
  console.log(String(zeros(1, 2, 1, 3, 1).squeeze().shape));
  manualSeed(0); console.log(String(rand(2, 3)));
  console.log(String(linspace(0, 1, 5)), String(tensor([1e-5, 1, 1000])));
  console.log(String(tensor([[[1.5, 2],[3,4]],[[5,6],[7,8]]])));
  expect(add(a, b).tolist()).toEqual([[11, 22], [13, 24]]);
});
