import { add, tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

describeEachBackend("add (smoke)", () => {
  it("broadcasts a row over a matrix", () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: "int64" });
    expect(add(a, tensor([10, 20], { dtype: "int64" })).tolist()).toEqual([[11, 22], [13, 24]]);
  });
});
