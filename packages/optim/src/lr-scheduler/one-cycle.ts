import { ArgumentError } from "@dl/tensor";
import { type Optimizer, toCamel } from "../optimizer.js";
import { formatParam, LRScheduler, type SchedulerOptions } from "./lr-scheduler.js";

export interface OneCycleLROptions extends SchedulerOptions {
  /** Total number of steps, or give epochs and stepsPerEpoch. */
  totalSteps?: number | null;
  epochs?: number | null;
  stepsPerEpoch?: number | null;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (SGD-like optimizers) or beta1 (Adam-like) inversely to the lr. */
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  /** initial lr = maxLr / divFactor. */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor. */
  finalDivFactor?: number;
  /** Three phases (warm up, anneal back to the initial lr, then to the min lr), as fastai. */
  threePhase?: boolean;
}

/** A phase of the cycle; the lr and momentum names are PyTorch's group keys (snake_case). */
export interface OneCyclePhase {
  end_step: number;
  start_lr: string;
  end_lr: string;
  start_momentum: string;
  end_momentum: string;
}

/**
 * torch.optim.lr_scheduler.OneCycleLR (Smith's 1cycle policy). Sets the groups' initialLr, maxLr,
 * minLr, maxMomentum and baseMomentum, and cycles momentum (or Adam's beta1). Stepping more than
 * totalSteps times is an error. stateDict() stores the annealing strategy as "_anneal_func_type"
 * (as PyTorch >= 2.1) instead of 1.13's bound method.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  annealStrategy: "cos" | "linear";
  cycleMomentum: boolean;
  useBeta1 = false;
  schedulePhases: OneCyclePhase[];

  constructor(optimizer: Optimizer, maxLr: number | readonly number[], options: OneCycleLROptions = {}) {
    super(optimizer);
    const op = "OneCycleLR";
    const { totalSteps = null, epochs = null, stepsPerEpoch = null, pctStart = 0.3, annealStrategy = "cos" } = options;
    const { cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95, divFactor = 25.0, finalDivFactor = 1e4 } = options;
    const lastEpoch = options.lastEpoch ?? -1;
    const isPosInt = (v: number | null): v is number => v !== null && Number.isInteger(v) && v > 0;
    if (totalSteps === null && epochs === null && stepsPerEpoch === null) {
      throw new ArgumentError(op, "You must define either total_steps OR (epochs AND steps_per_epoch)");
    } else if (totalSteps !== null) {
      if (!isPosInt(totalSteps)) throw new ArgumentError(op, `Expected positive integer total_steps, but got ${totalSteps}`);
      this.totalSteps = totalSteps;
    } else {
      if (!isPosInt(epochs)) throw new ArgumentError(op, `Expected positive integer epochs, but got ${epochs}`);
      if (!isPosInt(stepsPerEpoch)) throw new ArgumentError(op, `Expected positive integer steps_per_epoch, but got ${stepsPerEpoch}`);
      this.totalSteps = epochs * stepsPerEpoch;
    }
    const T = this.totalSteps;
    this.schedulePhases = options.threePhase
      ? [
          {
            end_step: pctStart * T - 1,
            start_lr: "initial_lr",
            end_lr: "max_lr",
            start_momentum: "max_momentum",
            end_momentum: "base_momentum",
          },
          {
            end_step: 2 * pctStart * T - 2,
            start_lr: "max_lr",
            end_lr: "initial_lr",
            start_momentum: "base_momentum",
            end_momentum: "max_momentum",
          },
          { end_step: T - 1, start_lr: "initial_lr", end_lr: "min_lr", start_momentum: "max_momentum", end_momentum: "max_momentum" },
        ]
      : [
          {
            end_step: pctStart * T - 1,
            start_lr: "initial_lr",
            end_lr: "max_lr",
            start_momentum: "max_momentum",
            end_momentum: "base_momentum",
          },
          { end_step: T - 1, start_lr: "max_lr", end_lr: "min_lr", start_momentum: "base_momentum", end_momentum: "max_momentum" },
        ];
    if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentError(op, `Expected float between 0 and 1 pct_start, but got ${pctStart}`);
    if (annealStrategy !== "cos" && annealStrategy !== "linear") {
      throw new ArgumentError(op, `anneal_strategy must be one of 'cos' or 'linear', instead got ${String(annealStrategy)}`);
    }
    this.annealStrategy = annealStrategy;
    const maxLrs = formatParam(op, "max_lr", optimizer, maxLr);
    if (lastEpoch === -1) {
      optimizer.paramGroups.forEach((g, i) => {
        g.initialLr = (maxLrs[i] as number) / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    }
    this.cycleMomentum = cycleMomentum;
    if (cycleMomentum) {
      if (!("momentum" in optimizer.defaults) && !("betas" in optimizer.defaults)) {
        throw new ArgumentError(op, "optimizer must support momentum or betas with the `cycleMomentum` option enabled");
      }
      this.useBeta1 = "betas" in optimizer.defaults;
      const maxMs = formatParam(op, "max_momentum", optimizer, maxMomentum);
      const baseMs = formatParam(op, "base_momentum", optimizer, baseMomentum);
      if (lastEpoch === -1) {
        optimizer.paramGroups.forEach((g, i) => {
          if (this.useBeta1) g.betas = [maxMs[i], ...(g.betas as number[]).slice(1)];
          else g.momentum = maxMs[i];
          g.maxMomentum = maxMs[i];
          g.baseMomentum = baseMs[i];
        });
      }
    }
    this.initScheduler(lastEpoch, options.verbose);
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "cos") {
      const cosOut = Math.cos(Math.PI * pct) + 1;
      return end + ((start - end) / 2.0) * cosOut;
    }
    return (end - start) * pct + start;
  }

  getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new ArgumentError(
        "OneCycleLR.step",
        `Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`,
      );
    }
    const phases = this.schedulePhases;
    return this.optimizer.paramGroups.map((group) => {
      let startStep = 0;
      let lr = 0;
      let momentum = 0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i] as OneCyclePhase;
        const endStep = phase.end_step;
        if (stepNum <= endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (endStep - startStep);
          lr = this.anneal(group[toCamel(phase.start_lr)] as number, group[toCamel(phase.end_lr)] as number, pct);
          if (this.cycleMomentum) {
            momentum = this.anneal(group[toCamel(phase.start_momentum)] as number, group[toCamel(phase.end_momentum)] as number, pct);
          }
          break;
        }
        startStep = phase.end_step;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
        else group.momentum = momentum;
      }
      return lr;
    });
  }

  protected override stateKeys(): Record<string, string> {
    return {
      total_steps: "totalSteps",
      _schedule_phases: "schedulePhases",
      _anneal_func_type: "annealStrategy",
      cycle_momentum: "cycleMomentum",
      ...(this.cycleMomentum ? { use_beta1: "useBeta1" } : {}),
      ...super.stateKeys(),
    };
  }
}
