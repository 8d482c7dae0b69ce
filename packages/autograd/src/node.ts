import { type DType, DLError, type Storage, Tensor, gradState } from "@dl/tensor";

/** What a backward formula sees. */
export interface BackwardContext {
  /** Saved inputs (only those the formula asked to save; others are undefined). */
  readonly inputs: readonly (Tensor | undefined)[];
  /** The saved output, when the formula asked for it. */
  readonly output: Tensor | undefined;
  readonly args: Readonly<Record<string, unknown>>;
  readonly inputShapes: readonly (readonly number[])[];
  readonly inputDtypes: readonly DType[];
  readonly inputDevices: readonly string[];
  /** Which inputs need a gradient (skip work for the others). */
  readonly needsGrad: readonly boolean[];
}

export interface Formula {
  /** PyTorch's grad_fn name, e.g. "MulBackward0". */
  name: string;
  /** A name that depends on the call (copy is CloneBackward0 when nothing is converted). */
  nameFor?: (inputs: readonly Tensor[], output: Tensor, args: Readonly<Record<string, unknown>>) => string;
  /**
   * Inputs to keep for backward: all, none, a list of positions, or a function of which inputs
   * need a gradient (mul keeps b only when a needs a gradient, as PyTorch does, so that
   * x.mul_(2) on a non-leaf does not save the x it overwrites).
   */
  saveInputs?: boolean | readonly number[] | ((needsGrad: readonly boolean[], args: Readonly<Record<string, unknown>>) => boolean | readonly number[]);
  saveOutput?: boolean | ((args: Readonly<Record<string, unknown>>) => boolean);
  /** Gradients for each input, already reduced to the input's shape (null: no gradient). */
  backward(ctx: BackwardContext, grad: Tensor): (Tensor | null)[];
  /** Frees state the formula holds outside the node (custom functions' saved tensors). */
  release?(): void;
  /** Tensors the formula holds outside the node, for tidy() to keep alongside the graph. */
  saved?(): readonly Tensor[];
}

/** The edge to where an input's gradient goes: the node that produced it, or its leaf accumulator. */
export type Edge = Node | AccumulateGrad;

/** Holds a leaf so backward can accumulate into leaf.grad. */
export class AccumulateGrad {
  constructor(readonly variable: Tensor) {}
  name(): string {
    return "torch::autograd::AccumulateGrad";
  }
  get nextFunctions(): [] {
    return [];
  }
}

const accumulators = new WeakMap<Tensor, AccumulateGrad>();

export function accumulatorOf(leaf: Tensor): AccumulateGrad {
  let a = accumulators.get(leaf);
  if (!a) {
    a = new AccumulateGrad(leaf);
    accumulators.set(leaf, a);
  }
  return a;
}

/**
 * A saved tensor keeps its autograd identity (so createGraph can differentiate through it): a
 * leaf is kept as itself (gradients must reach its .grad), a non-leaf as a private view sharing
 * its grad_fn. tidy() keeps the handles of graphs reachable from what it returns and frees the rest.
 */
export function saveHandle(t: Tensor): Tensor {
  if (t.gradFn === null && t.requiresGrad) return t;
  const h = t.detach();
  if (t.gradFn !== null) {
    h.gradFn = t.gradFn;
    h._requiresGrad = true;
  }
  return h;
}

/** One recorded operation (PyTorch's grad_fn). */
export class Node {
  private label: string;
  readonly next: (Edge | null)[];
  private savedInputs: (Tensor | undefined)[];
  private savedOutput: Tensor | undefined;
  private savedVersions: [Tensor, number][] = [];
  private freed = false;
  /** Whether backward needs anything saved; nodes that saved nothing can run again after release (as in PyTorch). */
  private readonly savesTensors: boolean;
  readonly args: Readonly<Record<string, unknown>>;
  private argHandles: Tensor[];
  private owned: Set<Tensor> = new Set();
  readonly inputShapes: (readonly number[])[];
  readonly inputDtypes: DType[];
  readonly inputDevices: string[];
  readonly outputShape: readonly number[];
  readonly outputDtype: DType;
  /** Hooks registered on the output after it was made, kept here as PyTorch keeps them on grad_fn. */
  hooks: ((g: Tensor) => Tensor | undefined | void)[] = [];
  /** The output, when it asked to retain its gradient (the graph holds outputs only then). */
  retained: Tensor | null = null;

  /** Tensor.registerHook on this node's output. */
  addHook(hook: (g: Tensor) => Tensor | undefined | void): { remove(): void } {
    this.hooks.push(hook);
    return {
      remove: () => {
        this.hooks = this.hooks.filter((h) => h !== hook);
      },
    };
  }

  /** Tensor.retainGrad on this node's output. */
  retainFor(t: Tensor): void {
    this.retained = t;
  }

