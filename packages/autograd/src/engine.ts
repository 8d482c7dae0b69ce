import {
  DLError,
  ShapeError,
  type Tensor,
  binaryOp,
  fmtShape,
  gradState,
  installGradRecorder,
  keep,
  onesLike,
  reduceOp,
  tidyOwned,
  unaryOp,
} from "@dl/tensor";
import { formulas } from "./formulas/index.js";
import { rebase } from "./inplace.js";
import { type AccumulateGrad, type Edge, Node, accumulatorOf, attachNode } from "./node.js";

/**
 * The tape: ops report to `record`, which attaches a Node to their output; `runBackward` walks the
 * nodes in reverse topological order. Importing @dl/autograd installs the recorder.
 */

let anomaly = false;

/** torch.autograd.set_detect_anomaly: backward names the first op whose gradient has NaN/inf. */
export function setDetectAnomaly(enabled: boolean): void {
  anomaly = enabled;
}

export function isAnomalyEnabled(): boolean {
  return anomaly;
}

function record(op: string, inputs: readonly Tensor[], output: Tensor, args: Readonly<Record<string, unknown>>): void {
  const f = formulas[op];
  if (!f) throw new DLError(op, `no gradient formula is registered for primitive '${op}'`);
  attachNode(f, inputs, output, args);
}

function runHooks(hooks: readonly ((g: Tensor) => Tensor | undefined | void)[], g: Tensor): Tensor {
  let cur = g;
  for (const h of hooks) {
    const r = h(cur);
    if (r) cur = r;
  }
  return cur;
}

const binaryAdd = (a: Tensor, b: Tensor) => binaryOp("add", a, b);

function hasNonFinite(t: Tensor): boolean {
  const bad = reduceOp("any", unaryOp("logicalNot", unaryOp("isfinite", t, "bool"), "bool"), undefined, false, "bool");
  const r = bad.item() === true;
  bad.dispose();
  return r;
}

export interface RunOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
  /** autograd.grad: capture gradients of these tensors instead of accumulating into leaves' .grad. */
  capture?: readonly Tensor[];
}

const builtinFormulas = new Set<unknown>(Object.values(formulas));

/** What a profiler sees of backward: each node's formula run, by PyTorch's grad_fn name. */
export interface BackwardObserver {
  begin(name: string): void;
  end(name: string): void;
}

let observer: BackwardObserver | null = null;

/** Installs (or with null removes) the backward observer; returns the previous one. */
export function setBackwardObserver(o: BackwardObserver | null): BackwardObserver | null {
  const prev = observer;
  observer = o;
  return prev;
}

/** Backpropagates from roots with the given gradients. Returns captured gradients when asked. */
export function runBackward(roots: readonly Tensor[], grads: readonly Tensor[], options: RunOptions): (Tensor | undefined)[] {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const capture = options.capture;
  const captured = new Map<Tensor, Tensor>();
  // grad() w.r.t. non-leaves: their gradient is what reaches the node that produced them.
  const captureByNode = capture ? new Map(capture.filter((t) => t.gradFn instanceof Node).map((t) => [t.gradFn as Node, t])) : null;
  const prevMode = gradState.enabled;
  gradState.enabled = createGraph;
  // Gradients this backward made (formula results, sums) are freed as soon as they are consumed,
  // so a step's backward does not leave its intermediates to the garbage collector (GPU textures,
  // the CPU pool). Under createGraph they are graph values that may be shared: left alone.
  const made = new Set<Tensor>();
  const consumed = (g: Tensor, ...stillUsed: readonly (Tensor | null | undefined)[]) => {
    if (!createGraph && !stillUsed.includes(g) && made.delete(g)) g.dispose();
  };
  try {
    const pending = new Map<Node, Tensor>();
    const leafGrads = new Map<AccumulateGrad, Tensor>();
    const sum = (prev: Tensor | undefined, g: Tensor): Tensor => {
      if (prev === undefined) return g;
      const s = binaryAdd(prev, g);
      made.add(s);
      consumed(prev, g);
      consumed(g, prev);
      return s;
    };
    const deliver = (edge: Edge, g: Tensor) => {
      if (edge instanceof Node) pending.set(edge, sum(pending.get(edge), g));
      else leafGrads.set(edge, sum(leafGrads.get(edge), g));
    };
    const starts: Node[] = [];
    roots.forEach((r, i) => {
      const g = grads[i] as Tensor;
      if (r.gradFn instanceof Node) {
        deliver(r.gradFn, g);
        starts.push(r.gradFn);
      } else if (r.requiresGrad) deliver(accumulatorOf(r), g);
    });
    for (const node of topoOrder(starts)) {
      let g = pending.get(node);
      if (g === undefined) continue;
      pending.delete(node);
      if (node.hooks.length) g = runHooks(node.hooks, g);
      const out = node.retained;
      if (out !== null && !capture) out.grad = ownGrad(out, out.grad ? binaryAdd(out.grad, g) : g.clone());
      const wanted = captureByNode?.get(node);
      if (wanted) captured.set(wanted, g);
      const observed = observer;
      observed?.begin(node.name());
      let inputGrads: (Tensor | null)[];
      // Custom functions' backward is user code that may keep its gradient (rnn-ops' split hub
      // does): only the built-in formulas' gradients are freed.
      if (createGraph || !builtinFormulas.has(node.formula)) {
        made.delete(g);
        inputGrads = node.apply(g);
      } else {
        // The formula's own temporaries are freed here; what it returns is recorded as made.
        const [grads, owned] = tidyOwned(() => node.apply(g as Tensor));
        inputGrads = grads;
        for (const t of owned) made.add(t as Tensor);
      }
      if (anomaly) {
        inputGrads.forEach((ig, i) => {
          if (ig && hasNonFinite(ig)) throw new DLError("backward", `function '${node.name()}' returned nan values in its ${i}th output`);
        });
      }
      // One tensor returned for two inputs (add: [g, g]) goes two ways: neither consumer frees it.
      inputGrads.forEach((ig, i) => {
        if (ig && inputGrads.indexOf(ig) !== i) made.delete(ig);
      });
      node.next.forEach((edge, i) => {
        const ig = inputGrads[i];
        if (edge && ig) deliver(edge, ig);
        else if (ig) consumed(ig, ...inputGrads);
      });
      if (!wanted) consumed(g, ...inputGrads);
      if (!retainGraph) node.release();
      observed?.end(node.name());
    }
    for (const [acc, g0] of leafGrads) {
      const leaf = acc.variable;
      const g = leaf._hooks.length ? runHooks(leaf._hooks, g0) : g0;
      if (capture) {
        if (capture.includes(leaf)) captured.set(leaf, g);
        continue;
      }
      // .grad belongs to the leaf, not to a tidy() scope the backward call happens to run in.
      // With createGraph the gradient is a graph value that may be shared, so it is kept, not owned.
      if (leaf.grad === null) leaf.grad = createGraph ? keep(g) : ownGrad(leaf, g.clone());
      else leaf.grad = createGraph ? keep(binaryAdd(leaf.grad, g)) : accumulateInPlace(leaf.grad, g);
      consumed(g);
      if (g !== g0) consumed(g0, g);
    }
  } finally {
    gradState.enabled = prevMode;
  }
  return capture ? capture.map((t) => captured.get(t)) : [];
}

