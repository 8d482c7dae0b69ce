import { enableGrad, noGrad } from "@dl/autograd";
import { ArgumentError, add_, div, isFloating, keep, mul, Tensor, tensor, tidy } from "@dl/tensor";

/**
 * torch.optim.Optimizer: parameter groups, per-parameter state, zeroGrad, stateDict /
 * loadStateDict with PyTorch's layout. Subclasses implement `updateGroup` (one group's update under
 * noGrad, inside a tidy() scope) or override `step` (LBFGS).
 */

/** A parameter group: its parameters and the options of the optimizer (camelCase), lr first. */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}

/** A parameter group as passed to a constructor or addParamGroup: options default to the optimizer's. */
export type ParamGroupInput<O = Record<string, unknown>> = { params: Iterable<Tensor> | Tensor } & Partial<O> & Record<string, unknown>;

/** Parameters to optimize: tensors, or parameter groups with their own options. */
export type Params<O = Record<string, unknown>> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** What step(closure) accepts: re-evaluates the model and returns the loss (after backward()). */
export type Closure<L extends Tensor | number = Tensor | number> = () => L;

/** Per-parameter state, keyed by PyTorch's names ("step", "exp_avg", "momentum_buffer", ...). */
export type ParamState = Record<string, unknown>;

/**
 * PyTorch's optimizer state dict: state keyed by parameter index (in the order of the groups'
 * parameters), and the groups' options (snake_case keys, as PyTorch) with parameter indices.
 */
export interface OptimizerStateDict {
  state: Record<number | string, ParamState>;
  param_groups: Record<string, unknown>[];
}

/** Marks an option without a default (SGD's lr): every group must set it. */
export const required: unique symbol = Symbol("required");

