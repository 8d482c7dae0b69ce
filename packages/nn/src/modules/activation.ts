import { ArgumentError, type DType, type Tensor, full } from "@dl/tensor";
import * as F from "../functional/activation.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { pyFloat, pyNum } from "./format.js";

/**
 * Activation modules (torch.nn). Each wraps the function of the same name in F. `inplace` is
 * accepted (and printed, as PyTorch prints it) but ignored: forward always returns a new tensor.
 */
export interface InplaceOptions {
  /** Accepted for PyTorch compatibility and ignored: forward always returns a new tensor. */
  inplace?: boolean;
}

abstract class InplaceModule extends Module {
  readonly inplace: boolean;
  constructor(options: InplaceOptions = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }
  /** ", inplace=True" when inplace, else "". */
  protected get inplaceSuffix(): string {
    return this.inplace ? ", inplace=True" : "";
  }
  override extraRepr(): string {
    return this.inplace ? "inplace=True" : "";
  }
}

/** max(x, 0) (torch.nn.ReLU). */
export class ReLU extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.relu(input);
  }
}

/** Clamps to [minVal, maxVal] (torch.nn.Hardtanh). */
export class Hardtanh extends InplaceModule {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
    options: InplaceOptions = {},
  ) {
    super(options);
    if (maxVal <= minVal)
      throw new ArgumentError("Hardtanh", `max_val must be greater than min_val (got min_val=${minVal}, max_val=${maxVal})`);
  }
  forward(input: Tensor): Tensor {
    return F.hardtanh(input, this.minVal, this.maxVal);
  }
  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}${this.inplaceSuffix}`;
  }
}

/** min(max(x, 0), 6) (torch.nn.ReLU6). */
export class ReLU6 extends Hardtanh {
  constructor(options: InplaceOptions = {}) {
    super(0, 6, options);
  }
  override extraRepr(): string {
    return this.inplace ? "inplace=True" : "";
  }
}

/** x for x > 0, negativeSlope * x otherwise (torch.nn.LeakyReLU). */
export class LeakyReLU extends InplaceModule {
  constructor(
    readonly negativeSlope = 0.01,
    options: InplaceOptions = {},
  ) {
    super(options);
  }
  forward(input: Tensor): Tensor {
    return F.leakyRelu(input, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplaceSuffix}`;
  }
}

export interface PReLUOptions {
  dtype?: DType;
  device?: string;
}

/**
 * Leaky ReLU with learned slopes (torch.nn.PReLU): parameter "weight" of numParameters elements
 * (1, or one per input channel) initialized to `init`.
 */
export class PReLU extends Module {
  weight: Parameter;
  constructor(
    /** PyTorch's num_parameters (numParameters() is Module's parameter count). */
    readonly numParams = 1,
    init = 0.25,
    options: PReLUOptions = {},
  ) {
    super();
    this.weight = new Parameter(full([numParams], init, { dtype: options.dtype, device: options.device }));
  }
  forward(input: Tensor): Tensor {
    return F.prelu(input, this.weight);
  }
  override extraRepr(): string {
    return `num_parameters=${this.numParams}`;
  }
}

/** x for x > 0, alpha (exp(x) - 1) otherwise (torch.nn.ELU). */
export class ELU extends InplaceModule {
  constructor(
    readonly alpha = 1,
    options: InplaceOptions = {},
  ) {
    super(options);
  }
  forward(input: Tensor): Tensor {
    return F.elu(input, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}${this.inplaceSuffix}`;
  }
}

/** max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (torch.nn.CELU). */
export class CELU extends ELU {
  override forward(input: Tensor): Tensor {
    return F.celu(input, this.alpha);
  }
}

/** Scaled ELU with the self-normalizing constants (torch.nn.SELU). */
export class SELU extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.selu(input);
  }
}

/** x * Phi(x), exact (erf) or with the tanh approximation (torch.nn.GELU). */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(options: F.GeluOptions = {}) {
    super();
    this.approximate = options.approximate ?? "none";
    if (this.approximate !== "none" && this.approximate !== "tanh") {
      throw new ArgumentError("GELU", `approximate argument must be either none or tanh, got '${this.approximate as string}'`);
    }
  }
  forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x * sigmoid(x) (torch.nn.SiLU). */
export class SiLU extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.silu(input);
  }
}

/** x * tanh(softplus(x)) (torch.nn.Mish). */
export class Mish extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.mish(input);
  }
}

/** x * relu6(x + 3) / 6 (torch.nn.Hardswish). */
export class Hardswish extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.hardswish(input);
  }
}

/** relu6(x + 3) / 6 (torch.nn.Hardsigmoid). */
export class Hardsigmoid extends InplaceModule {
  forward(input: Tensor): Tensor {
    return F.hardsigmoid(input);
  }
}

/** torch.nn.Sigmoid. */
export class Sigmoid extends Module {
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

/** torch.nn.Tanh. */
export class Tanh extends Module {
  forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

/** log(1 + exp(beta x)) / beta, linear above threshold (torch.nn.Softplus). */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.softplus(input, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${pyNum(this.beta)}, threshold=${pyNum(this.threshold)}`;
  }
}

