import { init, Module, Parameter } from "@dl/nn";
import { add, empty, fmtShape, matmul, ShapeError, type Tensor } from "@dl/tensor";

export interface Conv1DOptions {
  dtype?: "float32" | "float64";
  device?: string;
}

/**
 * Hugging Face's GPT-2 `Conv1D` (transformers.pytorch_utils.Conv1D): a linear layer whose weight is
 * stored [in, out] (nx, nf), the transpose of nn.Linear, computing y = x·W + b over the last dim.
 * The layout is kept so GPT-2 checkpoints (`attn.c_attn.weight` [d, 3d]) load unchanged.
 */
export class Conv1D extends Module {
  weight: Parameter;
  bias: Parameter;

  /** nf: output features, nx: input features (Hugging Face's argument order). */
  constructor(
    readonly nf: number,
    readonly nx: number,
    options: Conv1DOptions = {},
  ) {
    super();
    const o = { dtype: options.dtype, device: options.device };
    this.weight = new Parameter(empty([nx, nf], o));
    this.bias = new Parameter(empty([nf], o));
    this.resetParameters();
  }

  /** Hugging Face's init: weight N(0, 0.02), bias zeros. */
  resetParameters(): void {
    init.normal_(this.weight, 0, 0.02);
    init.zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    const last = x.shape[x.shape.length - 1];
    if (last !== this.nx) {
      throw new ShapeError(
        "Conv1D",
        `input ${fmtShape(x.shape)} has ${last} features in its last dim, the weight ${fmtShape(this.weight.shape)} expects nx=${this.nx}`,
      );
    }
    return add(matmul(x, this.weight), this.bias);
  }

  override extraRepr(): string {
    return `nf=${this.nf}, nx=${this.nx}`;
  }
}
