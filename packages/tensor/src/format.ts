import { getDefaultDtype, isFloating } from "./dtype.js";
import { ArgumentError, describeValue } from "./errors.js";
import type { Tensor } from "./tensor.js";

/**
 * PyTorch's printing rules (torch/_tensor_str.py, 1.13), reproduced character for character:
 * one formatter per tensor chooses integer, fixed or scientific notation from the nonzero finite
 * values, pads every element to a common width, wraps rows at `linewidth`, summarizes tensors
 * with more than `threshold` elements, and appends dtype/grad suffixes, wrapping them too.
 */

/** Print options (torch.set_printoptions). */
export const printOptions = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null as boolean | null };

export function setPrintOptions(o: Partial<typeof printOptions>): void {
  Object.assign(printOptions, o);
}

// ---- exact decimal formatting (Python's '{:.Nf}' and '{:.Ne}': correctly rounded, ties to even) ----
// JS toFixed/toExponential round exact ties away from zero (1.03125 -> "1.0313"); Python rounds
// them to even ("1.0312"), so values are converted exactly with BigInt instead.

const bits = new DataView(new ArrayBuffer(8));

/** |x| as m * 2^e with m an integer (x finite). */
function decompose(x: number): [bigint, number] {
  bits.setFloat64(0, Math.abs(x));
  const hi = bits.getUint32(0);
  const lo = bits.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return exp === 0 ? [frac, -1074] : [frac | (1n << 52n), exp - 1075];
}

/** round(|x| * 10^k), ties to even, exactly. */
function scaledRound(x: number, k: number): bigint {
  const [m, e] = decompose(x);
  let num = m;
  let den = 1n;
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  const q = num / den;
  const r2 = (num % den) * 2n;
  return r2 > den || (r2 === den && q % 2n === 1n) ? q + 1n : q;
}

const signOf = (x: number) => (x < 0 || Object.is(x, -0) ? "-" : "");

function special(v: number): string | null {
  if (Number.isNaN(v)) return "nan";
  if (v === Number.POSITIVE_INFINITY) return "inf";
  if (v === Number.NEGATIVE_INFINITY) return "-inf";
  return null;
}

/** Python's '{:.pf}'.format(v). */
export function formatFixed(v: number, p: number): string {
  const s = special(v);
  if (s !== null) return s;
  const digits = scaledRound(v, p)
    .toString()
    .padStart(p + 1, "0");
  const body = p > 0 ? `${digits.slice(0, -p)}.${digits.slice(-p)}` : digits;
  return signOf(v) + body;
}

/** Python's '{:.pe}'.format(v): one digit, '.', p digits, 'e', sign, at least two exponent digits. */
export function formatSci(v: number, p: number): string {
  const s = special(v);
  if (s !== null) return s;
  let exp = 0;
  let n = 0n;
  if (v !== 0) {
    exp = Math.floor(Math.log10(Math.abs(v)));
    const lo = 10n ** BigInt(p);
    const hi = lo * 10n;
    // log10 may be off by one near powers of ten; settle on the exponent that gives p+1 digits.
    for (let i = 0; i < 4; i++) {
      n = scaledRound(v, p - exp);
      if (n >= hi) exp++;
      else if (n < lo) exp--;
      else break;
    }
  }
  const digits = n.toString().padStart(p + 1, "0");
  const mant = p > 0 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = `${Math.abs(exp)}`.padStart(2, "0");
  return `${signOf(v)}${mant}e${exp < 0 ? "-" : "+"}${e}`;
}

function formatInt(v: number): string {
  // String() switches to exponent notation from 1e21; integers print all their digits.
  return Math.abs(v) >= 1e21 && Number.isInteger(v) ? BigInt(v).toString() : String(v === 0 ? 0 : v);
}

// ---- the formatter (torch._tensor_str._Formatter) ----

interface Formatter {
  /** Width every element is padded to (PyTorch's max_width, from nonzero finite values only). */
  width: number;
  format(v: number): string;
}

function makeFormatter(values: ArrayLike<number>, dtype: string): Formatter {
  const p = printOptions.precision;
  let width = 1;
  if (dtype === "bool" || !isFloating(dtype as never)) {
    const str = dtype === "bool" ? (v: number) => (v ? "True" : "False") : formatInt;
    for (let i = 0; i < values.length; i++) width = Math.max(width, str(values[i] as number).length);
    return { width, format: (v) => str(v).padStart(width) };
  }
  const vals: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v) && v !== 0) vals.push(v);
  }
  let intMode = true;
  let sciMode = false;
  if (vals.length > 0) {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const v of vals) {
      const a = Math.abs(v);
      min = Math.min(min, a);
      max = Math.max(max, a);
      if (v !== Math.ceil(v)) intMode = false;
    }
    if (intMode) {
      sciMode = max / min > 1000 || max > 1e8;
      for (const v of vals) width = Math.max(width, sciMode ? formatSci(v, p).length : formatFixed(v, 0).length + 1);
    } else {
      sciMode = max / min > 1000 || max > 1e8 || min < 1e-4;
      for (const v of vals) width = Math.max(width, (sciMode ? formatSci(v, p) : formatFixed(v, p)).length);
    }
  }
  if (printOptions.sciMode !== null) sciMode = printOptions.sciMode;
  const format = (v: number): string => {
    let s: string;
    if (sciMode) s = formatSci(v, p);
    else if (intMode) s = Number.isFinite(v) ? `${formatFixed(v, 0)}.` : formatFixed(v, 0);
    else s = formatFixed(v, p);
    return s.padStart(width);
  };
  return { width, format };
}

