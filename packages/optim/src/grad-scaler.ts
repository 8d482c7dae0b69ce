import { noGrad } from "@dl/autograd";
import { ArgumentError, any, DLError, DTypeError, full, isfinite, logicalNot, logicalOr, mul, mul_, Tensor } from "@dl/tensor";
import type { Optimizer } from "./optimizer.js";

export interface GradScalerOptions {
  /** Initial scale factor (default 2^16). */
  initScale?: number;
  /** Factor applied to the scale after growthInterval consecutive steps without inf/NaN gradients. */
  growthFactor?: number;
  /** Factor applied to the scale after a step with inf/NaN gradients. */
  backoffFactor?: number;
  growthInterval?: number;
  /** When false, scale() returns its input, step() just steps and the rest are no-ops. */
  enabled?: boolean;
}

/** What GradScaler.stateDict() holds (PyTorch's keys). */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

type Stage = "ready" | "unscaled" | "stepped";

interface OptimizerState {
  stage: Stage;
  foundInf: Tensor | null;
}

const f32 = Math.fround;

/** A tensor, or arrays / plain objects of tensors (scale() maps over them). */
export type Scalable = Tensor | readonly Scalable[];

/**
 * torch.cuda.amp.GradScaler, for any backend: dynamic loss scaling for mixed-precision training.
 *
 *   const scaler = new GradScaler();
 *   const loss = autocast(() => lossFn(model(x), y), { dtype: "float16" });   // autocast: @dl/tensor
 *   scaler.scale(loss).backward();
 *   scaler.step(optimizer);   // unscales the grads; skips optimizer.step() if any is inf/NaN
 *   scaler.update();          // backs the scale off after a skipped step, grows it after growthInterval good ones
 *
 * The scale is a float32 value (PyTorch keeps a one-element float32 tensor); scale(loss) multiplies
 * by a one-element float32 tensor, so a 0-dim half-precision loss becomes a float32 [1] tensor as in
 * PyTorch. Checking for inf/NaN reads one boolean back from the device per step().
 */
export class GradScaler {
  private enabled: boolean;
  private initScale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private scaleValue: number | null = null;
  private growthTracker: number | null = null;
  private initGrowthTracker = 0;
  private perOptimizer = new Map<Optimizer, OptimizerState>();

  constructor(options: GradScalerOptions = {}) {
    const { initScale = 2.0 ** 16, growthFactor = 2.0, backoffFactor = 0.5, growthInterval = 2000, enabled = true } = options;
    this.enabled = enabled;
    if (enabled) {
      if (!(growthFactor > 1.0)) throw new ArgumentError("GradScaler", `the growth factor must be > 1.0, got ${growthFactor}`);
      if (!(backoffFactor < 1.0)) throw new ArgumentError("GradScaler", `the backoff factor must be < 1.0, got ${backoffFactor}`);
    }
    this.initScale = initScale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
  }

  private stateFor(optimizer: Optimizer): OptimizerState {
    let s = this.perOptimizer.get(optimizer);
    if (s === undefined) {
      s = { stage: "ready", foundInf: null };
      this.perOptimizer.set(optimizer, s);
    }
    return s;
  }

  private checkInitialized(fn: string): number {
    if (this.scaleValue === null) {
      throw new DLError(
        `GradScaler.${fn}`,
        `attempted ${fn} but the scale is not initialized; this may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration`,
      );
    }
    return this.scaleValue;
  }

  /** Multiplies outputs (a tensor, or arrays of tensors) by the scale factor. */
  scale<T extends Scalable>(outputs: T): T {
    if (!this.enabled) return outputs;
    if (this.scaleValue === null) {
      this.scaleValue = f32(this.initScale);
      this.growthTracker = this.initGrowthTracker;
    }
    const s = this.scaleValue;
    const apply = (v: Scalable): Scalable => {
      if (v instanceof Tensor) return mul(v, full([1], s, { dtype: "float32", device: v.device }));
      if (Array.isArray(v)) return v.map(apply);
      throw new ArgumentError("GradScaler.scale", "outputs must be a Tensor or an array of Tensors");
    };
    return apply(outputs) as T;
  }

