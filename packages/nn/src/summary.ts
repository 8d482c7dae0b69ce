import { noGrad } from "@dl/autograd";
import { ArgumentError, type DType, Tensor, itemSize, zeros } from "@dl/tensor";
import type { Module, RemovableHandle } from "./module.js";

/**
 * A torchinfo-style model summary: runs one forward pass on zero inputs with forward hooks on every
 * submodule and tabulates each call (class name indented by call depth, output shape, parameter
 * count) and the totals.
 */

export interface SummaryOptions {
  /** dtype of the generated inputs: one for all, or one per input (default: the default dtype). */
  dtype?: DType | readonly DType[];
  /** Device of the generated inputs (default: the default device). */
  device?: string;
  /** Deepest call depth shown (default 3); deeper calls are folded into their ancestor's row. */
  depth?: number;
  /**
   * Module mode during the pass: "eval" (default: batch norm statistics are not updated), "train",
   * or "same". The previous training flags are restored afterwards.
   */
  mode?: "eval" | "train" | "same";
  /** Also console.log the table (default false). */
  print?: boolean;
}

export interface SummaryRow {
  /** Attribute path of the module ("" for the model, "features.0", ...). */
  name: string;
  className: string;
  /** Call depth: 0 for the model itself. */
  depth: number;
  /** torchinfo's depth-index, e.g. "2-3" (empty for the model row). */
  index: string;
  /** Shape(s) of the output: [2, 10], or nested for array/object outputs. */
  outputShape: unknown;
  /** Parameters shown on the row: own ones, or the whole subtree where deeper rows are folded. */
  params: number;
  /** The module was already called earlier in this pass (its parameters are counted once). */
  recursive: boolean;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  inputBytes: number;
  /** Outputs of the leaf rows, times 2 for their gradients (torchinfo's forward/backward pass size). */
  forwardBackwardBytes: number;
  paramBytes: number;
  toString(): string;
}

const fmtInt = (n: number): string => n.toLocaleString("en-US");
const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

function shapeOf(v: unknown): unknown {
  if (v instanceof Tensor) return [...v.shape];
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v !== null && typeof v === "object") return Object.values(v).map(shapeOf);
  return null;
}

function fmtShapeOut(s: unknown): string {
  if (s === null) return "--";
  if (Array.isArray(s)) return `[${s.map((x) => (Array.isArray(x) || x === null ? fmtShapeOut(x) : String(x))).join(", ")}]`;
  return String(s);
}

function bytesOf(v: unknown): number {
  if (v instanceof Tensor) return v.numel() * itemSize(v.dtype);
  if (Array.isArray(v)) return v.reduce((a: number, x) => a + bytesOf(x), 0);
  if (v !== null && typeof v === "object") return Object.values(v).reduce((a: number, x) => a + bytesOf(x), 0);
  return 0;
}

const countParams = (m: Module, recurse: boolean): number => {
  let n = 0;
  for (const p of m.parameters(recurse)) n += p.numel();
  return n;
};

/**
 * torchinfo.summary(model, input_size): summary(model, [1, 3, 32, 32]) or, for several inputs,
 * summary(model, [[2, 5], [2, 7]]). Returns the rows and totals; String(result) is the table.
 */
