import {
  ArgumentError,
  ShapeError,
  type Tensor,
  add,
  assertTensor,
  empty,
  fmtShape,
  indexSelect,
  lt,
  matmul,
  mul,
  rand,
  stack,
  zeros,
} from "@dl/tensor";
import { uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { PackedSequence } from "../utils/rnn.js";
import { pyBool, pyFloat } from "./format.js";
import { type Activation, RecurrentWeight, cat, gruStep, lstmFusesBias, lstmStep, rnnStep, splitWithSizes, unbind } from "./rnn-ops.js";

export * from "./rnn-cells.js";

type Mode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

export interface RNNBaseOptions {
  /** Stacked recurrent layers (default 1). */
  numLayers?: number;
  /** Whether the layers have bias_ih and bias_hh (default true). */
  bias?: boolean;
  /** Input and output as [batch, seq, feature] instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** A second set of layers running backwards; outputs are concatenated (default false). */
  bidirectional?: boolean;
  dtype?: "float32" | "float64";
  device?: string;
}

export interface RNNOptions extends RNNBaseOptions {
  /** "tanh" (default) or "relu". */
  nonlinearity?: Activation;
}

export interface LSTMOptions extends RNNBaseOptions {
  /** Projects h to this size with weight_hr (0, the default, disables the projection). */
  projSize?: number;
}

export type GRUOptions = RNNBaseOptions;

/** The weights of one layer and direction. */
interface LayerWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
  whr: Tensor | null;
}

/**
 * Multi-layer RNN, LSTM and GRU (torch.nn.RNNBase). Parameters are registered with PyTorch's names
 * and order: for each layer k and direction, weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
 * bias_hh_l{k}, weight_hr_l{k} (LSTM with projSize), with a "_reverse" suffix for the backward
 * direction.
 *
 * Computation: per layer and direction, the input projection of all time steps is one matmul
 * (x W_ih^T + b over the whole sequence); only the recurrent part h W_hh^T loops over time.
 * Sequences are handled in packed form ([rows, feature] with per-step batch sizes), so padded and
 * packed inputs share one code path, and packed sequences stop at their own lengths.
 */
export abstract class RNNBase extends Module {
  readonly mode: Mode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;

