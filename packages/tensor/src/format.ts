import { getDefaultDtype, isFloating } from "./dtype.js";
import type { Tensor } from "./tensor.js";

/** Print options (torch.set_printoptions). */
export const printOptions = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null as boolean | null };

export function setPrintOptions(o: Partial<typeof printOptions>): void {
  Object.assign(printOptions, o);
}

/** Python's '{:.Ne}': mantissa, 'e', sign, at least two exponent digits. */
function sci(v: number, p: number): string {
  const [m, e] = v.toExponential(p).split("e") as [string, string];
  const sign = e[0] === "-" ? "-" : "+";
  const digits = e.replace(/^[-+]/, "");
  return `${m}e${sign}${digits.padStart(2, "0")}`;
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return "nan";
  if (v === Number.POSITIVE_INFINITY) return "inf";
  if (v === Number.NEGATIVE_INFINITY) return "-inf";
  return null;
}

/** Chooses one format for all elements, as PyTorch's _Formatter, and pads to a common width. */
function makeFormatter(values: ArrayLike<number>, dtype: string): (v: number) => string {
  let fmt: (v: number) => string;
  if (dtype === "bool") fmt = (v) => (v ? "True" : "False");
  else if (!isFloating(dtype as never)) fmt = (v) => String(v);
  else {
    const finite: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v) && v !== 0) finite.push(Math.abs(v));
    }
    const p = printOptions.precision;
    const intMode = finite.every((v) => Number.isInteger(v));
    const max = finite.length ? Math.max(...finite) : 0;
    const min = finite.length ? Math.min(...finite) : 0;
    let useSci = printOptions.sciMode ?? false;
    if (printOptions.sciMode === null && finite.length) {
      useSci = intMode ? max / min > 1000 || max > 1e8 : max / min > 1000 || max > 1e8 || min < 1e-4;
    }
    if (useSci) fmt = (v) => special(v) ?? sci(v, p);
    else if (intMode) fmt = (v) => special(v) ?? `${v.toFixed(0)}.`;
    else fmt = (v) => special(v) ?? v.toFixed(p);
    // -0 prints as "-0." in PyTorch
    const inner = fmt;
    fmt = (v) => (Object.is(v, -0) && !useSci ? `-${inner(0)}` : inner(v));
  }
  let width = 0;
  for (let i = 0; i < values.length; i++) width = Math.max(width, fmt(values[i] as number).length);
  return (v) => fmt(v).padStart(width);
}

function summarize(t: Tensor): boolean {
  return t.numel() > printOptions.threshold;
}

/** Values shown: all, or the edge items of each dim when summarizing. */
function shownValues(flat: ArrayLike<number>, shape: readonly number[], summary: boolean): number[] {
  const out: number[] = [];
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i] as number;
  }
  const e = printOptions.edgeitems;
  const rec = (d: number, base: number) => {
    if (d === shape.length) {
      out.push(flat[base] as number);
      return;
    }
    const n = shape[d] as number;
    for (let i = 0; i < n; i++) {
      if (summary && n > 2 * e && i === e) i = n - e;
      rec(d + 1, base + i * (strides[d] as number));
    }
  };
  rec(0, 0);
  return out;
}

function body(flat: ArrayLike<number>, shape: readonly number[], fmt: (v: number) => string, indent: number, summary: boolean): string {
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i] as number;
  }
  const e = printOptions.edgeitems;
  const rec = (d: number, base: number, ind: number): string => {
    if (shape.length === 0) return fmt(flat[0] as number);
    const n = shape[d] as number;
    const idx: (number | null)[] = [];
    for (let i = 0; i < n; i++) {
      if (summary && n > 2 * e && i === e) {
        idx.push(null);
        i = n - e;
      }
      idx.push(i);
    }
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? "..." : fmt(flat[base + i * (strides[d] as number)] as number)));
      const width = Math.max(...items.map((x) => x.length), 1) + 2;
      const perLine = Math.max(1, Math.floor((printOptions.linewidth - ind) / width));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
      return `[${lines.join(`,\n${" ".repeat(ind + 1)}`)}]`;
    }
    const sep = `,${"\n".repeat(shape.length - d - 1)}${" ".repeat(ind + 1)}`;
    const parts = idx.map((i) => (i === null ? "..." : rec(d + 1, base + i * (strides[d] as number), ind + 1)));
    return `[${parts.join(sep)}]`;
  };
  return rec(0, 0, indent);
}

/** PyTorch's repr: tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64, requires_grad=True). */
export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return "tensor(<disposed>)";
  const prefix = "tensor(";
  const suffixes: string[] = [];
  const flat = t.dataSync();
  let text: string;
  const summary = summarize(t);
  if (t.numel() === 0) {
    text = "[]";
    if (!(t.ndim === 1 && t.shape[0] === 0)) suffixes.push(`size=(${t.shape.join(", ")}${t.ndim === 1 ? "," : ""})`);
  } else {
    const fmt = makeFormatter(shownValues(flat, t.shape, summary), t.dtype);
    text = body(flat, t.shape, fmt, prefix.length, summary);
  }
  if (t.device !== "cpu") suffixes.push(`device='${t.device}'`);
  const defaultDt = t.dtype === getDefaultDtype() || t.dtype === "int64" || t.dtype === "bool";
  if (!defaultDt || (t.numel() === 0 && t.dtype !== getDefaultDtype())) suffixes.push(`dtype=torch.${t.dtype}`);
  const fn = t.gradFn as { name?: () => string } | null;
  if (fn && typeof fn.name === "function") suffixes.push(`grad_fn=<${fn.name()}>`);
  else if (t.requiresGrad) suffixes.push("requires_grad=True");
  return `${prefix}${text}${suffixes.map((s) => `, ${s}`).join("")})`;
}
