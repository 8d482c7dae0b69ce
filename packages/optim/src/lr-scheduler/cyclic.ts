import { ArgumentError } from "@dl/tensor";
import { type Optimizer, pyRepr } from "../optimizer.js";
import { checkLastEpoch, formatParam, LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./lr-scheduler.js";

export interface CyclicLROptions extends SchedulerOptions {
  /** Iterations in the increasing half of a cycle (default 2000). */
  stepSizeUp?: number;
  /** Iterations in the decreasing half (default stepSizeUp). */
  stepSizeDown?: number | null;
  mode?: "triangular" | "triangular2" | "exp_range";
  /** exp_range's base: the amplitude is scaled by gamma^iterations. */
  gamma?: number;
  /** A custom amplitude scaling (overrides mode). */
  scaleFn?: ((x: number) => number) | null;
  /** What scaleFn receives: the cycle number or the iteration. */
  scaleMode?: "cycle" | "iterations";
  /** Cycle the groups' momentum inversely to the lr (the optimizer must have a momentum option). */
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
}

/**
 * torch.optim.lr_scheduler.CyclicLR (Smith's cyclical learning rates): the lr moves between baseLr
 * and maxLr with modes triangular, triangular2 (amplitude halved each cycle) and exp_range, or a
 * custom scaleFn; momentum cycles the other way.
 */
export class CyclicLR extends LRScheduler {
  maxLrs: number[];
  totalSize: number;
  stepRatio: number;
  mode: string;
  gamma: number;
  scaleMode: "cycle" | "iterations";
  cycleMomentum: boolean;
  baseMomentums: number[] = [];
  maxMomentums: number[] = [];
  private readonly customScaleFn: ((x: number) => number) | null;

  constructor(optimizer: Optimizer, baseLr: number | readonly number[], maxLr: number | readonly number[], options: CyclicLROptions = {}) {
    super(optimizer);
    const op = "CyclicLR";
    const lastEpoch = options.lastEpoch ?? -1;
    // Checked before the groups' lr is set to base_lr below.
    checkLastEpoch(op, lastEpoch);
    for (const [name, v] of [
      ["step_size_up", options.stepSizeUp ?? 2000],
      ["step_size_down", options.stepSizeDown ?? options.stepSizeUp ?? 2000],
    ] as const) {
      if (typeof v !== "number" || !(v > 0)) throw new ArgumentError(op, `Expected positive ${name}, but got ${pyRepr(v)}`);
    }
    const { mode = "triangular", gamma = 1.0, scaleFn = null, cycleMomentum = true } = options;
    const baseLrs = formatParam(op, "base_lr", optimizer, baseLr);
    if (lastEpoch === -1) {
      optimizer.paramGroups.forEach((g, i) => {
        g.lr = baseLrs[i] as number;
      });
    }
    this.maxLrs = formatParam(op, "max_lr", optimizer, maxLr);
    const up = options.stepSizeUp ?? 2000;
    const down = options.stepSizeDown ?? up;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    if (!["triangular", "triangular2", "exp_range"].includes(mode) && scaleFn === null) {
      throw new ArgumentError(op, `mode is invalid and scale_fn is None (mode '${mode}')`);
    }
    this.mode = mode;
    this.gamma = gamma;
    this.customScaleFn = scaleFn;
    this.scaleMode = scaleFn === null ? (mode === "exp_range" ? "iterations" : "cycle") : (options.scaleMode ?? "cycle");
    this.cycleMomentum = cycleMomentum;
    if (cycleMomentum) {
      if (!("momentum" in optimizer.defaults))
        throw new ArgumentError(op, "optimizer must support momentum with the `cycleMomentum` option enabled");
      const baseMs = formatParam(op, "base_momentum", optimizer, options.baseMomentum ?? 0.8);
      if (lastEpoch === -1) {
        optimizer.paramGroups.forEach((g, i) => {
          g.momentum = baseMs[i];
        });
      }
      this.baseMomentums = optimizer.paramGroups.map((g) => g.momentum as number);
      this.maxMomentums = formatParam(op, "max_momentum", optimizer, options.maxMomentum ?? 0.9);
    }
    this.initScheduler(lastEpoch, options.verbose);
    this.baseLrs = baseLrs;
  }

  /** The amplitude scaling of the current mode (or the custom scaleFn). */
  scaleFn(x: number): number {
    if (this.customScaleFn !== null) return this.customScaleFn(x);
    if (this.mode === "triangular") return 1.0;
    if (this.mode === "triangular2") return 1 / 2.0 ** (x - 1);
    return this.gamma ** x;
  }

  getLr(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1.0 + this.lastEpoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const arg = this.scaleMode === "cycle" ? cycle : this.lastEpoch;
    const lrs = this.baseLrs.map((base, i) => base + ((this.maxLrs[i] as number) - base) * scaleFactor * this.scaleFn(arg));
    if (this.cycleMomentum) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const base = this.baseMomentums[i] as number;
        const max = this.maxMomentums[i] as number;
        g.momentum = max - (max - base) * scaleFactor * this.scaleFn(arg);
      });
    }
    return lrs;
  }

  /** PyTorch's keys; the custom scaleFn (a function) is saved as null and kept on load. */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _scale_fn_custom: null };
  }

  protected override stateKeys(): Record<string, string> {
    return {
      max_lrs: "maxLrs",
      total_size: "totalSize",
      step_ratio: "stepRatio",
      mode: "mode",
      gamma: "gamma",
      scale_mode: "scaleMode",
      cycle_momentum: "cycleMomentum",
      ...(this.cycleMomentum ? { base_momentums: "baseMomentums", max_momentums: "maxMomentums" } : {}),
      ...super.stateKeys(),
    };
  }
}