/** camelCase -> snake_case ("weightDecay" -> "weight_decay"): state-dict keys are PyTorch's. */
export const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** snake_case -> camelCase ("initial_lr" -> "initialLr"). */
export const toCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** x += value * t1 * t2 (PyTorch's addcmul_, evaluated as (value * t1) * t2). */
export function addcmul_(x: Tensor, t1: Tensor, t2: Tensor, value = 1): Tensor {
  return add_(x, mul(value === 1 ? t1 : mul(t1, value), t2));
}

/**
 * Whether the tensors a fused optimizer step reads or writes fit it: float32/float64 (halves keep
 * the composed path's rounding after every op), and every one a contiguous view of p's dtype,
 * shape and device.
 */
export function fusedStepFits(p: Tensor, tensors: readonly Tensor[]): boolean {
  return (
    (p.dtype === "float32" || p.dtype === "float64") &&
    tensors.every(
      (t) =>
        t.dtype === p.dtype &&
        t.device === p.device &&
        t.isContiguous() &&
        t.shape.length === p.ndim &&
        t.shape.every((s, i) => s === p.shape[i]),
    )
  );
}

/** A fused step wrote these tensors' storages in place: bump their versions, as in-place ops do. */
export function markWritten(...tensors: Tensor[]): void {
  for (const t of tensors) t._storage.version++;
}

/** x += value * t1 / t2 (PyTorch's addcdiv_, evaluated as (value * t1) / t2). */
export function addcdiv_(x: Tensor, t1: Tensor, t2: Tensor, value = 1): Tensor {
  return add_(x, div(value === 1 ? t1 : mul(t1, value), t2));
}

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** Default options (camelCase), applied to groups that do not set them. */
  readonly defaults: Readonly<Record<string, unknown>>;
  paramGroups: G[] = [];
  /** Per-parameter state (PyTorch's optimizer.state). */
  state: Map<Tensor, ParamState> = new Map();

  /** Option keys PyTorch 1.13 stores in its param_groups that dl does not implement (foreach, ...). */
  protected pytorchGroupExtras: Record<string, unknown> = {};
  /** State entries dl keeps as numbers that PyTorch keeps as 0-dim float32 tensors ("step"). */
  protected tensorStateKeys: readonly string[] = [];

  constructor(params: Params | Tensor, defaults: Record<string, unknown>) {
    this.defaults = defaults;
    const name = this.constructor.name;
    if (params instanceof Tensor) {
      throw new ArgumentError(
        name,
        "params argument given to the optimizer should be an iterable of Tensors or parameter groups, but got a Tensor",
      );
    }
    if (params === null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new ArgumentError(
        name,
        `params argument given to the optimizer should be an iterable of Tensors or parameter groups, got ${String(params)}`,
      );
    }
    let groups = Array.from(params as Iterable<Tensor | ParamGroupInput>);
    if (groups.length === 0) throw new ArgumentError(name, "optimizer got an empty parameter list");
    if (groups[0] instanceof Tensor) groups = [{ params: groups as Tensor[] }];
    for (const g of groups as ParamGroupInput[]) this.addParamGroup(g);
  }

  /**
   * Performs one optimization step. With a closure, calls it first (with gradients enabled) and
   * returns its loss. The update runs under noGrad, in place on the parameters; parameters whose
   * grad is null are skipped.
   */
  step<L extends Tensor | number>(closure?: Closure<L>): L | undefined {
    let loss: L | undefined;
    if (closure !== undefined) loss = enableGrad(closure);
    noGrad(() => {
      for (const group of this.paramGroups) tidy(() => this.updateGroup(group));
    });
    return loss;
  }

  /** One group's update (called under noGrad inside tidy(): keep() any new state tensor). */
  protected abstract updateGroup(group: G): void;

  /** The state of p, created empty on first use (PyTorch's defaultdict). */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** A new state tensor that survives the step's tidy() scope. */
  protected keepState(t: Tensor): Tensor {
    return keep(t);
  }

  /**
   * Sets the gradients of all optimized parameters to zero, or to null with setToNone. PyTorch 1.13's
   * default is setToNone=false (2.0 changed it to true); dl follows 1.13.
   */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const setToNone = options.setToNone ?? false;
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          if (setToNone) {
            p.grad = null;
            continue;
          }
          if (g.gradFn !== null) g.detach_();
          else if (g.requiresGrad) g.requiresGrad_(false);
          g.zero_();
        }
      }
    });
  }

  /** Adds a parameter group (options not given take the optimizer's defaults). */
  addParamGroup(paramGroup: ParamGroupInput): void {
    const name = this.constructor.name;
    if (paramGroup === null || typeof paramGroup !== "object" || !("params" in paramGroup)) {
      throw new ArgumentError(`${name}.addParamGroup`, "param group must be an object with a 'params' entry");
    }
    const raw = paramGroup.params;
    const params = raw instanceof Tensor ? [raw] : Array.from(raw as Iterable<Tensor>);
    for (const p of params) {
      if (!(p instanceof Tensor))
        throw new ArgumentError(`${name}.addParamGroup`, `optimizer can only optimize Tensors, but one of the params is ${typeof p}`);
      if (!(p.isLeaf || p.retainsGrad)) throw new ArgumentError(`${name}.addParamGroup`, "can't optimize a non-leaf Tensor");
    }
    const group: Record<string, unknown> = { ...paramGroup, params };
    for (const [key, value] of Object.entries(this.defaults)) {
      if (value === required && !(key in group)) {
        throw new ArgumentError(name, `parameter group didn't specify a value of required optimization parameter ${key}`);
      }
      if (!(key in group) || group[key] === undefined) group[key] = value;
    }
    if (new Set(params).size !== params.length) {
      console.warn(`${name}: optimizer contains a parameter group with duplicate parameters; in future, this will cause an error`);
    }
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p)))
      throw new ArgumentError(`${name}.addParamGroup`, "some parameters appear in more than one parameter group");
    this.paramGroups.push(group as G);
  }

  /**
   * PyTorch's repr: "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n ...)",
   * each group's options under PyTorch's (snake_case) names, sorted, with the options PyTorch has
   * and dl does not implement (foreach, ...) at their defaults, as stateDict() reports them.
   */
  toString(): string {
    let out = `${this.constructor.name} (`;
    for (const [i, group] of this.stateDict().param_groups.entries()) {
      out += `\nParameter Group ${i}\n`;
      for (const key of Object.keys(group).sort()) if (key !== "params") out += `    ${key}: ${pyStr(group[key])}\n`;
    }
    return `${out})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /**
   * PyTorch's state_dict(): `{ state: { [index]: {...} }, param_groups: [{ lr, ..., params: [0, 1] }] }`.
   * Parameters are numbered in group order; option keys are snake_case as in PyTorch (with the
   * options dl does not implement, such as foreach, at PyTorch's defaults). State tensors are the
   * live state (not copies), as in PyTorch; numeric steps PyTorch keeps as tensors become 0-dim
   * float32 tensors.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    let next = 0;
    const paramGroups = this.paramGroups.map((group) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(group)) {
        if (k !== "params") packed[toSnake(k)] = Array.isArray(v) ? [...v] : v;
      }
      for (const [k, v] of Object.entries(this.pytorchGroupExtras)) if (!(k in packed)) packed[k] = v;
      const ids: number[] = [];
      for (const p of group.params) {
        if (!index.has(p)) index.set(p, next++);
        ids.push(index.get(p) as number);
      }
      packed.params = ids;
      return packed;
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const out: ParamState = {};
      for (const [k, v] of Object.entries(s)) out[k] = this.saveStateValue(k, v, p);
      state[i] = out;
    }
    return { state, param_groups: paramGroups };
  }

  /** A state entry as stateDict() reports it. */
  protected saveStateValue(key: string, value: unknown, param: Tensor): unknown {
    if (typeof value === "number" && this.tensorStateKeys.includes(key)) return tensor(value, { dtype: "float32", device: param.device });
    return value;
  }

  /**
   * A state entry read from a state dict: a copy, floating tensors cast to the parameter's dtype and
   * device; step counters (tensors in PyTorch >= 1.12 for most optimizers) become numbers.
   */
  protected loadStateValue(key: string, value: unknown, param: Tensor): unknown {
    if (value instanceof Tensor) {
      if ((key === "step" || this.tensorStateKeys.includes(key)) && value.numel() === 1) return Number(value.item());
      let v = value.detach().clone();
      if (key !== "step" && param.isFloatingPoint() && isFloating(v.dtype)) v = v.to(param.dtype);
      return keep(v.to(param.device));
    }
    if (Array.isArray(value)) return value.map((v) => this.loadStateValue("", v, param));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.loadStateValue(k, v, param)]));
    }
    return value;
  }

  /**
   * Loads a state dict from stateDict() (or PyTorch's, converted to JS values): the groups' options
   * are replaced by the saved ones and the state is copied onto this optimizer's parameters.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    const saved = stateDict.param_groups;
    if (!Array.isArray(saved) || saved.length !== this.paramGroups.length) {
      throw new ArgumentError(
        name,
        `loaded state dict has a different number of parameter groups (${saved?.length} vs ${this.paramGroups.length})`,
      );
    }
    saved.forEach((g, i) => {
      const n = (g.params as unknown[] | undefined)?.length;
      const own = (this.paramGroups[i] as G).params.length;
      if (n !== own)
        throw new ArgumentError(
          name,
          `loaded state dict contains a parameter group (${i}) of ${n} parameters that doesn't match the size of optimizer's group (${own})`,
        );
    });
    const idMap = new Map<number, Tensor>();
    saved.forEach((g, i) => {
      (g.params as number[]).forEach((id, j) => {
        idMap.set(Number(id), (this.paramGroups[i] as G).params[j] as Tensor);
      });
    });
    const state = new Map<Tensor, ParamState>();
    for (const [k, v] of Object.entries(stateDict.state ?? {})) {
      const p = idMap.get(Number(k));
      if (p === undefined) continue;
      const s: ParamState = {};
      for (const [key, value] of Object.entries(v)) s[key] = this.loadStateValue(key, value, p);
      state.set(p, s);
    }
    this.paramGroups = saved.map((g, i) => {
      const group: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k === "params" || k in this.pytorchGroupExtras) continue;
        group[toCamel(k)] = Array.isArray(v) ? [...v] : v;
      }
      group.params = (this.paramGroups[i] as G).params;
      return group as G;
    });
    this.state = state;
  }
}

/**
 * A value as PyTorch's messages print it (Python's str.format of what the user passed): integral
 * numbers as Python ints ("-1"), other numbers as Python floats ("0.5", "1e-05", "nan"), strings
 * quoted. With `float`, integral numbers print as floats ("1.0"): for options that are floats in
 * PyTorch's signatures, such as betas.
 */
export function pyRepr(value: unknown, float = false): string {
  if (typeof value === "string") return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, float)).join(", ")}]`;
  if (typeof value !== "number") return String(value);
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return float ? `${value}.0` : String(value);
  // Python switches to exponent notation below 1e-4 and from 1e16, with at least two exponent digits.
  const [m, e] = value.toExponential().split("e") as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(value);
}

