import { ArgumentError } from "@dl/tensor";
import type { Optimizer } from "../optimizer.js";
import { bisectRight, LRScheduler, type SchedulerStateDict } from "./lr-scheduler.js";

/**
 * torch.optim.lr_scheduler.SequentialLR: runs schedulers one after another, switching at the
 * milestones (the next scheduler starts from its epoch 0 there).
 */
export class SequentialLR extends LRScheduler {
  /** @internal */ _schedulers: LRScheduler[];
  /** @internal */ _milestones: number[];

  constructor(
    optimizer: Optimizer,
    schedulers: readonly LRScheduler[],
    milestones: readonly number[],
    options: { lastEpoch?: number; verbose?: boolean } = {},
  ) {
    super(optimizer);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new ArgumentError(
          "SequentialLR",
          `expects all schedulers to belong to the same optimizer, but got scheduler at index ${i} with a different optimizer`,
        );
      }
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new ArgumentError(
        "SequentialLR",
        `expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${milestones.length}`,
      );
    }
    this._schedulers = [...schedulers];
    this._milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    this.verbose = options.verbose ?? false;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of this._schedulers) s.lastEpoch -= 1;
    (this._schedulers[0] as LRScheduler)._initialStep();
    this._lastLr = (this._schedulers[0] as LRScheduler).getLastLr();
  }

  getLr(): number[] {
    return this.getLastLr();
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this._milestones, this.lastEpoch);
    const scheduler = this._schedulers[idx] as LRScheduler;
    if (idx > 0 && this._milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this._lastLr = scheduler.getLastLr();
  }

  protected override stateKeys(): Record<string, string> {
    return { _milestones: "_milestones", last_epoch: "lastEpoch", _last_lr: "_lastLr" };
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _schedulers: this._schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(stateDict: SchedulerStateDict): void {
    super.loadStateDict(stateDict);
    const subs = stateDict._schedulers;
    if (Array.isArray(subs)) {
      subs.forEach((s, i) => {
        this._schedulers[i]?.loadStateDict(s as SchedulerStateDict);
      });
    }
  }
}

/** torch.optim.lr_scheduler.ChainedScheduler: steps every scheduler at each step (their factors compose). */
export class ChainedScheduler extends LRScheduler {
  /** @internal */ _schedulers: LRScheduler[];

  constructor(schedulers: readonly LRScheduler[]) {
    if (schedulers.length === 0) throw new ArgumentError("ChainedScheduler", "expects at least one scheduler");
    super((schedulers[0] as LRScheduler).optimizer);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer) {
        throw new ArgumentError(
          "ChainedScheduler",
          `expects all schedulers to belong to the same optimizer, but got schedulers at index 0 and ${i} to be different`,
        );
      }
    });
    this._schedulers = [...schedulers];
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLr(): number[] {
    return this.getLastLr();
  }

  override step(): void {
    for (const s of this._schedulers) s.step();
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected override stateKeys(): Record<string, string> {
    return { _last_lr: "_lastLr" };
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _schedulers: this._schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(stateDict: SchedulerStateDict): void {
    super.loadStateDict(stateDict);
    const subs = stateDict._schedulers;
    if (Array.isArray(subs)) {
      subs.forEach((s, i) => {
        this._schedulers[i]?.loadStateDict(s as SchedulerStateDict);
      });
    }
  }
}