  constructor(mode: Mode, inputSize: number, hiddenSize: number, options: RNNBaseOptions & { projSize?: number }) {
    super();
    const name = new.target.name;
    const numLayers = options.numLayers ?? 1;
    const dropout = options.dropout ?? 0;
    const projSize = options.projSize ?? 0;
    for (const [k, v] of [
      ["inputSize", inputSize],
      ["hiddenSize", hiddenSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(name, `${k} must be a non-negative integer, got ${v}`);
    }
    if (!Number.isInteger(numLayers) || numLayers < 1)
      throw new ArgumentError(name, `numLayers must be a positive integer, got ${numLayers}`);
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      throw new ArgumentError(
        name,
        `dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${dropout}`,
      );
    }
    if (dropout > 0 && numLayers === 1) {
      console.warn(
        `${name}: dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects numLayers greater than 1, but got dropout=${dropout} and numLayers=${numLayers}`,
      );
    }
    if (!Number.isInteger(projSize) || projSize < 0)
      throw new ArgumentError(name, `projSize should be a positive integer or zero to disable projections, got ${projSize}`);
    if (projSize > 0 && projSize >= hiddenSize)
      throw new ArgumentError(name, `projSize has to be smaller than hiddenSize (got projSize=${projSize}, hiddenSize=${hiddenSize})`);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = dropout;
    this.bidirectional = options.bidirectional ?? false;
    this.projSize = projSize;

    const gateSize = (mode === "LSTM" ? 4 : mode === "GRU" ? 3 : 1) * hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    const realHidden = projSize > 0 ? projSize : hiddenSize;
    const o = { dtype: options.dtype, device: options.device };
    for (let layer = 0; layer < numLayers; layer++) {
      for (let dir = 0; dir < dirs; dir++) {
        const layerInput = layer === 0 ? inputSize : realHidden * dirs;
        const sfx = `_l${layer}${dir === 1 ? "_reverse" : ""}`;
        this.registerParameter(`weight_ih${sfx}`, new Parameter(empty([gateSize, layerInput], o)));
        this.registerParameter(`weight_hh${sfx}`, new Parameter(empty([gateSize, realHidden], o)));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, new Parameter(empty([gateSize], o)));
          this.registerParameter(`bias_hh${sfx}`, new Parameter(empty([gateSize], o)));
        }
        if (projSize > 0) this.registerParameter(`weight_hr${sfx}`, new Parameter(empty([projSize, hiddenSize], o)));
      }
    }
    this.resetParameters();
  }

  /** Every parameter U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)), as PyTorch. */
  resetParameters(): void {
    const stdv = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -stdv, stdv);
  }

  /** The parameter names of each layer and direction, in registration order (PyTorch's _all_weights). */
  get allWeightNames(): string[][] {
    const out: string[][] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < (this.bidirectional ? 2 : 1); dir++) {
        const sfx = `_l${layer}${dir === 1 ? "_reverse" : ""}`;
        const names = [`weight_ih${sfx}`, `weight_hh${sfx}`];
        if (this.bias) names.push(`bias_ih${sfx}`, `bias_hh${sfx}`);
        if (this.projSize > 0) names.push(`weight_hr${sfx}`);
        out.push(names);
      }
    }
    return out;
  }

  /** PyTorch's flatten_parameters(): a no-op (there is no cuDNN weight buffer to compact). */
  flattenParameters(): void {}

  /** The parameters of each layer and direction (PyTorch's all_weights). */
  get allWeights(): Parameter[][] {
    return this.allWeightNames.map((names) => names.map((n) => this.param(n) as Parameter));
  }

  private param(name: string): Parameter | null {
    const p = (this as unknown as Record<string, unknown>)[name];
    return p instanceof Parameter ? p : null;
  }

  private weights(layer: number, dir: number): LayerWeights {
    const sfx = `_l${layer}${dir === 1 ? "_reverse" : ""}`;
    const need = (n: string) => {
      const p = this.param(n);
      if (!p) throw new ArgumentError(this.constructor.name, `parameter '${n}' is missing`);
      return p;
    };
    return {
      wih: need(`weight_ih${sfx}`),
      whh: need(`weight_hh${sfx}`),
      bih: this.bias ? need(`bias_ih${sfx}`) : null,
      bhh: this.bias ? need(`bias_hh${sfx}`) : null,
      whr: this.projSize > 0 ? need(`weight_hr${sfx}`) : null,
    };
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize !== 0) s += `, proj_size=${this.projSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (this.bias !== true) s += `, bias=${pyBool(this.bias)}`;
    if (this.batchFirst !== false) s += `, batch_first=${pyBool(this.batchFirst)}`;
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional !== false) s += `, bidirectional=${pyBool(this.bidirectional)}`;
    return s;
  }

  /**
   * The shared forward: input (Tensor or PackedSequence) and initial states (hx for RNN/GRU,
   * [hx, cx] for LSTM, or null) -> [output, final states].
   */
  protected run(input: Tensor | PackedSequence, states: (Tensor | null)[] | null): [Tensor | PackedSequence, Tensor[]] {
    if (!(input instanceof PackedSequence)) assertTensor(this.mode, input, "input");
    const name = this.constructor.name;
    const isLSTM = this.mode === "LSTM";
    const dirs = this.bidirectional ? 2 : 1;
    const realHidden = this.projSize > 0 ? this.projSize : this.hiddenSize;
    const stateSizes = isLSTM ? [realHidden, this.hiddenSize] : [this.hiddenSize];
    const stateNames = isLSTM ? ["hx", "cx"] : ["hx"];

    // ---- to packed form: data [rows, feature] and rows per time step ----
    let data: Tensor;
    let batchSizes: number[];
    let packed: PackedSequence | null = null;
    let batched = true;
    let T = 0;
    let B: number;
    if (input instanceof PackedSequence) {
      packed = input;
      data = input.data;
      if (data.ndim !== 2)
        throw new ShapeError(name, `input must have 2 dimensions, got ${data.ndim} (packed data of shape ${fmtShape(data.shape)})`);
      batchSizes = input.batchSizesList();
      B = batchSizes[0] ?? 0;
    } else {
      if (input.ndim !== 2 && input.ndim !== 3) {
        throw new ShapeError(
          name,
          `input must have 3 dimensions (or 2 when unbatched), got ${input.ndim} (shape ${fmtShape(input.shape)})`,
        );
      }
      batched = input.ndim === 3;
      const x = batched ? (this.batchFirst ? input.transpose(0, 1) : input) : input.unsqueeze(1);
      T = x.shape[0] as number;
      B = x.shape[1] as number;
      data = x.reshape([T * B, x.shape[2] as number]);
      batchSizes = new Array<number>(T).fill(B);
      if (T === 0) throw new ShapeError(name, `Expected sequence length to be larger than 0 in RNN (input shape ${fmtShape(input.shape)})`);
    }
    if (data.shape[1] !== this.inputSize) {
      throw new ShapeError(name, `input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${data.shape[1]}`);
    }

    // ---- initial states [layers*dirs, B, size] ----
    const init: Tensor[] = stateSizes.map((size, k) => {
      const given = states?.[k] ?? null;
      if (given === null) return zeros([this.numLayers * dirs, B, size], { dtype: data.dtype, device: data.device });
      let h = given;
      if (!packed) {
        const want = batched ? 3 : 2;
        if (h.ndim !== want) {
          const what = isLSTM ? "hx and cx" : "hx";
          const got = (states ?? []).map((s) => `${s?.ndim ?? 0}-D`).join(", ");
          throw new ShapeError(
            name,
            batched
              ? `For batched 3-D input, ${what} should also be 3-D but got ${isLSTM ? `(${got}) tensors` : `${h.ndim}-D tensor`}`
              : `For unbatched 2-D input, ${what} should also be 2-D but got ${isLSTM ? `(${got}) tensors` : `${h.ndim}-D tensor`}`,
          );
        }
        if (!batched) h = h.unsqueeze(1);
      } else if (packed.sortedIndices) {
        h = indexSelect(h, 1, packed.sortedIndices);
      }
      const expected = [this.numLayers * dirs, B, size];
      if (h.ndim !== 3 || h.shape.some((n, i) => n !== expected[i])) {
        const label = isLSTM ? `hidden[${k}] size` : "hidden size";
        throw new ShapeError(name, `Expected ${label} (${expected.join(", ")}), got [${h.shape.join(", ")}] (${stateNames[k]})`);
      }
      return h;
    });
    const initPerLayer = init.map((h) => unbind(h, 0));

    // ---- layers ----
    const finals: Tensor[][] = stateSizes.map(() => []);
    let layerInput = data;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let dir = 0; dir < dirs; dir++) {
        const idx = layer * dirs + dir;
        const h0 = initPerLayer.map((hs) => hs[idx] as Tensor);
        const [out, last] = this.runDirection(layerInput, batchSizes, h0, this.weights(layer, dir), dir === 1);
        outs.push(out);
        last.forEach((t, k) => void (finals[k] as Tensor[]).push(t));
      }
      layerInput = outs.length === 1 ? (outs[0] as Tensor) : cat(outs, 1);
      if (this.dropout > 0 && this.training && layer < this.numLayers - 1) layerInput = dropoutRows(layerInput, this.dropout);
    }

    let finalStates = finals.map((hs) => stack(hs, 0));
    if (packed) {
      const unsorted = packed.unsortedIndices;
      if (unsorted) finalStates = finalStates.map((h) => indexSelect(h, 1, unsorted));
      return [new PackedSequence(layerInput, packed.batchSizes, packed.sortedIndices, packed.unsortedIndices), finalStates];
    }
    let output = layerInput.view([T, B, layerInput.shape[1] as number]);
    if (!batched) return [output.squeeze(1), finalStates.map((h) => h.squeeze(1))];
    if (this.batchFirst) output = output.transpose(0, 1);
    return [output, finalStates];
  }

  /**
   * One layer in one direction over packed rows. Returns the output rows [rows, hidden] (in the
   * input's row order) and each sequence's state after its own last step (forward) or after
   * step 0 (reverse), [B, size] per state.
   */
  private runDirection(x: Tensor, batchSizes: readonly number[], h0: Tensor[], w: LayerWeights, reverse: boolean): [Tensor, Tensor[]] {
    const T = batchSizes.length;
    const B = h0[0]?.shape[0] as number;
    // The input projection of every time step: one matmul. RNN folds b_hh in; GRU keeps b_hn apart
    // (it sits inside r * (W_hn h + b_hn)); an LSTM with the backend's fused cell adds b_ih + b_hh
    // inside the cell (no pass over all steps' gates for the bias).
    let gx = matmul(x, w.wih.t());
    const isGRU = this.mode === "GRU";
    const lstmBias = this.mode === "LSTM" && w.bih && w.bhh && lstmFusesBias(gx) ? add(w.bih, w.bhh) : null;
    if (w.bih && w.bhh && !lstmBias) gx = add(gx, isGRU ? w.bih : add(w.bih, w.bhh));
    const steps = splitWithSizes(gx, batchSizes, 0);
    const whhT = new RecurrentWeight(w.whh.t());
    const whrT = w.whr ? new RecurrentWeight(w.whr.t()) : null;
    const bhh = isGRU ? w.bhh : lstmBias;
    const step = (g: Tensor, s: Tensor[]): Tensor[] => {
      switch (this.mode) {
        case "LSTM":
          return lstmStep(g, s[0] as Tensor, s[1] as Tensor, whhT, bhh, whrT);
        case "GRU":
          return [gruStep(g, s[0] as Tensor, whhT, bhh)];
        case "RNN_TANH":
          return [rnnStep(g, s[0] as Tensor, whhT, null, "tanh")];
        default:
          return [rnnStep(g, s[0] as Tensor, whhT, null, "relu")];
      }
    };
    const outs: Tensor[] = new Array(T);
    if (!reverse) {
      // Sequences end as the batch shrinks: their rows leave the state and are final.
      let state = h0;
      const done: Tensor[][] = h0.map(() => []);
      for (let t = 0; t < T; t++) {
        const bs = batchSizes[t] as number;
        const rows = state[0]?.shape[0] as number;
        if (bs < rows) {
          state = state.map((s, k) => {
            const [keep, fin] = splitWithSizes(s, [bs, rows - bs], 0) as [Tensor, Tensor];
            (done[k] as Tensor[]).push(fin);
            return keep;
          });
        }
        state = step(steps[t] as Tensor, state);
        outs[t] = state[0] as Tensor;
      }
      const last = state.map((s, k) => {
        const parts = [s, ...(done[k] as Tensor[]).reverse()];
        return parts.length === 1 ? s : cat(parts, 0);
      });
      return [T === 1 ? (outs[0] as Tensor) : cat(outs, 0), last];
    }
    // Reverse: start at the last step with the sequences that reach it; each sequence joins (from
    // its initial state) at its own last step.
    const sizes: number[] = [];
    let prev = 0;
    for (let t = T - 1; t >= 0; t--) {
      const bs = batchSizes[t] as number;
      if (bs > prev) {
        sizes.push(bs - prev);
        prev = bs;
      }
    }
    if (prev < B) sizes.push(B - prev);
    const segments = h0.map((h) => splitWithSizes(h, sizes, 0));
    let state: Tensor[] = segments.map((seg) => seg[0] as Tensor);
    let next = 1;
    for (let t = T - 1; t >= 0; t--) {
      const bs = batchSizes[t] as number;
      if (bs > (state[0]?.shape[0] as number)) {
        const k0 = next++;
        state = state.map((s, k) => cat([s, (segments[k] as Tensor[])[k0] as Tensor], 0));
      }
      state = step(steps[t] as Tensor, state);
      outs[t] = state[0] as Tensor;
    }
    return [T === 1 ? (outs[0] as Tensor) : cat(outs, 0), state];
  }
}

/** Dropout on a layer's output rows (training only): zero with probability p, scale the rest by 1/(1-p). */
function dropoutRows(x: Tensor, p: number): Tensor {
  if (p === 1) return mul(x, 0);
  const keep = lt(rand([...x.shape], { dtype: x.dtype, device: x.device }), 1 - p).to(x.dtype);
  return mul(x, mul(keep, 1 / (1 - p)));
}

/**
 * A multi-layer Elman RNN, h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) with tanh or relu
 * (torch.nn.RNN). forward(input, hx?) -> [output, hN]; input [T, B, in] ([B, T, in] with
 * batchFirst), [T, in] unbatched, or a PackedSequence; hx and hN [layers*dirs, B, hidden].
 */
export class RNN extends RNNBase {
  readonly nonlinearity: Activation;

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") throw new ArgumentError("RNN", `Unknown nonlinearity '${nl}' (expected "tanh" or "relu")`);
    super(nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, options);
    this.nonlinearity = nl;
  }

  forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [out, [h]] = this.run(input, [hx ?? null]);
    return [out, h as Tensor];
  }
}

/**
 * A multi-layer LSTM, gates i, f, g, o, optional projection of h to projSize (torch.nn.LSTM).
 * forward(input, [h0, c0]?) -> [output, [hN, cN]]; h [layers*dirs, B, projSize || hidden],
 * c [layers*dirs, B, hidden].
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options);
  }

  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, hx?: readonly [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, hx?: readonly [Tensor, Tensor] | null): [Tensor | PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, hx?: readonly [Tensor, Tensor] | null): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const [out, [h, c]] = this.run(input, hx ? [hx[0], hx[1]] : null);
    return [out, [h as Tensor, c as Tensor]];
  }
}

/**
 * A multi-layer GRU, gates r, z, n with n = tanh(W_in x + b_in + r (W_hn h + b_hn)) (torch.nn.GRU).
 * forward(input, hx?) -> [output, hN].
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: GRUOptions = {}) {
    super("GRU", inputSize, hiddenSize, options);
  }

  forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const [out, [h]] = this.run(input, [hx ?? null]);
    return [out, h as Tensor];
  }
}