/** Python's str() of an option value in a repr: True/False, None, tuples as "(0.9, 0.999)", strings bare. */
export function pyStr(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `(${value.map(pyStr).join(", ")}${value.length === 1 ? "," : ""})`;
  return pyRepr(value);
}

/**
 * PyTorch's check of a non-negative option, with its message: "Invalid learning rate: -1" for the
 * learning rate, "Invalid <name> value: x" for the others (epsilon, momentum, weight_decay, ...).
 * A value that is not a number (a string from a config file) is rejected too.
 */
export function checkNonNegative(op: string, what: string, value: unknown): void {
  const label = what === "learning rate" ? what : `${what} value`;
  if (typeof value !== "number") throw new ArgumentError(op, `Invalid ${label}: ${pyRepr(value)} (expected a number)`);
  if (!(value >= 0)) throw new ArgumentError(op, `Invalid ${label}: ${pyRepr(value)}`);
}

/** PyTorch's betas check: each in [0, 1), "Invalid beta parameter at index 0: 1.0". */
export function checkBetas(op: string, betas: unknown): void {
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === "number")) {
    throw new ArgumentError(op, `Invalid betas: ${pyRepr(betas, true)} (expected a pair of numbers)`);
  }
  betas.forEach((b: number, i) => {
    if (!(b >= 0 && b < 1)) throw new ArgumentError(op, `Invalid beta parameter at index ${i}: ${pyRepr(b, true)}`);
  });
}
