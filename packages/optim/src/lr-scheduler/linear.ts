import { ArgumentError } from "@dl/tensor";
import type { Optimizer } from "../optimizer.js";
import { checkInteger, checkNumber, LRScheduler, type SchedulerOptions } from "./lr-scheduler.js";

/** torch.optim.lr_scheduler.ConstantLR: lr * factor until totalIters, then lr. */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;

  constructor(optimizer: Optimizer, options: SchedulerOptions & { factor?: number; totalIters?: number } = {}) {
    super(optimizer);
    const factor = options.factor ?? 1.0 / 3;
    if (factor > 1.0 || factor < 0)
      throw new ArgumentError("ConstantLR", `Constant multiplicative factor expected to be between 0 and 1 (got ${factor}).`);
    this.factor = factor;
    // LinearLR divides by total_iters; ConstantLR's factor simply never applies with 0.
    checkInteger(this.constructor.name, "total_iters", options.totalIters ?? 5, this instanceof LinearLR ? 1 : 0);
    this.totalIters = options.totalIters ?? 5;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr * this.factor);
    if (this.lastEpoch > this.totalIters || this.lastEpoch !== this.totalIters) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * (1.0 / this.factor));
  }

  protected override closedFormLr(): number[] {
    const reached = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((b) => b * (this.factor + reached * (1 - this.factor)));
  }

  protected override stateKeys(): Record<string, string> {
    return { factor: "factor", total_iters: "totalIters", ...super.stateKeys() };
  }
}

/** torch.optim.lr_scheduler.LinearLR: the factor moves linearly from startFactor to endFactor over totalIters epochs. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: Optimizer, options: SchedulerOptions & { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer);
    const startFactor = options.startFactor ?? 1.0 / 3;
    const endFactor = options.endFactor ?? 1.0;
    if (startFactor > 1.0 || startFactor < 0)
      throw new ArgumentError("LinearLR", `Starting multiplicative factor expected to be between 0 and 1 (got ${startFactor}).`);
    if (endFactor > 1.0 || endFactor < 0)
      throw new ArgumentError("LinearLR", `Ending multiplicative factor expected to be between 0 and 1 (got ${endFactor}).`);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    // LinearLR divides by total_iters; ConstantLR's factor simply never applies with 0.
    checkInteger(this.constructor.name, "total_iters", options.totalIters ?? 5, this instanceof LinearLR ? 1 : 0);
    this.totalIters = options.totalIters ?? 5;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return groups.map((g) => g.lr);
    const d = this.endFactor - this.startFactor;
    return groups.map((g) => g.lr * (1.0 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d)));
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (b) => b * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters),
    );
  }

  protected override stateKeys(): Record<string, string> {
    return { start_factor: "startFactor", end_factor: "endFactor", total_iters: "totalIters", ...super.stateKeys() };
  }
}

/** torch.optim.lr_scheduler.PolynomialLR: lr * (1 - t / totalIters)^power, then constant. */
export class PolynomialLR extends LRScheduler {
  totalIters: number;
  power: number;

  constructor(optimizer: Optimizer, options: SchedulerOptions & { totalIters?: number; power?: number } = {}) {
    super(optimizer);
    checkInteger("PolynomialLR", "total_iters", options.totalIters ?? 5, 1);
    checkNumber("PolynomialLR", "power", options.power ?? 1.0);
    this.totalIters = options.totalIters ?? 5;
    this.power = options.power ?? 1.0;
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters) return groups.map((g) => g.lr);
    const decay = ((1.0 - this.lastEpoch / this.totalIters) / (1.0 - (this.lastEpoch - 1) / this.totalIters)) ** this.power;
    return groups.map((g) => g.lr * decay);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * (1.0 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power);
  }

  protected override stateKeys(): Record<string, string> {
    return { total_iters: "totalIters", power: "power", ...super.stateKeys() };
  }
}
