import { DTypeError, Tensor, isFloating, keep } from "@dl/tensor";

/**
 * A tensor that is a module's learnable state (torch.nn.Parameter): a leaf that requires grad by
 * default, found by Module.parameters(). It shares storage with the tensor it wraps.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    data._assertLive("Parameter");
    super(data._storage.retain(), data.shape, data.strides, data.offset, data.device);
    // Model state outlives any tidy() scope it happens to be created in.
    keep(this);
    if (requiresGrad) {
      if (!isFloating(data.dtype)) throw new DTypeError("Parameter", `only floating point tensors can require gradients, got ${data.dtype}`);
      this.requiresGrad_(true);
    }
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}
