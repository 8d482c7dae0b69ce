import { noGrad } from "@dl/autograd";
import { Dropout, Identity, init, Linear, Module, ModuleDict } from "@dl/nn";
import { ArgumentError, add, all, DLError, isfinite, matmul, mul, type Tensor } from "@dl/tensor";
import { Conv1D } from "@dl/transformers";
import type { LoraConfig } from "../config.js";

/** A layer LoRA can wrap: nn.Linear (weight [out, in]) or GPT-2's Conv1D (weight [in, out]). */
export type LoraBaseLayer = Linear | Conv1D;

export function isLoraSupported(m: Module): m is LoraBaseLayer {
  return m instanceof Linear || m instanceof Conv1D;
}

export interface UpdateLayerOptions {
  r: number;
  loraAlpha: number;
  config: LoraConfig;
}

/**
 * PEFT's lora.Linear: wraps a Linear or Conv1D as `base_layer` and adds, per adapter name, a
 * dropout, `lora_A` (Linear in→r, no bias: weight [r, in]) and `lora_B` (Linear r→out: weight
 * [out, r]). forward: y = base(x) + lora_B(lora_A(dropout(x))) · scaling for each active adapter,
 * scaling = alpha / r (alpha / √r with rslora). The child names give PEFT's state-dict keys
 * (`<path>.base_layer.weight`, `<path>.lora_A.default.weight`).
 */
export class LoraLayer extends Module {
  base_layer: LoraBaseLayer;
  lora_dropout = new ModuleDict();
  lora_A = new ModuleDict();
  lora_B = new ModuleDict();
  readonly r: Record<string, number> = {};
  readonly loraAlpha: Record<string, number> = {};
  readonly scaling: Record<string, number> = {};
  readonly useRslora: Record<string, boolean> = {};
  readonly loraBias: Record<string, boolean> = {};
  /** True when the base weight is [in, out] (Conv1D): delta weights are transposed before merging. */
  readonly fanInFanOut: boolean;
  readonly isTargetConv1dLayer: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Adapters merged into the base weight, in merge order. */
  readonly mergedAdapters: string[] = [];
  private _active: string[];
  private _disabled = false;

  constructor(base: LoraBaseLayer, adapterName: string, o: UpdateLayerOptions) {
    super();
    this.base_layer = base;
    const conv1d = base instanceof Conv1D;
    this.isTargetConv1dLayer = conv1d;
    const w = base.weight;
    [this.inFeatures, this.outFeatures] = conv1d
      ? [w.shape[0] as number, w.shape[1] as number]
      : [w.shape[1] as number, w.shape[0] as number];
    // PEFT (dispatch_default): Conv1D forces fan_in_fan_out on, Linear forces it off, with a warning, on the config itself.
    if (conv1d && !o.config.fanInFanOut) {
      console.warn("fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.");
      o.config.fanInFanOut = true;
    } else if (!conv1d && o.config.fanInFanOut) {
      console.warn("fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.");
      o.config.fanInFanOut = false;
    }
    this.fanInFanOut = o.config.fanInFanOut;
    this._active = [adapterName];
    this.updateLayer(adapterName, o);
  }

  /** Adds (or replaces) adapter `name` (PEFT's update_layer). */
  updateLayer(name: string, o: UpdateLayerOptions): void {
    const { r, loraAlpha, config } = o;
    if (!Number.isInteger(r) || r <= 0)
      throw new ArgumentError("LoraLayer", `r should be a positive integer value but the value passed is ${r}`);
    this.r[name] = r;
    this.loraAlpha[name] = loraAlpha;
    this.lora_dropout.set(name, config.loraDropout > 0 ? new Dropout(config.loraDropout) : new Identity());
    const w = this.base_layer.weight;
    const opts = { dtype: w.dtype as "float32" | "float64", device: w.device };
    const A = new Linear(this.inFeatures, r, { bias: false, ...opts });
    const B = new Linear(r, this.outFeatures, { bias: config.loraBias, ...opts });
    this.lora_A.set(name, A);
    this.lora_B.set(name, B);
    this.loraBias[name] = config.loraBias;
    this.scaling[name] = config.useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    this.useRslora[name] = config.useRslora;
    this.resetLoraParameters(name, config.initLoraWeights);
    // A new adapter is frozen unless it is active (PEFT's set_adapter after update_layer).
    this.setAdapter(this._active);
  }

  /** PEFT's reset_lora_parameters: A kaiming-uniform(a=√5) (or N(0, 1/r) for "gaussian"), B zeros. */
  resetLoraParameters(name: string, initLoraWeights: boolean | "gaussian"): void {
    if (initLoraWeights === false) return; // both keep nn.Linear's random init
    const A = this.lora_A.get(name) as Linear;
    const B = this.lora_B.get(name) as Linear;
    if (initLoraWeights === true) init.kaimingUniform_(A.weight, { a: Math.sqrt(5) });
    else init.normal_(A.weight, 0, 1 / (this.r[name] as number));
    init.zeros_(B.weight);
    if (B.bias) init.zeros_(B.bias);
  }

