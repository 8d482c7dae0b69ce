import { ArgumentError } from "@dl/tensor";
import { type Optimizer, pyRepr } from "../optimizer.js";
import { bisectRight, checkInteger, checkNumber, LRScheduler, pyMod, type SchedulerOptions } from "./lr-scheduler.js";

/** torch.optim.lr_scheduler.StepLR: multiplies the lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer, stepSize: number, options: SchedulerOptions & { gamma?: number } = {}) {
    super(optimizer);
    // PyTorch divides by step_size at the first step (ZeroDivisionError); 0 here froze the lr.
    checkInteger("StepLR", "step_size", stepSize, 1);
    checkNumber("StepLR", "gamma", options.gamma ?? 0.1);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || pyMod(this.lastEpoch, this.stepSize) !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected override stateKeys(): Record<string, string> {
    return { step_size: "stepSize", gamma: "gamma", ...super.stateKeys() };
  }
}

/**
 * torch.optim.lr_scheduler.MultiStepLR: multiplies the lr by gamma at each milestone (a milestone
 * listed k times multiplies by gamma^k, as PyTorch's Counter).
 */
export class MultiStepLR extends LRScheduler {
  /** milestone -> multiplicity. */
  milestones: Map<number, number>;
  gamma: number;

  constructor(optimizer: Optimizer, milestones: readonly number[], options: SchedulerOptions & { gamma?: number } = {}) {
    super(optimizer);
    if (!Array.isArray(milestones) || !milestones.every((m) => Number.isInteger(m) && m >= 0)) {
      throw new ArgumentError("MultiStepLR", `Expected milestones to be a list of non-negative integers, but got ${pyRepr(milestones)}`);
    }
    checkNumber("MultiStepLR", "gamma", options.gamma ?? 0.1);
    this.milestones = new Map();
    for (const m of milestones) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = options.gamma ?? 0.1;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    const sorted = [...this.milestones].flatMap(([m, c]) => new Array<number>(c).fill(m)).sort((a, b) => a - b);
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(sorted, this.lastEpoch));
  }

  protected override stateKeys(): Record<string, string> {
    return { milestones: "milestones", gamma: "gamma", ...super.stateKeys() };
  }

  protected override restoreValue(key: string, value: unknown): unknown {
    if (key === "milestones" && value !== null && typeof value === "object" && !(value instanceof Map)) {
      return new Map(Object.entries(value as Record<string, number>).map(([k, c]) => [Number(k), c]));
    }
    if (key === "milestones" && value instanceof Map) return new Map(value);
    return super.restoreValue(key, value);
  }
}

/** torch.optim.lr_scheduler.ExponentialLR: multiplies the lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: Optimizer, gamma: number, options: SchedulerOptions = {}) {
    super(optimizer);
    checkNumber("ExponentialLR", "gamma", gamma);
    this.gamma = gamma;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }

  protected override stateKeys(): Record<string, string> {
    return { gamma: "gamma", ...super.stateKeys() };
  }
}
