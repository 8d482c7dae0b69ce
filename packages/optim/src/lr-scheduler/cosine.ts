import { ArgumentError } from "@dl/tensor";
import { type Optimizer, pyRepr } from "../optimizer.js";
import { checkInteger, checkNumber, LRScheduler, pyMod, type SchedulerOptions } from "./lr-scheduler.js";

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR with PyTorch's recursive (chainable) formula:
 * lr_t = (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T)) * (lr_{t-1} - etaMin) + etaMin, which
 * also keeps going past tMax (the lr rises back, period 2 tMax). step(epoch) uses the closed form.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** PyTorch's T_max. */
  tMax: number;
  etaMin: number;

  constructor(optimizer: Optimizer, tMax: number, options: SchedulerOptions & { etaMin?: number } = {}) {
    super(optimizer);
    // PyTorch divides by T_max (ZeroDivisionError at the second step).
    if (typeof tMax !== "number" || !(tMax > 0)) throw new ArgumentError("CosineAnnealingLR", `Expected positive T_max, but got ${pyRepr(tMax)}`);
    checkNumber("CosineAnnealingLR", "eta_min", options.etaMin ?? 0);
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { lastEpoch: t, tMax, etaMin } = this;
    if (t === 0) return groups.map((g) => g.lr);
    if (this._stepCount === 1 && t > 0) {
      return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((t * Math.PI) / tMax))) / 2);
    }
    if (pyMod(t - 1 - tMax, 2 * tMax) === 0) {
      return groups.map((g, i) => g.lr + (((this.baseLrs[i] as number) - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (g.lr - etaMin) + etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }

  protected override stateKeys(): Record<string, string> {
    return { T_max: "tMax", eta_min: "etaMin", ...super.stateKeys() };
  }
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingWarmRestarts (SGDR): cosine annealing over T_i epochs,
 * restarting with T_i *= tMult. step(epoch) accepts fractional epochs.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  /** PyTorch's T_0, T_i, T_mult and T_cur. */
  t0: number;
  tI: number;
  tMult: number;
  tCur: number;
  etaMin: number;

  constructor(optimizer: Optimizer, t0: number, options: SchedulerOptions & { tMult?: number; etaMin?: number } = {}) {
    super(optimizer);
    const tMult = options.tMult ?? 1;
    checkInteger("CosineAnnealingWarmRestarts", "T_0", t0, 1);
    if (typeof tMult !== "number" || tMult < 1 || !Number.isInteger(tMult))
      throw new ArgumentError("CosineAnnealingWarmRestarts", `Expected integer T_mult >= 1, but got ${pyRepr(tMult)}`);
    checkNumber("CosineAnnealingWarmRestarts", "eta_min", options.etaMin ?? 0);
    this.t0 = t0;
    this.tI = t0;
    this.tMult = tMult;
    this.etaMin = options.etaMin ?? 0;
    this.tCur = options.lastEpoch ?? -1;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  /** Advances one epoch, or jumps to `epoch` (may be fractional, e.g. epoch + batch / nBatches). */
  override step(epoch?: number): void {
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      epoch = this.lastEpoch + 1;
      this.tCur = this.tCur + 1;
      if (this.tCur >= this.tI) {
        this.tCur = this.tCur - this.tI;
        this.tI = this.tI * this.tMult;
      }
    } else {
      if (epoch < 0) throw new ArgumentError("CosineAnnealingWarmRestarts.step", `Expected non-negative epoch, but got ${pyRepr(epoch)}`);
      if (epoch >= this.t0) {
        if (this.tMult === 1) {
          this.tCur = pyMod(epoch, this.t0);
        } else {
          const n = Math.trunc(Math.log((epoch / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult));
          this.tCur = epoch - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
          this.tI = this.t0 * this.tMult ** n;
        }
      } else {
        this.tI = this.t0;
        this.tCur = epoch;
      }
    }
    this.lastEpoch = Math.floor(epoch);
    this._getLrCalledWithinStep = true;
    let values: number[];
    try {
      values = this.getLr();
    } finally {
      this._getLrCalledWithinStep = false;
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i] as number;
      this.printLr(this.verbose, i, g.lr, epoch);
    });
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected override stateKeys(): Record<string, string> {
    return { T_0: "t0", T_i: "tI", T_mult: "tMult", eta_min: "etaMin", T_cur: "tCur", ...super.stateKeys() };
  }
}