  get activeAdapters(): readonly string[] {
    return this._active;
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  get disableAdapters(): boolean {
    return this._disabled;
  }

  /** The wrapped layer's weight and bias (PEFT's BaseTunerLayer.weight / .bias). */
  get weight(): Tensor {
    return this.base_layer.weight;
  }
  get bias(): Tensor | null {
    return this.base_layer.bias;
  }

  /** Makes `names` the active adapters: only their parameters require grad. */
  setAdapter(names: string | readonly string[]): void {
    const list = typeof names === "string" ? [names] : [...names];
    for (const key of this.lora_A.keys()) {
      const on = list.includes(key);
      (this.lora_A.get(key) as Module).requiresGrad_(on);
      (this.lora_B.get(key) as Module).requiresGrad_(on);
    }
    this._active = list;
  }

  /** Turns the adapters off (forward = base layer) or back on; unmerges first, as PEFT does. */
  enableAdapters(enabled: boolean): void {
    if (enabled) {
      this.setAdapter(this._active);
      this._disabled = false;
    } else {
      for (const key of this.lora_A.keys()) {
        (this.lora_A.get(key) as Module).requiresGrad_(false);
        (this.lora_B.get(key) as Module).requiresGrad_(false);
      }
      this._disabled = true;
    }
  }

  deleteAdapter(name: string): void {
    if (!this.lora_A.has(name)) return;
    if (this.mergedAdapters.includes(name))
      throw new DLError("deleteAdapter", `adapter '${name}' is merged into the base weights; unmerge() first`);
    for (const d of [this.lora_A, this.lora_B, this.lora_dropout]) delete (d as unknown as Record<string, unknown>)[name];
    for (const rec of [this.r, this.loraAlpha, this.scaling, this.useRslora, this.loraBias]) delete (rec as Record<string, unknown>)[name];
    this._active = this._active.filter((a) => a !== name);
  }

  /** B·A·scaling in the base weight's layout ([in, out] when fanInFanOut) (PEFT's get_delta_weight). */
  getDeltaWeight(name: string): Tensor {
    const A = (this.lora_A.get(name) as Linear).weight;
    const B = (this.lora_B.get(name) as Linear).weight;
    const ba = matmul(B, A);
    return mul(this.fanInFanOut ? ba.t() : ba, this.scaling[name] as number);
  }

  /**
   * Adds the active adapters' delta weights into the base weight, so forward costs one matmul.
   * safeMerge computes into a copy and refuses NaN/inf results before touching the layer.
   */
  merge(options: { safeMerge?: boolean; adapterNames?: readonly string[] } = {}): void {
    const names = (options.adapterNames ?? this._active).filter((n) => !this.mergedAdapters.includes(n));
    noGrad(() => {
      for (const name of names) {
        if (!this.lora_A.has(name)) continue;
        const base = this.base_layer;
        const B = this.lora_B.get(name) as Linear;
        if (this.loraBias[name] && base.bias === null) {
          throw new DLError("merge", "impossible to merge LoRA with loraBias=true because the base layer has no bias");
        }
        const delta = this.getDeltaWeight(name);
        if (options.safeMerge) {
          const w = add(base.weight, delta);
          const b = this.loraBias[name] && B.bias ? add(base.bias as Tensor, mul(B.bias, this.scaling[name] as number)) : null;
          if (!all(isfinite(w)).item() || (b && !all(isfinite(b)).item())) {
            throw new DLError("merge", `NaNs detected in the merged weights. The adapter ${name} seems to be broken`);
          }
          base.weight.copy_(w);
          if (b) (base.bias as Tensor).copy_(b);
        } else {
          base.weight.copy_(add(base.weight, delta));
          if (this.loraBias[name] && B.bias)
            (base.bias as Tensor).copy_(add(base.bias as Tensor, mul(B.bias, this.scaling[name] as number)));
        }
        this.mergedAdapters.push(name);
      }
    });
  }

  /** Subtracts every merged adapter's delta weight again (last merged first). */
  unmerge(): void {
    if (!this.merged) {
      console.warn("Already unmerged. Nothing to do.");
      return;
    }
    noGrad(() => {
      while (this.mergedAdapters.length) {
        const name = this.mergedAdapters.pop() as string;
        if (!this.lora_A.has(name)) continue;
        const base = this.base_layer;
        base.weight.copy_(add(base.weight, mul(this.getDeltaWeight(name), -1)));
        const B = this.lora_B.get(name) as Linear;
        if (this.loraBias[name] && B.bias)
          (base.bias as Tensor).copy_(add(base.bias as Tensor, mul(B.bias, -(this.scaling[name] as number))));
      }
    });
  }

  forward(x: Tensor): Tensor {
    if (this._disabled) {
      if (this.merged) this.unmerge();
      return this.base_layer.call(x);
    }
    let result = this.base_layer.call(x);
    if (this.merged) return result;
    for (const name of this._active) {
      if (!this.lora_A.has(name)) continue;
      const A = this.lora_A.get(name) as Linear;
      const B = this.lora_B.get(name) as Linear;
      const drop = this.lora_dropout.get(name) as Dropout | Identity;
      result = add(result, mul(B.call(A.call(drop.call(x))), this.scaling[name] as number));
    }
    return result;
  }

  override toString(): string {
    return `lora.${super.toString()}`;
  }
}
