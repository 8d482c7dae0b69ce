import { ArgumentError } from "@dl/tensor";
import { Optimizer, pyRepr, pyStr } from "../optimizer.js";

/** A scheduler's state dict: PyTorch's attribute names (snake_case) and values. */
export type SchedulerStateDict = Record<string, unknown>;

/** Options every LRScheduler constructor accepts. */
export interface SchedulerOptions {
  /** The index of the last epoch when resuming (-1: start; then every group needs initialLr). */
  lastEpoch?: number;
  /** Print a line for every lr update. */
  verbose?: boolean;
}

/** Python's % (the result has the sign of the divisor). */
export const pyMod = (a: number, b: number): number => ((a % b) + b) % b;

/** Python's bisect.bisect_right on a sorted array. */
export function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < (sorted[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Python's "{:.4e}" (two-digit exponent). */
export function formatE(v: number): string {
  const [m, e] = v.toExponential(4).split("e") as [string, string];
  const n = Number(e);
  return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
}

/**
 * An integer option of at least `min` (1: "positive", 0: "non-negative"), with PyTorch's wording
 * ("Expected positive integer T_0, but got 0"). Checked before anything is changed.
 */
export function checkInteger(op: string, name: string, value: unknown, min: 0 | 1): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ArgumentError(op, `Expected ${min === 1 ? "positive" : "non-negative"} integer ${name}, but got ${pyRepr(value)}`);
  }
}

/** A numeric option (gamma, factors): strings and NaN are errors, not a silently frozen lr. */
export function checkNumber(op: string, name: string, value: unknown): void {
  if (typeof value !== "number" || Number.isNaN(value)) throw new ArgumentError(op, `Expected ${name} to be a number, but got ${pyRepr(value)}`);
}

/** lastEpoch: -1 to start, or the epoch to resume from. */
export function checkLastEpoch(op: string, lastEpoch: unknown): void {
  if (typeof lastEpoch !== "number" || !Number.isInteger(lastEpoch) || lastEpoch < -1) {
    throw new ArgumentError(op, `Expected integer last_epoch >= -1, but got ${pyRepr(lastEpoch)}`);
  }
}

/** A scheduler's repr from its state dict: public entries sorted, _last_lr shown as last_lr. */
export function formatScheduler(name: string, state: SchedulerStateDict): string {
  const entries = Object.entries(state)
    .filter(([k, v]) => (!k.startsWith("_") || k === "_last_lr") && k !== "verbose" && typeof v !== "function")
    .map(([k, v]) => [k === "_last_lr" ? "last_lr" : k, v] as const)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const show = (v: unknown): string =>
    Array.isArray(v) ? `[${v.map(show).join(", ")}]` : v !== null && typeof v === "object" ? JSON.stringify(v) : pyStr(v);
  return `${name} (\n${entries.map(([k, v]) => `    ${k}: ${show(v)}\n`).join("")})`;
}

/** One value per parameter group: a list must have one entry per group, a number is repeated. */
export function formatParam(op: string, name: string, optimizer: Optimizer, value: number | readonly number[]): number[] {
  const n = optimizer.paramGroups.length;
  if (Array.isArray(value)) {
    if (value.length !== n) throw new ArgumentError(op, `expected ${n} values for ${name} (one per parameter group), got ${value.length}`);
    return [...value];
  }
  return new Array(n).fill(value as number);
}

function copyValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyValue(x)]));
  return v;
}