  /**
   * Divides the optimizer's gradients by the scale (in place) and records whether any is inf or
   * NaN. Call it before clipping gradients; step() then does not unscale again.
   */
  unscale_(optimizer: Optimizer): void {
    if (!this.enabled) return;
    const scale = this.checkInitialized("unscale_");
    const state = this.stateFor(optimizer);
    if (state.stage === "unscaled")
      throw new DLError("GradScaler.unscale_", "unscale_() has already been called on this optimizer since the last update()");
    if (state.stage === "stepped") throw new DLError("GradScaler.unscale_", "unscale_() is being called after step()");
    const invScale = f32(1 / scale);
    state.foundInf = noGrad(() => {
      let found: Tensor | null = null;
      for (const group of optimizer.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          if (g.dtype === "float16")
            throw new DTypeError("GradScaler.unscale_", "attempting to unscale FP16 gradients (parameters must be float32 or bfloat16)");
          const bad = any(logicalNot(isfinite(g)));
          found = found === null ? bad : logicalOr(found, bad);
          if (invScale !== 1) mul_(g, invScale);
        }
      }
      return found;
    });
    state.stage = "unscaled";
  }

  /**
   * Unscales the gradients (unless unscale_ was called) and calls optimizer.step() unless a
   * gradient is inf or NaN. Returns what optimizer.step() returned (undefined when skipped).
   */
  step(optimizer: Optimizer, ...args: unknown[]): unknown {
    if (!this.enabled) return (optimizer.step as (...a: unknown[]) => unknown)(...args);
    if (args.length > 0) throw new ArgumentError("GradScaler.step", "closure use is not currently supported if GradScaler is enabled");
    this.checkInitialized("step");
    const state = this.stateFor(optimizer);
    if (state.stage === "stepped") throw new DLError("GradScaler.step", "step() has already been called since the last update()");
    if (state.stage === "ready") this.unscale_(optimizer);
    if (state.foundInf === null)
      throw new DLError("GradScaler.step", "no inf checks were recorded for this optimizer (none of its parameters has a gradient)");
    let ret: unknown;
    if (!state.foundInf.item()) ret = optimizer.step();
    state.stage = "stepped";
    return ret;
  }

  /**
   * Updates the scale: times backoffFactor if any optimizer's gradients had inf/NaN since the last
   * update, times growthFactor after growthInterval consecutive clean updates (kept when the grown
   * scale would overflow float32). newScale sets it directly.
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    const scale = this.checkInitialized("update");
    if (newScale !== undefined) {
      this.scaleValue = f32(newScale instanceof Tensor ? Number(newScale.item()) : newScale);
    } else {
      const states = [...this.perOptimizer.values()].filter((s) => s.foundInf !== null);
      if (states.length === 0) throw new DLError("GradScaler.update", "no inf checks were recorded prior to update");
      const foundInf = states.some((s) => Boolean((s.foundInf as Tensor).item()));
      if (foundInf) {
        this.scaleValue = f32(scale * this.backoffFactor);
        this.growthTracker = 0;
      } else {
        const successful = (this.growthTracker ?? 0) + 1;
        if (successful === this.growthInterval) {
          const grown = f32(scale * this.growthFactor);
          if (Number.isFinite(grown)) this.scaleValue = grown;
          this.growthTracker = 0;
        } else {
          this.growthTracker = successful;
        }
      }
    }
    this.perOptimizer = new Map();
  }

  /** The current scale (the initial scale before the first scale() call; 1 when disabled). */
  getScale(): number {
    if (!this.enabled) return 1.0;
    return this.scaleValue ?? this.initScale;
  }

  getGrowthFactor(): number {
    return this.growthFactor;
  }

  setGrowthFactor(v: number): void {
    this.growthFactor = v;
  }

  getBackoffFactor(): number {
    return this.backoffFactor;
  }

  setBackoffFactor(v: number): void {
    this.backoffFactor = v;
  }

  getGrowthInterval(): number {
    return this.growthInterval;
  }

  setGrowthInterval(v: number): void {
    this.growthInterval = v;
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** PyTorch's state_dict() ({} when disabled). */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker ?? this.initGrowthTracker,
    };
  }

  loadStateDict(stateDict: GradScalerStateDict | Record<string, never>): void {
    if (!this.enabled) return;
    if (Object.keys(stateDict).length === 0) {
      throw new DLError(
        "GradScaler.loadStateDict",
        "the source state dict is empty, possibly because it was saved from a disabled instance of GradScaler",
      );
    }
    const sd = stateDict as GradScalerStateDict;
    this.initScale = sd.scale;
    if (this.scaleValue !== null) this.scaleValue = f32(sd.scale);
    this.growthFactor = sd.growth_factor;
    this.backoffFactor = sd.backoff_factor;
    this.growthInterval = sd.growth_interval;
    this.initGrowthTracker = sd._growth_tracker;
    if (this.growthTracker !== null) this.growthTracker = sd._growth_tracker;
  }
}