export function summary(
  model: Module,
  inputShape: readonly number[] | readonly (readonly number[])[],
  options: SummaryOptions = {},
): ModelSummary {
  const op = "summary";
  const depthLimit = options.depth ?? 3;
  if (!Number.isInteger(depthLimit) || depthLimit < 0)
    throw new ArgumentError(op, `depth must be a non-negative integer, got ${depthLimit}`);
  if (!Array.isArray(inputShape)) throw new ArgumentError(op, "inputShape must be a shape ([1, 3, 32, 32]) or a list of shapes");
  const shapes = (inputShape.length > 0 && Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as readonly (readonly number[])[];
  for (const s of shapes) {
    if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ArgumentError(op, `input shapes must be arrays of non-negative integers, got ${JSON.stringify(s)}`);
    }
  }
  const dtypes = Array.isArray(options.dtype) ? (options.dtype as readonly DType[]) : shapes.map(() => options.dtype as DType | undefined);
  if (dtypes.length !== shapes.length) throw new ArgumentError(op, `got ${dtypes.length} dtypes for ${shapes.length} inputs`);

  const names = new Map<Module, string>();
  for (const [name, m] of model.namedModules()) names.set(m, name);

  interface Call {
    module: Module;
    depth: number;
    output?: unknown;
    recursive: boolean;
    hasChildCalls: boolean;
  }
  const calls: Call[] = [];
  const stack: Call[] = [];
  const seen = new Set<Module>();
  const handles: RemovableHandle[] = [];
  for (const m of names.keys()) {
    handles.push(
      m.registerForwardPreHook((mod) => {
        const parent = stack[stack.length - 1];
        if (parent) parent.hasChildCalls = true;
        const call: Call = { module: mod, depth: stack.length, recursive: seen.has(mod), hasChildCalls: false };
        seen.add(mod);
        calls.push(call);
        stack.push(call);
      }),
      m.registerForwardHook((_mod, _args, out) => {
        const call = stack.pop();
        if (call) call.output = out;
      }),
    );
  }

  const flags = new Map<Module, boolean>();
  for (const m of names.keys()) flags.set(m, m.training);
  const inputs = shapes.map((s, i) => zeros([...s], { dtype: dtypes[i], device: options.device }));
  try {
    if (options.mode !== "same") model.train(options.mode === "train");
    noGrad(() => (model.call as (...a: unknown[]) => unknown)(...inputs));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, t] of flags) m.training = t;
  }

  const counters: number[] = [];
  const rows: SummaryRow[] = [];
  let fwdBytes = 0;
  for (const c of calls) {
    if (!c.hasChildCalls) fwdBytes += bytesOf(c.output);
    if (c.depth > depthLimit) continue;
    counters[c.depth] = (counters[c.depth] ?? 0) + 1;
    const folded = c.depth === depthLimit && c.hasChildCalls;
    rows.push({
      name: names.get(c.module) ?? "",
      className: c.module.constructor.name,
      depth: c.depth,
      index: c.depth === 0 ? "" : `${c.depth}-${counters[c.depth]}`,
      outputShape: shapeOf(c.output),
      params: c.recursive ? 0 : countParams(c.module, folded || !c.hasChildCalls),
      recursive: c.recursive,
    });
  }

  let totalParams = 0;
  let trainableParams = 0;
  let paramBytes = 0;
  for (const p of model.parameters()) {
    totalParams += p.numel();
    if (p.requiresGrad) trainableParams += p.numel();
    paramBytes += p.numel() * itemSize(p.dtype);
  }
  const inputBytes = inputs.reduce((a, t) => a + bytesOf(t), 0);
  const result: ModelSummary = {
    rows,
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    inputBytes,
    forwardBackwardBytes: 2 * fwdBytes,
    paramBytes,
    toString: () => formatTable(result),
  };
  if (options.print) console.log(formatTable(result));
  return result;
}

function formatTable(s: ModelSummary): string {
  const pad = (text: string, width: number) => (text.length >= width ? `${text} ` : text.padEnd(width));
  const labels = s.rows.map((r, i) => {
    if (r.depth === 0) return r.className;
    // Last among its siblings: no later row at the same depth before one that is shallower.
    let last = true;
    for (let j = i + 1; j < s.rows.length; j++) {
      const d = (s.rows[j] as SummaryRow).depth;
      if (d < r.depth) break;
      if (d === r.depth) {
        last = false;
        break;
      }
    }
    return `${"│    ".repeat(r.depth - 1)}${last ? "└─" : "├─"}${r.className}: ${r.index}`;
  });
  const nameWidth = Math.max(40, ...labels.map((l) => l.length + 2));
  const width = nameWidth + 50;
  const rule = "=".repeat(width);
  const lines = [rule, pad("Layer (type:depth-idx)", nameWidth) + pad("Output Shape", 25) + "Param #", rule];
  s.rows.forEach((r, i) => {
    const params = r.recursive ? "(recursive)" : r.params > 0 ? fmtInt(r.params) : "--";
    lines.push((pad(labels[i] as string, nameWidth) + pad(fmtShapeOut(r.outputShape), 25) + params).trimEnd());
  });
  lines.push(
    rule,
    `Total params: ${fmtInt(s.totalParams)}`,
    `Trainable params: ${fmtInt(s.trainableParams)}`,
    `Non-trainable params: ${fmtInt(s.nonTrainableParams)}`,
    rule,
    `Input size (MB): ${mb(s.inputBytes)}`,
    `Forward/backward pass size (MB): ${mb(s.forwardBackwardBytes)}`,
    `Params size (MB): ${mb(s.paramBytes)}`,
    `Estimated Total Size (MB): ${mb(s.inputBytes + s.forwardBackwardBytes + s.paramBytes)}`,
    rule,
  );
  return lines.join("\n");
}