/**
 * torch.optim.lr_scheduler._LRScheduler (LRScheduler in PyTorch 2): sets each group's initialLr,
 * keeps baseLrs and lastEpoch, and writes getLr()'s values into the groups at every step().
 * Construction takes the initial step (lastEpoch -1 -> 0), as in PyTorch.
 *
 * Custom schedulers extend it, set their fields in the constructor, then call
 * `this.initScheduler(lastEpoch, verbose)` (PyTorch's super().__init__, which must come after the
 * fields getLr() reads), and implement getLr() (chainable form, reading `this.lastEpoch`).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Each group's initial lr. */
  baseLrs: number[] = [];
  lastEpoch = -1;
  verbose = false;
  /** @internal */ _stepCount = 0;
  /** @internal */ _getLrCalledWithinStep = false;
  /** @internal */ _lastLr: number[] = [];

  constructor(optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) {
      throw new ArgumentError(this.constructor.name, `${optimizer === null ? "null" : typeof optimizer} is not an Optimizer`);
    }
    this.optimizer = optimizer;
  }

  /** PyTorch's _LRScheduler.__init__: initialLr, baseLrs, lastEpoch, then the initial step. */
  protected initScheduler(lastEpoch = -1, verbose = false): void {
    checkLastEpoch(this.constructor.name, lastEpoch);
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (!("initialLr" in g)) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (!("initialLr" in g)) {
          throw new ArgumentError(
            this.constructor.name,
            `param 'initial_lr' is not specified in param_groups[${i}] when resuming an optimizer`,
          );
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.verbose = verbose;
    this._initialStep();
  }

  /** @internal */
  _initialStep(): void {
    this._stepCount = 0;
    this.step();
  }

  /** The learning rates of the last step (one per group). */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  /** The groups' learning rates for the current lastEpoch (PyTorch's chainable get_lr). */
  abstract getLr(): number[];

  /** The closed-form learning rates used by step(epoch) where PyTorch has one. */
  protected closedFormLr?(): number[];

  protected printLr(isVerbose: boolean, group: number, lr: number, epoch?: number): void {
    if (!isVerbose) return;
    if (epoch === undefined) console.log(`Adjusting learning rate of group ${group} to ${formatE(lr)}.`);
    else {
      const e = Number.isInteger(epoch) ? String(epoch).padStart(5, "0") : epoch.toFixed(2);
      console.log(`Epoch ${e}: adjusting learning rate of group ${group} to ${formatE(lr)}.`);
    }
  }

  /**
   * Advances one epoch and writes the new learning rates into the optimizer's groups. With an
   * explicit epoch (deprecated in PyTorch), jumps there using the closed form where there is one.
   */
  step(epoch?: number): void {
    this._stepCount += 1;
    let values: number[];
    this._getLrCalledWithinStep = true;
    try {
      if (epoch === undefined) {
        this.lastEpoch += 1;
        values = this.getLr();
      } else {
        this.lastEpoch = epoch;
        values = this.closedFormLr !== undefined ? this.closedFormLr() : this.getLr();
      }
    } finally {
      this._getLrCalledWithinStep = false;
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i] as number;
      this.printLr(this.verbose, i, g.lr, epoch);
    });
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** PyTorch attribute name -> property of this object, for stateDict / loadStateDict. */
  protected stateKeys(): Record<string, string> {
    return {
      base_lrs: "baseLrs",
      last_epoch: "lastEpoch",
      verbose: "verbose",
      _step_count: "_stepCount",
      _get_lr_called_within_step: "_getLrCalledWithinStep",
      _last_lr: "_lastLr",
    };
  }

  /** PyTorch's state_dict(): the scheduler's attributes (not the optimizer), under PyTorch's names. */
  /**
   * "StepLR (\n    base_lrs: [0.1]\n    gamma: 0.1\n ...)": the settings and position under PyTorch's
   * attribute names, sorted (PyTorch itself prints only the object's address).
   */
  toString(): string {
    return formatScheduler(this.constructor.name, this.stateDict());
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  stateDict(): SchedulerStateDict {
    const self = this as unknown as Record<string, unknown>;
    const out: SchedulerStateDict = {};
    for (const [py, ts] of Object.entries(this.stateKeys())) out[py] = copyValue(self[ts]);
    return out;
  }

  /** Restores attributes from stateDict() (or PyTorch's state_dict); unknown keys are ignored. */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const self = this as unknown as Record<string, unknown>;
    for (const [py, ts] of Object.entries(this.stateKeys())) {
      if (py in stateDict) self[ts] = this.restoreValue(py, stateDict[py]);
    }
  }

  /** Converts a loaded state-dict value to this object's representation. */
  protected restoreValue(_key: string, value: unknown): unknown {
    return copyValue(value);
  }
}
