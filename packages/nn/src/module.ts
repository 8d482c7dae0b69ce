import { defineFunction, noGrad } from "@dl/autograd";
import { type DType, DLError, ShapeError, Tensor, type ToOptions, fmtShape, isDType, isFloating, keep } from "@dl/tensor";
import { Parameter } from "./parameter.js";

export type StateDict = Record<string, Tensor>;

export interface RemovableHandle {
  remove(): void;
}

type ForwardPreHook = (module: Module, args: unknown[]) => unknown[] | undefined | void;
type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
type BackwardHook = (module: Module, gradInput: (Tensor | null)[], gradOutput: (Tensor | null)[]) => (Tensor | null)[] | undefined | void;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A module is callable: `model(x)` is `model.call(x)`, forward with hooks (PyTorch's `module(x)`). */
export interface Module {
  // biome-ignore lint/style/useShorthandFunctionType: an interface merges with the class; a type alias cannot
  (...args: Parameters<this["forward"]>): ReturnType<this["forward"]>;
}

/**
 * Base class of every layer and model (torch.nn.Module).
 *
 * Submodules and Parameters are found by reflection over the instance's own enumerable properties,
 * in the order they were assigned: `this.fc1 = new Linear(4, 8)` in a constructor registers fc1, as
 * PyTorch's __setattr__ does. Buffers are plain tensors and need registerBuffer(). Call a module
 * as `model(x)`, as in PyTorch, or `model.call(x)`: both run hooks around forward().
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export abstract class Module {
  // Set in the constructor, on the callable instance it returns (initializers would go to `this`).
  /** Whether the module is in training mode (dropout active, batch norm updating statistics). */
  declare training: boolean;
  private declare _bufferNames: Set<string>;
  private declare _nonPersistent: Set<string>;
  private declare _preHooks: ForwardPreHook[];
  private declare _hooks: ForwardHook[];
  private declare _backwardHooks: BackwardHook[];

  /**
   * The instance is an arrow function whose prototype is the subclass's, so that `model(x)` works
   * while `instanceof`, methods and class fields (which subclasses define on the returned object)
   * behave as on any object. Arrow functions have no `prototype`, `arguments` or `caller`; their
   * `name` and `length` are removed so that a module may use those names.
   */
  constructor() {
    const self = ((...args: unknown[]) => Reflect.apply(self.call, self, args)) as unknown as Module;
    delete (self as { name?: string }).name;
    delete (self as { length?: number }).length;
    Object.setPrototypeOf(self, new.target.prototype);
    self.training = true;
    self._bufferNames = new Set();
    self._nonPersistent = new Set();
    self._preHooks = [];
    self._hooks = [];
    self._backwardHooks = [];
    // biome-ignore lint/correctness/noConstructorReturn: the callable instance (see above)
    return self;
  }

  abstract forward(...args: never[]): unknown;

  /** Runs forward with hooks: module(x) in PyTorch. */
  call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]> {
    if (globalPreHooks.length || globalHooks.length) return this.callWithGlobalHooks(args) as ReturnType<this["forward"]>;
    return this.runHooked(args) as ReturnType<this["forward"]>;
  }

  /** forward with this module's own hooks. */
  private runHooked(args: unknown[]): unknown {
    let a: unknown[] = args;
    for (const h of this._preHooks) {
      const r = h(this, a);
      if (r !== undefined) a = Array.isArray(r) ? r : [r];
    }
    if (this._backwardHooks.length) a = this.hookInputs(a);
    let out = (this.forward as (...x: unknown[]) => unknown)(...a);
    for (const h of this._hooks) {
      const r = h(this, a, out);
      if (r !== undefined) out = r;
    }
    if (this._backwardHooks.length && out instanceof Tensor && out.requiresGrad) out = this.hookOutput(out);
    return out;
  }

  /** call() with the global hooks of registerModuleForwardPreHook / registerModuleForwardHook around it. */
  private callWithGlobalHooks(args: unknown[]): unknown {
    let a = args;
    for (const h of globalPreHooks) {
      const r = h(this, a);
      if (r !== undefined) a = Array.isArray(r) ? r : [r];
    }
    let out = this.runHooked(a);
    for (const h of globalHooks) {
      const r = h(this, a, out);
      if (r !== undefined) out = r;
    }
    return out;
  }

  // ---- registration ----

  private ownEntries(): [string, unknown][] {
    return Object.entries(this).filter(([k]) => !k.startsWith("_") && k !== "training");
  }

  /** Adds (or replaces) a parameter; null declares an absent optional parameter (bias=false). */
  registerParameter(name: string, param: Parameter | null): void {
    checkName("registerParameter", name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new DLError("registerParameter", `cannot assign an object that is not a Parameter to parameter '${name}' (wrap it: new Parameter(t))`);
    }
    (this as Record<string, unknown>)[name] = param;
  }

  /** Adds a buffer: state that is saved in stateDict (unless persistent is false) but not trained. */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } = {}): void {
    checkName("registerBuffer", name);
    this._bufferNames.add(name);
    if (options.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    // Module state outlives any tidy() scope it happens to be created in.
    (this as Record<string, unknown>)[name] = tensor === null ? null : keep(tensor);
  }

  registerModule(name: string, module: Module | null): void {
    checkName("registerModule", name);
    (this as Record<string, unknown>)[name] = module;
  }

  /** PyTorch's add_module. */
  addModule(name: string, module: Module | null): void {
    this.registerModule(name, module);
  }

  // ---- traversal ----

  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of this.ownEntries()) if (v instanceof Module) yield [k, v];
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** Every module in the tree (self first), each once. */
  *namedModules(prefix = "", memo = new Set<Module>()): Generator<[string, Module]> {
    if (memo.has(this)) return;
    memo.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name, memo);
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Own parameters (not recursing), in registration order. */
  private *ownParameters(): Generator<[string, Parameter]> {
    for (const [k, v] of this.ownEntries()) if (v instanceof Parameter) yield [k, v];
  }

  private *ownBuffers(): Generator<[string, Tensor]> {
    for (const name of this._bufferNames) {
      const v = (this as Record<string, unknown>)[name];
      if (v instanceof Tensor) yield [name, v];
    }
  }

  *namedParameters(options: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const mods = options.recurse === false ? [[options.prefix ?? "", this] as [string, Module]] : this.namedModules(options.prefix ?? "");
    for (const [p, m] of mods) {
      for (const [k, v] of m.ownParameters()) {
        if (seen.has(v)) continue;
        seen.add(v);
        yield [p ? `${p}.${k}` : k, v];
      }
    }
  }

  *parameters(recurse = true): Generator<Parameter> {
    for (const [, p] of this.namedParameters({ recurse })) yield p;
  }

  *namedBuffers(options: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Tensor]> {
    const mods = options.recurse === false ? [[options.prefix ?? "", this] as [string, Module]] : this.namedModules(options.prefix ?? "");
    for (const [p, m] of mods) for (const [k, v] of m.ownBuffers()) yield [p ? `${p}.${k}` : k, v];
  }

  *buffers(recurse = true): Generator<Tensor> {
    for (const [, b] of this.namedBuffers({ recurse })) yield b;
  }

  /** The submodule at a dotted path ("encoder.layers.0"). */
  getSubmodule(target: string): Module {
    if (target === "") return this;
    let m: Module = this;
    for (const part of target.split(".")) {
      const next = (m as unknown as Record<string, unknown>)[part];
      if (!(next instanceof Module)) throw new DLError("getSubmodule", `${m.constructor.name} has no submodule '${part}' (looking up '${target}')`);
      m = next;
    }
    return m;
  }

  /** Number of parameters (all, or only trainable ones). */
  numParameters(options: { onlyTrainable?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!options.onlyTrainable || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---- modes and conversion ----

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Applies fn to every submodule (children first) and then to this module. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Sets requiresGrad on every parameter (freezing with false). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Zeroes gradients in place (PyTorch 1.13's default), or drops them with setToNone. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      if (p.grad === null) continue;
      if (options.setToNone ?? false) p.grad = null;
      else noGrad(() => (p.grad as Tensor).detach_().zero_());
    }
  }

  /**
   * Moves and/or casts parameters and buffers in place: to("gpu"), to("float64"),
   * to({ device, dtype }). Dtype casts apply to floating point tensors only, as in PyTorch.
   */
  to(target: string | ToOptions): this {
    const opts: ToOptions = typeof target === "string" ? (isDType(target) ? { dtype: target } : { device: target }) : target;
    const convert = (t: Tensor): Tensor => {
      const dtype: DType | undefined = opts.dtype && isFloating(t.dtype) ? opts.dtype : undefined;
      return t.to({ device: opts.device, dtype });
    };
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [, p] of m.ownParameters()) {
          const moved = convert(p);
          if (moved !== p) p.setData(moved);
          if (p.grad) p.grad = keep(convert(p.grad));
        }
        for (const [k, b] of m.ownBuffers()) (m as unknown as Record<string, unknown>)[k] = keep(convert(b));
      }
    });
    return this;
  }

  float(): this {
    return this.to("float32");
  }
  double(): this {
    return this.to("float64");
  }
  half(): this {
    return this.to("float16");
  }
  bfloat16(): this {
    return this.to("bfloat16");
  }
  cpu(): this {
    return this.to("cpu");
  }

  // ---- state dict ----

  /** Parameters and persistent buffers by PyTorch key ("fc1.weight"), detached, sharing storage. */
  stateDict(options: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules(options.prefix ?? "")) {
      const key = (k: string) => (prefix ? `${prefix}.${k}` : k);
      for (const [k, p] of m.ownParameters()) out[key(k)] = options.keepVars ? p : p.detach();
      for (const [k, b] of m.ownBuffers()) if (!m._nonPersistent.has(k)) out[key(k)] = options.keepVars ? b : b.detach();
    }
    return out;
  }

  /**
   * Copies a state dict into this module's parameters and buffers. Everything is validated first
   * (missing and unexpected keys when strict, shape mismatches always); nothing is written when a
   * check fails.
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const given = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = this.stateDict({ keepVars: true });
    const missingKeys = Object.keys(own).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in own));
    const problems: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const v = given.get(k);
      if (v === undefined) continue;
      if (!(v instanceof Tensor)) problems.push(`value for '${k}' is not a Tensor`);
      else if (v.shape.length !== t.shape.length || v.shape.some((s, i) => s !== t.shape[i])) {
        problems.push(`size mismatch for ${k}: copying a param with shape ${fmtShape(v.shape)}, the shape in current model is ${fmtShape(t.shape)}`);
      }
    }
    if (strict) {
      if (missingKeys.length) problems.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
      if (unexpectedKeys.length) problems.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    if (problems.length) {
      throw new ShapeError("loadStateDict", `error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join("\n\t")}`);
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const v = given.get(k);
        if (v) t.copy_(v);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- hooks ----

  /** hook(module, args) runs before forward; returning an array replaces the arguments. */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    this._preHooks.push(hook);
    return {
      remove: () => {
        this._preHooks = this._preHooks.filter((h) => h !== hook);
      },
    };
  }

  /** hook(module, args, output) runs after forward; returning a value replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    this._hooks.push(hook);
    return {
      remove: () => {
        this._hooks = this._hooks.filter((h) => h !== hook);
      },
    };
  }

  /**
   * hook(module, gradInput, gradOutput) runs when the gradients w.r.t. the module's tensor inputs
   * are computed; returning an array replaces gradInput.
   */
  registerFullBackwardHook(hook: BackwardHook): RemovableHandle {
    this._backwardHooks.push(hook);
    return {
      remove: () => {
        this._backwardHooks = this._backwardHooks.filter((h) => h !== hook);
      },
    };
  }

  // Backward hooks: identity functions around the inputs and the output capture the gradients.
  private pendingGradOutput: (Tensor | null)[] = [];

  private hookInputs(args: unknown[]): unknown[] {
    // The first tensor input that requires grad carries gradInput (single-input modules, as most are).
    const at = args.findIndex((a) => a instanceof Tensor && a.requiresGrad);
    if (at < 0) return args;
    const identity = defineFunction("BackwardHookFunction", {
      forward: (_ctx, ...xs: Tensor[]) => xs[0] as Tensor,
      backward: (_ctx, g) => {
        let gradInput: (Tensor | null)[] = [g];
        for (const h of this._backwardHooks) {
          const r = h(this, gradInput, this.pendingGradOutput);
          if (r) gradInput = r;
        }
        return gradInput;
      },
    });
    return args.map((a, i) => (i === at ? identity(a as Tensor) : a));
  }

  private hookOutput(out: Tensor): Tensor {
    const capture = defineFunction("BackwardHookFunction", {
      forward: (_ctx, x: Tensor) => x,
      backward: (_ctx, g) => {
        this.pendingGradOutput = [g];
        return [g];
      },
    });
    return capture(out);
  }

  // ---- printing ----

  /** Extra text inside the parentheses of this module's line (in_features=10, ...). */
  extraRepr(): string {
    return "";
  }

  /** console.log(model) in Node prints the PyTorch-style tree, not the callable's internals. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  toString(): string {
    const lines: string[] = [];
    for (const [name, child] of this.namedChildren()) {
      const sub = child.toString().split("\n").join("\n  ");
      lines.push(`(${name}): ${sub}`);
    }
    const extra = this.extraRepr();
    const head = `${this.constructor.name}(`;
    if (!lines.length) return `${head}${extra})`;
    const body = [...(extra ? extra.split("\n") : []), ...lines].map((l) => `  ${l}`).join("\n");
    return `${head}\n${body}\n)`;
  }
}

const globalPreHooks: ForwardPreHook[] = [];
const globalHooks: ForwardHook[] = [];

function removable<T>(list: T[], hook: T): RemovableHandle {
  list.push(hook);
  return {
    remove: () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    },
  };
}

/**
 * torch.nn.modules.module.register_module_forward_pre_hook: a hook run before every module's
 * forward (before the module's own pre-hooks), e.g. for profilers and tracers.
 */
export function registerModuleForwardPreHook(hook: ForwardPreHook): RemovableHandle {
  return removable(globalPreHooks, hook);
}

/** torch.nn.modules.module.register_module_forward_hook: a hook run after every module's forward (after its own hooks). */
export function registerModuleForwardHook(hook: ForwardHook): RemovableHandle {
  return removable(globalHooks, hook);
}

function checkName(op: string, name: string): void {
  if (name === "" || name.includes(".")) throw new DLError(op, `name can't be empty or contain "." (got "${name}")`);
  if (name.startsWith("_")) throw new DLError(op, `names starting with "_" are reserved for internal state (got "${name}")`);
}
