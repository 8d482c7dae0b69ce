import { ArgumentError, Tensor } from "@dl/tensor";
import { Optimizer } from "../optimizer.js";
import { checkInteger, formatE, formatScheduler, type SchedulerStateDict } from "./lr-scheduler.js";

export interface ReduceLROnPlateauOptions {
  /** "min": reduce when the metric stops decreasing; "max": when it stops increasing. */
  mode?: "min" | "max";
  /** new lr = lr * factor (< 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. */
  patience?: number;
  threshold?: number;
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again. */
  cooldown?: number;
  /** Lower bound of the lr (one per group, or one for all). */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped. */
  eps?: number;
  verbose?: boolean;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: reduces the groups' lr by `factor` when a metric
 * has stopped improving for `patience` epochs. Not an LRScheduler (as in PyTorch 1.13):
 * step(metric) takes the metric (a number or a one-element tensor).
 */
export class ReduceLROnPlateau {
  readonly optimizer: Optimizer;
  factor: number;
  minLrs: number[];
  patience: number;
  verbose: boolean;
  cooldown: number;
  cooldownCounter = 0;
  mode: "min" | "max";
  threshold: number;
  thresholdMode: "rel" | "abs";
  best = Number.POSITIVE_INFINITY;
  numBadEpochs = 0;
  modeWorse = Number.POSITIVE_INFINITY;
  eps: number;
  lastEpoch = 0;
  /** @internal */ _lastLr: number[] | undefined;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    const op = "ReduceLROnPlateau";
    const factor = options.factor ?? 0.1;
    if (factor >= 1.0) throw new ArgumentError(op, `Factor should be < 1.0 (got ${factor}).`);
    this.factor = factor;
    if (!(optimizer instanceof Optimizer)) throw new ArgumentError(op, `${typeof optimizer} is not an Optimizer`);
    this.optimizer = optimizer;
    const minLr = options.minLr ?? 0;
    const n = optimizer.paramGroups.length;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new ArgumentError(op, `expected ${n} min_lrs, got ${minLr.length}`);
      this.minLrs = [...minLr];
    } else {
      this.minLrs = new Array(n).fill(minLr);
    }
    checkInteger(op, "patience", options.patience ?? 10, 0);
    checkInteger(op, "cooldown", options.cooldown ?? 0, 0);
    this.patience = options.patience ?? 10;
    this.verbose = options.verbose ?? false;
    this.cooldown = options.cooldown ?? 0;
    this.mode = options.mode ?? "min";
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? "rel";
    this.eps = options.eps ?? 1e-8;
    this.initIsBetter();
    this.reset();
  }

  private reset(): void {
    this.best = this.modeWorse;
    this.cooldownCounter = 0;
    this.numBadEpochs = 0;
  }

  /** Records the metric of an epoch and reduces the lr when it has plateaued. */
  step(metrics: number | Tensor, epoch?: number): void {
    const current = metrics instanceof Tensor ? Number(metrics.item()) : Number(metrics);
    const e = epoch ?? this.lastEpoch + 1;
    this.lastEpoch = e;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr(e);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The groups' learning rates after the last step. */
  getLastLr(): number[] {
    return [...(this._lastLr ?? this.optimizer.paramGroups.map((g) => g.lr))];
  }

  private reduceLr(epoch: number): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const oldLr = Number(g.lr);
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i] as number);
      if (oldLr - newLr > this.eps) {
        g.lr = newLr;
        if (this.verbose) {
          const es = Number.isInteger(epoch) ? String(epoch).padStart(5, "0") : epoch.toFixed(2);
          console.log(`Epoch ${es}: reducing learning rate of group ${i} to ${formatE(newLr)}.`);
        }
      }
    });
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === "min" && this.thresholdMode === "rel") return a < best * (1.0 - this.threshold);
    if (this.mode === "min" && this.thresholdMode === "abs") return a < best - this.threshold;
    if (this.mode === "max" && this.thresholdMode === "rel") return a > best * (this.threshold + 1.0);
    return a > best + this.threshold;
  }

  private initIsBetter(): void {
    if (this.mode !== "min" && this.mode !== "max") throw new ArgumentError("ReduceLROnPlateau", `mode ${String(this.mode)} is unknown!`);
    if (this.thresholdMode !== "rel" && this.thresholdMode !== "abs") {
      throw new ArgumentError("ReduceLROnPlateau", `threshold mode ${String(this.thresholdMode)} is unknown!`);
    }
    this.modeWorse = this.mode === "min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  private static readonly keys: Record<string, string> = {
    factor: "factor",
    min_lrs: "minLrs",
    patience: "patience",
    verbose: "verbose",
    cooldown: "cooldown",
    cooldown_counter: "cooldownCounter",
    mode: "mode",
    threshold: "threshold",
    threshold_mode: "thresholdMode",
    best: "best",
    num_bad_epochs: "numBadEpochs",
    mode_worse: "modeWorse",
    eps: "eps",
    last_epoch: "lastEpoch",
    _last_lr: "_lastLr",
  };

  /** PyTorch's state_dict() keys (_last_lr only once step() has run, as in PyTorch). */
  /** Its settings and state under PyTorch's attribute names, sorted (as LRScheduler's toString). */
  toString(): string {
    return formatScheduler("ReduceLROnPlateau", this.stateDict());
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  stateDict(): SchedulerStateDict {
    const self = this as unknown as Record<string, unknown>;
    const out: SchedulerStateDict = {};
    for (const [py, ts] of Object.entries(ReduceLROnPlateau.keys)) {
      const v = self[ts];
      if (v === undefined) continue;
      out[py] = Array.isArray(v) ? [...v] : v;
    }
    return out;
  }

  loadStateDict(stateDict: SchedulerStateDict): void {
    const self = this as unknown as Record<string, unknown>;
    for (const [py, ts] of Object.entries(ReduceLROnPlateau.keys)) {
      if (!(py in stateDict)) continue;
      const v = stateDict[py];
      self[ts] = Array.isArray(v) ? [...v] : v;
    }
    this.initIsBetter();
  }
}