  constructor(
    readonly formula: Formula,
    inputs: readonly Tensor[],
    output: Tensor,
    args: Readonly<Record<string, unknown>>,
  ) {
    this.label = formula.nameFor ? formula.nameFor(inputs, output, args) : formula.name;
    // Tensors among the args (masks, indices) are saved like inputs.
    const ownArgs: Record<string, unknown> = {};
    const argHandles: Tensor[] = [];
    for (const k in args) {
      const v = args[k];
      if (v instanceof Tensor) {
        const h = saveHandle(v);
        argHandles.push(h);
        ownArgs[k] = h;
      } else ownArgs[k] = v;
    }
    this.args = ownArgs;
    this.argHandles = argHandles;
    const rule = formula.saveInputs ?? false;
    const save = typeof rule === "function" ? rule(inputs.map((t) => t.requiresGrad), args) : rule;
    const n = inputs.length;
    this.next = new Array(n);
    this.savedInputs = new Array(n);
    this.inputShapes = new Array(n);
    this.inputDtypes = new Array(n);
    this.inputDevices = new Array(n);
    const owned: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const t = inputs[i] as Tensor;
      this.next[i] = t.requiresGrad ? (t.gradFn instanceof Node ? t.gradFn : accumulatorOf(t)) : null;
      this.inputShapes[i] = t.shape;
      this.inputDtypes[i] = t.dtype;
      this.inputDevices[i] = t.device;
      if (save === true || (save !== false && save.includes(i))) {
        const h = saveHandle(t);
        this.savedInputs[i] = h;
        this.savedVersions.push([h, t._storage.version]);
        if (h !== t) owned.push(h);
      }
    }
    if (typeof formula.saveOutput === "function" ? formula.saveOutput(args) : formula.saveOutput) {
      // The output's grad_fn is this node (attached right after construction).
      const h = output.detach();
      h.gradFn = this;
      h._requiresGrad = true;
      this.savedOutput = h;
      this.savedVersions.push([h, output._storage.version]);
      owned.push(h);
    }
    for (const h of argHandles) if (!inputs.includes(h)) owned.push(h);
    this.savesTensors = this.savedVersions.length > 0 || argHandles.length > 0;
    this.owned = new Set(owned);
    this.outputShape = output.shape;
    this.outputDtype = output.dtype;
  }

  name(): string {
    return this.label;
  }

  /** @internal used by labelGrad for composite ops. */
  rename(name: string, inputs?: readonly Tensor[]): void {
    this.label = name;
    // A composite op (mean = sum / n) shows the edges to its own inputs, as PyTorch's single node would.
    if (inputs) this.shownNext = inputs.map((t) => (t.requiresGrad ? (t.gradFn instanceof Node ? t.gradFn : accumulatorOf(t)) : null));
  }

  private shownNext: (Edge | null)[] | null = null;

  /** PyTorch's next_functions: [edge, 0] per input. */
  get nextFunctions(): [Edge | null, number][] {
    return (this.shownNext ?? this.next).map((e) => [e, 0]);
  }

  /** Runs the formula; checks that saved tensors were not modified in place and the graph is not freed. */
  apply(grad: Tensor): (Tensor | null)[] {
    if (this.freed && this.savesTensors) {
      throw new DLError(
        "backward",
        "trying to backward through the graph a second time (or directly access saved tensors after they have already been freed); specify retainGraph: true if you need to backward twice",
      );
    }
    for (const [h, v] of this.savedVersions) {
      if (h._storage.version !== v) {
        throw new DLError(
          "backward",
          `one of the variables needed for gradient computation has been modified by an inplace operation: [${h.dtype} [${h.shape.join(", ")}]] is at version ${h._storage.version}; expected version ${v} instead (output of ${this.label})`,
        );
      }
    }
    return this.formula.backward(
      {
        inputs: this.savedInputs,
        output: this.savedOutput,
        args: this.args,
        inputShapes: this.inputShapes,
        inputDtypes: this.inputDtypes,
        inputDevices: this.inputDevices,
        needsGrad: this.next.map((e) => e !== null),
      },
      grad,
    );
  }

  /**
   * Called just before an in-place write into `storage` that stores this node's output (x.mul_(y)
   * computed mul(x, y) here): saved inputs aliasing that storage are replaced by copies of their
   * current values, as PyTorch saves the original self of in-place ops.
   */
  preserveSavedFrom(storage: Storage): void {
    const prevMode = gradState.enabled;
    gradState.enabled = false;
    try {
      this.savedInputs = this.savedInputs.map((h) => {
        if (!h || h._storage !== storage) return h;
        const copy = h.clone();
        if (h.requiresGrad) {
          copy.gradFn = h.gradFn;
          copy._requiresGrad = true;
        }
        this.savedVersions = this.savedVersions.map(([t, v]) => (t === h ? [copy, copy._storage.version] : [t, v]));
        if (this.owned.delete(h)) h.dispose();
        this.owned.add(copy);
        return copy;
      });
    } finally {
      gradState.enabled = prevMode;
    }
  }

  /** Every tensor this node holds for backward (tidy() keeps them while the graph is reachable). */
  savedTensors(): Tensor[] {
    const all = [...this.savedInputs, this.savedOutput, ...this.argHandles, ...(this.formula.saved?.() ?? [])];
    return all.filter((h): h is Tensor => h !== undefined);
  }

  private ownedHandles(): Tensor[] {
    const all = [...this.savedInputs, this.savedOutput, ...this.argHandles];
    return all.filter((h): h is Tensor => h !== undefined && this.owned.has(h));
  }

  /** Frees saved tensors after a backward without retainGraph. */
  release(): void {
    if (this.freed) return;
    this.freed = true;
    for (const h of this.ownedHandles()) h.dispose();
    this.formula.release?.();
    this.argHandles = [];
    this.savedInputs = [];
    this.savedOutput = undefined;
  }

  toString(): string {
    return `<${this.label}>`;
  }
}

export function isNode(x: unknown): x is Node {
  return x instanceof Node;
}

export { Tensor };

/** Makes `output` the result of a recorded operation. */
export function attachNode(formula: Formula, inputs: readonly Tensor[], output: Tensor, args: Readonly<Record<string, unknown>>): void {
  output.gradFn = new Node(formula, inputs, output, args);
  output._requiresGrad = true;
}