// ---- layout ----

function rowMajorStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i] as number;
  }
  return strides;
}

/** Indices shown along a dim of size n: all, or the edge items around a null marker. */
function shownIndices(n: number, summary: boolean): (number | null)[] {
  const e = printOptions.edgeitems;
  const idx: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    if (summary && n > 2 * e && i === e) {
      idx.push(null);
      i = n - e;
    }
    idx.push(i);
  }
  return idx;
}

/** The values the formatter sees (get_summarized_data): all, or the edges of every dim. */
function shownValues(flat: ArrayLike<number>, shape: readonly number[], summary: boolean): number[] {
  const out: number[] = [];
  const strides = rowMajorStrides(shape);
  const rec = (d: number, base: number) => {
    if (d === shape.length) {
      out.push(flat[base] as number);
      return;
    }
    for (const i of shownIndices(shape[d] as number, summary)) if (i !== null) rec(d + 1, base + i * (strides[d] as number));
  };
  rec(0, 0);
  return out;
}

function body(flat: ArrayLike<number>, shape: readonly number[], f: Formatter, indent: number, summary: boolean): string {
  if (shape.length === 0) return f.format(flat[0] as number);
  const strides = rowMajorStrides(shape);
  const rec = (d: number, base: number, ind: number): string => {
    const idx = shownIndices(shape[d] as number, summary);
    const at = (i: number) => base + i * (strides[d] as number);
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? " ..." : f.format(flat[at(i)] as number)));
      const perLine = Math.max(1, Math.floor((printOptions.linewidth - ind) / (f.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
      return `[${lines.join(`,\n${" ".repeat(ind + 1)}`)}]`;
    }
    const sep = `,${"\n".repeat(shape.length - d - 1)}${" ".repeat(ind + 1)}`;
    return `[${idx.map((i) => (i === null ? "..." : rec(d + 1, at(i), ind + 1))).join(sep)}]`;
  };
  return rec(0, 0, indent);
}

/** Appends ", suffix" items, moving one to a new line when it would pass linewidth (_add_suffixes). */
function addSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  const parts = [text];
  let lastLen = text.length - text.lastIndexOf("\n") + 1;
  for (const s of suffixes) {
    if (lastLen + s.length + 2 > printOptions.linewidth) {
      parts.push(`,\n${" ".repeat(indent)}${s}`);
      lastLen = indent + s.length;
    } else {
      parts.push(`, ${s}`);
      lastLen += s.length + 2;
    }
  }
  return `${parts.join("")})`;
}

/** PyTorch's repr: tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64, requires_grad=True). */
export function formatTensor(t: Tensor): string {
  if (typeof t?.numel !== "function")
    throw new ArgumentError("formatTensor", `argument 'input' must be a Tensor, but got ${describeValue(t)}`);
  if (t.isDisposed) return "tensor(<disposed>)";
  const prefix = "tensor(";
  const suffixes: string[] = [];
  if (t.device !== "cpu") suffixes.push(`device='${t.device}'`);
  let text: string;
  if (t.numel() === 0) {
    text = "[]";
    if (t.ndim !== 1) suffixes.push(`size=(${t.shape.join(", ")})`);
    if (t.dtype !== getDefaultDtype()) suffixes.push(`dtype=torch.${t.dtype}`);
  } else {
    if (t.dtype !== getDefaultDtype() && t.dtype !== "int64" && t.dtype !== "bool") suffixes.push(`dtype=torch.${t.dtype}`);
    const flat = t.dataSync();
    const summary = t.numel() > printOptions.threshold;
    const f = makeFormatter(summary ? shownValues(flat, t.shape, true) : flat, t.dtype);
    text = body(flat, t.shape, f, prefix.length, summary);
  }
  const fn = t.gradFn as { name?: () => string } | null;
  if (fn && typeof fn.name === "function") suffixes.push(`grad_fn=<${fn.name()}>`);
  else if (t.requiresGrad) suffixes.push("requires_grad=True");
  return addSuffixes(prefix + text, suffixes, prefix.length);
}
