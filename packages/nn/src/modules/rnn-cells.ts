import { ArgumentError, ShapeError, type Tensor, empty, fmtShape, zeros } from "@dl/tensor";
import { linear } from "../functional/linear.js";
import { uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { pyBool } from "./format.js";
import { type Activation, gruStep, lstmStep, rnnStep } from "./rnn-ops.js";

export interface RNNCellOptions {
  /** Whether the cell has bias_ih and bias_hh (default true). */
  bias?: boolean;
  dtype?: "float32" | "float64";
  device?: string;
}

/**
 * Shared state of RNNCell, LSTMCell and GRUCell (torch.nn.RNNCellBase): weight_ih
 * [chunks*hidden, input], weight_hh [chunks*hidden, hidden], bias_ih and bias_hh [chunks*hidden],
 * all initialized U(-1/sqrt(hidden), 1/sqrt(hidden)).
 */
export abstract class RNNCellBase extends Module {
  // Declared in PyTorch's registration order: reflection registers them in this order.
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;

  constructor(inputSize: number, hiddenSize: number, bias: boolean, numChunks: number, options: RNNCellOptions) {
    super();
    const name = new.target.name;
    for (const [k, v] of [
      ["inputSize", inputSize],
      ["hiddenSize", hiddenSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(name, `${k} must be a non-negative integer, got ${v}`);
    }
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.bias = bias;
    const o = { dtype: options.dtype, device: options.device };
    this.weight_ih = new Parameter(empty([numChunks * hiddenSize, inputSize], o));
    this.weight_hh = new Parameter(empty([numChunks * hiddenSize, hiddenSize], o));
    this.bias_ih = bias ? new Parameter(empty([numChunks * hiddenSize], o)) : null;
    this.bias_hh = bias ? new Parameter(empty([numChunks * hiddenSize], o)) : null;
    this.resetParameters();
  }

  /** Every parameter U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)), as PyTorch. */
  resetParameters(): void {
    const stdv = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -stdv, stdv);
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    return s;
  }

  /** Validates input and hidden state, adds the batch dim to unbatched ones; returns [input, batched]. */
  protected prepare(input: Tensor, hx: readonly (Tensor | null | undefined)[], hxNames: readonly string[]): [Tensor, Tensor[], boolean] {
    const name = this.constructor.name;
    if (input.ndim !== 1 && input.ndim !== 2) {
      throw new ShapeError(name, `Expected input to be 1-D or 2-D but received ${input.ndim}-D tensor (shape ${fmtShape(input.shape)})`);
    }
    const batched = input.ndim === 2;
    const x = batched ? input : input.unsqueeze(0);
    if (x.shape[1] !== this.inputSize) {
      throw new ShapeError(
        name,
        `input has inconsistent input_size: got ${x.shape[1]} expected ${this.inputSize} (input shape ${fmtShape(input.shape)})`,
      );
    }
    const B = x.shape[0] as number;
    const hs = hx.map((h, i) => {
      if (h === null || h === undefined) return zeros([B, this.hiddenSize], { dtype: x.dtype, device: x.device });
      if (h.ndim !== input.ndim) {
        throw new ShapeError(
          name,
          `${batched ? "batched 2-D" : "unbatched 1-D"} input expects a ${input.ndim}-D ${hxNames[i]}, got shape ${fmtShape(h.shape)}`,
        );
      }
      const hb = batched ? h : h.unsqueeze(0);
      if (hb.shape[0] !== B) throw new ShapeError(name, `Input batch size ${B} doesn't match ${hxNames[i]} batch size ${hb.shape[0]}`);
      if (hb.shape[1] !== this.hiddenSize) {
        throw new ShapeError(name, `${hxNames[i]} has inconsistent hidden_size: got ${hb.shape[1]}, expected ${this.hiddenSize}`);
      }
      return hb;
    });
    return [x, hs, batched];
  }

  /** x W_ih^T + b_ih for a batch. */
  protected inputGates(x: Tensor): Tensor {
    return linear(x, this.weight_ih, this.bias_ih);
  }
}

export interface RNNCellFullOptions extends RNNCellOptions {
  /** "tanh" (default) or "relu". */
  nonlinearity?: Activation;
}

/** An Elman RNN cell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) (torch.nn.RNNCell). */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: Activation;

  constructor(inputSize: number, hiddenSize: number, options: RNNCellFullOptions = {}) {
    super(inputSize, hiddenSize, options.bias ?? true, 1, options);
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") throw new ArgumentError("RNNCell", `Unknown nonlinearity: ${nl} (expected "tanh" or "relu")`);
    this.nonlinearity = nl;
  }

  /** input [B, in] or [in]; hx [B, hidden] or [hidden] (zeros when omitted). Returns h'. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    const [x, [h], batched] = this.prepare(input, [hx], ["hidden"]);
    const out = rnnStep(this.inputGates(x), h as Tensor, this.weight_hh.t(), this.bias_hh, this.nonlinearity);
    return batched ? out : out.squeeze(0);
  }

  override extraRepr(): string {
    let s = super.extraRepr();
    if (this.nonlinearity !== "tanh") s += `, nonlinearity=${this.nonlinearity}`;
    return s;
  }
}

/** A long short-term memory cell, gates i, f, g, o (torch.nn.LSTMCell). */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super(inputSize, hiddenSize, options.bias ?? true, 4, options);
  }

  /** input [B, in] or [in]; hx = [h, c], each [B, hidden] or [hidden] (zeros when omitted). Returns [h', c']. */
  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [x, [h, c], batched] = this.prepare(input, hx ? [hx[0], hx[1]] : [null, null], ["hx", "cx"]);
    const [h2, c2] = lstmStep(this.inputGates(x), h as Tensor, c as Tensor, this.weight_hh.t(), this.bias_hh, null);
    return batched ? [h2, c2] : [h2.squeeze(0), c2.squeeze(0)];
  }
}

/** A gated recurrent unit cell, gates r, z, n (torch.nn.GRUCell). */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super(inputSize, hiddenSize, options.bias ?? true, 3, options);
  }

  /** input [B, in] or [in]; hx [B, hidden] or [hidden] (zeros when omitted). Returns h'. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    const [x, [h], batched] = this.prepare(input, [hx], ["hidden"]);
    const out = gruStep(this.inputGates(x), h as Tensor, this.weight_hh.t(), this.bias_hh);
    return batched ? out : out.squeeze(0);
  }
}
