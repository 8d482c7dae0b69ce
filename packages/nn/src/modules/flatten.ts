import { ShapeError, type Tensor, assertTensor } from "@dl/tensor";
import { Module } from "../module.js";
import { pyTuple } from "./format.js";

/** Flattens dims startDim..endDim into one (torch.nn.Flatten; startDim 1 keeps the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(input: Tensor): Tensor {
    assertTensor("Flatten", input, "input");
    return input.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Expands dim into the given sizes (torch.nn.Unflatten); one size may be -1. */
export class Unflatten extends Module {
  readonly unflattenedSize: readonly number[];
  constructor(
    readonly dim: number,
    unflattenedSize: readonly number[],
  ) {
    super();
    if (!Array.isArray(unflattenedSize) || unflattenedSize.some((s) => !Number.isInteger(s))) {
      throw new ShapeError("Unflatten", `unflattened_size must be a list of ints, got ${String(unflattenedSize)}`);
    }
    this.unflattenedSize = [...unflattenedSize];
  }
  forward(input: Tensor): Tensor {
    assertTensor("Unflatten", input, "input");
    return input.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`;
  }
}