/** Marks a gradient as owned by t: kept out of tidy() scopes, freed when t.grad is replaced. */
function ownGrad(t: Tensor, g: Tensor): Tensor {
  keep(g);
  g._gradOf = t;
  return g;
}

function accumulateInPlace(target: Tensor, g: Tensor): Tensor {
  const sum = binaryAdd(target, g);
  target.copy_(sum);
  sum.dispose();
  return target;
}

/** Reverse topological order (outputs first) over the union of the roots' graphs. */
function topoOrder(starts: readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  for (const s of starts) {
    const stack: [Node, boolean][] = [[s, false]];
    while (stack.length) {
      const [n, done] = stack.pop() as [Node, boolean];
      if (done) {
        order.push(n);
        continue;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push([n, true]);
      for (const e of n.next) if (e instanceof Node && !seen.has(e)) stack.push([e, false]);
    }
  }
  return order.reverse();
}

/** Tensor.backward(gradient?, { retainGraph, createGraph }). */
function backward(t: Tensor, gradient: Tensor | undefined, options: { retainGraph?: boolean; createGraph?: boolean }): void {
  if (!t.requiresGrad) {
    throw new DLError("backward", "element 0 of tensors does not require grad and does not have a gradFn");
  }
  let g = gradient;
  if (g === undefined) {
    if (t.numel() !== 1) throw new DLError("backward", `grad can be implicitly created only for scalar outputs (got shape ${fmtShape(t.shape)})`);
    g = onesLike(t);
  } else if (g.shape.length !== t.shape.length || g.shape.some((s, i) => s !== t.shape[i])) {
    throw new ShapeError("backward", `mismatch in shape: gradient has shape ${fmtShape(g.shape)} and output has shape ${fmtShape(t.shape)}`);
  }
  runBackward([t], [g], options);
}

/** labelGrad's hook; `inputs` (when the op passes them) become the node's nextFunctions. */
function label(t: Tensor, name: string, inputs?: readonly Tensor[]): void {
  if (t.gradFn instanceof Node) t.gradFn.rename(name, inputs);
}

function prepareWrite(x: Tensor, value: Tensor): void {
  if (value.gradFn instanceof Node) value.gradFn.preserveSavedFrom(x._storage);
}

/** The saved tensors of every node reachable from the roots' gradFns. */
function reachableSaved(roots: readonly Tensor[]): Tensor[] {
  const starts = roots.map((r) => r.gradFn).filter((n): n is Node => n instanceof Node);
  return topoOrder(starts).flatMap((n) => n.savedTensors());
}

installGradRecorder({ record, backward, label, rebase, prepareWrite, reachableSaved });