/** x / (1 + |x|) (torch.nn.Softsign). */
export class Softsign extends Module {
  forward(input: Tensor): Tensor {
    return F.softsign(input);
  }
}

/** log(sigmoid(x)) (torch.nn.LogSigmoid). */
export class LogSigmoid extends Module {
  forward(input: Tensor): Tensor {
    return F.logsigmoid(input);
  }
}

/** x - tanh(x) (torch.nn.Tanhshrink). */
export class Tanhshrink extends Module {
  forward(input: Tensor): Tensor {
    return F.tanhshrink(input);
  }
}

/** Soft shrinkage by lambd (torch.nn.Softshrink). */
export class Softshrink extends Module {
  constructor(readonly lambd = 0.5) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.softshrink(input, this.lambd);
  }
  override extraRepr(): string {
    return pyFloat(this.lambd);
  }
}

/** Hard shrinkage by lambd (torch.nn.Hardshrink). */
export class Hardshrink extends Module {
  constructor(readonly lambd = 0.5) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.hardshrink(input, this.lambd);
  }
  override extraRepr(): string {
    return pyFloat(this.lambd);
  }
}

/** x where x > threshold, else value (torch.nn.Threshold). */
export class Threshold extends InplaceModule {
  constructor(
    readonly threshold: number,
    readonly value: number,
    options: InplaceOptions = {},
  ) {
    super(options);
  }
  forward(input: Tensor): Tensor {
    return F.threshold(input, this.threshold, this.value);
  }
  override extraRepr(): string {
    return `threshold=${pyNum(this.threshold)}, value=${pyNum(this.value)}${this.inplaceSuffix}`;
  }
}

/** a * sigmoid(b) for the halves of the input along dim (torch.nn.GLU). */
export class GLU extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.glu(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Randomized leaky ReLU: random slopes in training, their mean in eval (torch.nn.RReLU). */
export class RReLU extends InplaceModule {
  constructor(
    readonly lower = 1 / 8,
    readonly upper = 1 / 3,
    options: InplaceOptions = {},
  ) {
    super(options);
  }
  forward(input: Tensor): Tensor {
    return F.rrelu(input, { lower: this.lower, upper: this.upper, training: this.training });
  }
  override extraRepr(): string {
    return `lower=${pyFloat(this.lower)}, upper=${pyFloat(this.upper)}${this.inplaceSuffix}`;
  }
}

const dimRepr = (dim: number | null) => `dim=${dim === null ? "None" : dim}`;

/** Softmax along dim (torch.nn.Softmax); null dim uses PyTorch's legacy implicit choice. */
export class Softmax extends Module {
  constructor(readonly dim: number | null = null) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim);
  }
  override extraRepr(): string {
    return dimRepr(this.dim);
  }
}

/** Log of softmax along dim (torch.nn.LogSoftmax). */
export class LogSoftmax extends Module {
  constructor(readonly dim: number | null = null) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim);
  }
  override extraRepr(): string {
    return dimRepr(this.dim);
  }
}

/** Softmax of -x along dim (torch.nn.Softmin). */
export class Softmin extends Module {
  constructor(readonly dim: number | null = null) {
    super();
  }
  forward(input: Tensor): Tensor {
    return F.softmin(input, this.dim);
  }
  override extraRepr(): string {
    return dimRepr(this.dim);
  }
}

/** Softmax over the channel dim (-3) of (C, H, W) or (N, C, H, W) inputs (torch.nn.Softmax2d). */
export class Softmax2d extends Module {
  forward(input: Tensor): Tensor {
    if (input.ndim !== 3 && input.ndim !== 4) {
      throw new ArgumentError("Softmax2d", `expected 3D or 4D input (got ${input.ndim}D input of shape [${input.shape.join(",")}])`);
    }
    return F.softmax(input, -3);
  }
}
