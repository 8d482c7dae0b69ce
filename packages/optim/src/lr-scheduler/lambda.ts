import { ArgumentError } from "@dl/tensor";
import { type Optimizer, pyRepr } from "../optimizer.js";
import { LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./lr-scheduler.js";

/** A function of the epoch (PyTorch's lr_lambda). */
export type LrLambda = (epoch: number) => number;

function lambdas(op: string, optimizer: Optimizer, lrLambda: LrLambda | readonly LrLambda[]): LrLambda[] {
  const n = optimizer.paramGroups.length;
  const fns = Array.isArray(lrLambda) ? lrLambda : [lrLambda];
  if (!fns.every((f) => typeof f === "function")) {
    throw new ArgumentError(op, `Expected lr_lambda to be a function or a list of functions, but got ${pyRepr(lrLambda)}`);
  }
  if (!Array.isArray(lrLambda)) return new Array(n).fill(lrLambda);
  if (lrLambda.length !== n) throw new ArgumentError(op, `Expected ${n} lr_lambdas, but got ${lrLambda.length}`);
  return [...lrLambda];
}

/** state_dict entries for lr_lambdas: null for functions; a function's own properties when it has any (PyTorch saves callable objects' __dict__). */
function saveLambdas(fns: readonly LrLambda[]): (Record<string, unknown> | null)[] {
  return fns.map((fn) => (Object.keys(fn).length > 0 ? { ...fn } : null));
}

function loadLambdas(fns: readonly LrLambda[], saved: unknown): void {
  if (!Array.isArray(saved)) return;
  saved.forEach((s, i) => {
    const fn = fns[i];
    if (s !== null && typeof s === "object" && fn !== undefined) Object.assign(fn, s);
  });
}

/** torch.optim.lr_scheduler.LambdaLR: lr = initial lr * lrLambda(epoch) (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  lrLambdas: LrLambda[];

  constructor(optimizer: Optimizer, lrLambda: LrLambda | readonly LrLambda[], options: SchedulerOptions = {}) {
    super(optimizer);
    this.lrLambdas = lambdas("LambdaLR", optimizer, lrLambda);
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    return this.baseLrs.map((b, i) => b * (this.lrLambdas[i] as LrLambda)(this.lastEpoch));
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: saveLambdas(this.lrLambdas) };
  }

  override loadStateDict(stateDict: SchedulerStateDict): void {
    super.loadStateDict(stateDict);
    loadLambdas(this.lrLambdas, stateDict.lr_lambdas);
  }
}

/** torch.optim.lr_scheduler.MultiplicativeLR: lr *= lrLambda(epoch) at every step after the first. */
export class MultiplicativeLR extends LRScheduler {
  lrLambdas: LrLambda[];

  constructor(optimizer: Optimizer, lrLambda: LrLambda | readonly LrLambda[], options: SchedulerOptions = {}) {
    super(optimizer);
    this.lrLambdas = lambdas("MultiplicativeLR", optimizer, lrLambda);
    this.initScheduler(options.lastEpoch, options.verbose);
  }

  getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch > 0) return groups.map((g, i) => g.lr * (this.lrLambdas[i] as LrLambda)(this.lastEpoch));
    return groups.map((g) => g.lr);
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: saveLambdas(this.lrLambdas) };
  }

  override loadStateDict(stateDict: SchedulerStateDict): void {
    super.loadStateDict(stateDict);
    loadLambdas(this.lrLambdas, stateDict.lr_lambdas);
  }
}
