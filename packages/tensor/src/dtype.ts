import { DTypeError } from "./errors.js";

/**
 * Element types. int64 is stored in a Float64Array: every integer with |x| <= 2^53 is exact, which
 * covers indices and counts; arithmetic that leaves that range loses precision instead of wrapping
 * as PyTorch's 64-bit integers do. float16 and bfloat16 are stored in Float32Array lanes whose
 * values are always rounded to the half format, so results equal PyTorch's (which computes halves
 * in float32 and rounds each result).
 */
export type DType = "float32" | "float64" | "float16" | "bfloat16" | "int32" | "int64" | "bool";

export const float32: DType = "float32";
export const float64: DType = "float64";
export const float16: DType = "float16";
export const bfloat16: DType = "bfloat16";
export const int32: DType = "int32";
export const int64: DType = "int64";
export const bool: DType = "bool";
/** PyTorch aliases. */
export const float = float32;
export const double = float64;
export const half = float16;
export const long = int64;
export const int = int32;

export type HostArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const ALL: readonly DType[] = ["bool", "int32", "int64", "float16", "bfloat16", "float32", "float64"];

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (ALL as readonly string[]).includes(x);
}

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
}

/** Integral types; bool counts only when includeBool is set (PyTorch's is_integral). */
export function isIntegral(d: DType, includeBool = false): boolean {
  return d === "int32" || d === "int64" || (includeBool && d === "bool");
}

/** Bytes per element in PyTorch's layout (what safetensors and element_size() report). */
export function itemSize(d: DType): number {
  switch (d) {
    case "float64":
    case "int64":
      return 8;
    case "float32":
    case "int32":
      return 4;
    case "float16":
    case "bfloat16":
      return 2;
    case "bool":
      return 1;
  }
}

/** The TypedArray constructor that holds a dtype's values in memory (see the int64 note above). */
export function hostArrayType(d: DType): Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor {
  switch (d) {
    case "float32":
    case "float16":
    case "bfloat16":
      return Float32Array;
    case "float64":
    case "int64":
      return Float64Array;
    case "int32":
      return Int32Array;
    case "bool":
      return Uint8Array;
  }
}

// Lattice rank for promotion: bool < int32 < int64 < {float16, bfloat16} < float32 < float64.
const RANK: Record<DType, number> = { bool: 0, int32: 1, int64: 2, float16: 3, bfloat16: 3, float32: 4, float64: 5 };

/** torch.promote_types. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === "float16" && b === "bfloat16") || (a === "bfloat16" && b === "float16")) return "float32";
  return RANK[a] >= RANK[b] ? a : b;
}

type Category = 0 | 1 | 2; // bool, integral, floating
const category = (d: DType): Category => (d === "bool" ? 0 : isFloating(d) ? 2 : 1);

/** Combine a higher-priority group's type with a lower one's (c10's combine_categories). */
function combine(higher: DType | undefined, lower: DType | undefined): DType | undefined {
  if (higher === undefined) return lower;
  if (lower === undefined) return higher;
  if (isFloating(higher)) return higher;
  if (higher === "bool" || isFloating(lower)) return promoteTypes(higher, lower);
  return higher;
}

/** What result_type needs to know about one operand. */
export interface Operand {
  dtype: DType;
  /** 0 for 0-dim tensors. */
  ndim: number;
}

let defaultFloat: DType = "float32";

/** torch.set_default_dtype: the dtype of float scalars and of float tensors created from data. */
export function setDefaultDtype(d: DType): void {
  if (!isFloating(d)) throw new DTypeError("setDefaultDtype", `only floating dtypes can be the default, got ${d}`);
  defaultFloat = d;
}
export function getDefaultDtype(): DType {
  return defaultFloat;
}

/** The dtype PyTorch gives a JS scalar: bool, int64 for integers, the default float otherwise. */
export function scalarDType(x: number | boolean): DType {
  if (typeof x === "boolean") return "bool";
  return Number.isInteger(x) ? "int64" : defaultFloat;
}

/**
 * torch.result_type over tensors and scalars. Dimensioned tensors outrank 0-dim tensors, which
 * outrank scalars, unless a lower group is of a higher category (bool < integral < floating).
 */
export function resultType(...operands: (Operand | number | boolean)[]): DType {
  let dim: DType | undefined;
  let zero: DType | undefined;
  let wrapped: DType | undefined;
  for (const o of operands) {
    if (typeof o === "number" || typeof o === "boolean") {
      const d = scalarDType(o);
      wrapped = wrapped === undefined ? d : promoteTypes(wrapped, d);
    } else if (o.ndim === 0) {
      zero = zero === undefined ? o.dtype : promoteTypes(zero, o.dtype);
    } else {
      dim = dim === undefined ? o.dtype : promoteTypes(dim, o.dtype);
    }
  }
  const r = combine(dim, combine(zero, wrapped));
  if (r === undefined) throw new DTypeError("resultType", "needs at least one operand");
  return r;
}

/** Whether a value of dtype `from` may be written into `to` in place (PyTorch's can_cast). */
export function canCast(from: DType, to: DType): boolean {
  return category(from) <= category(to);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds to the nearest bfloat16 (ties to even), returned as a number. */
export function roundBFloat16(x: number): number {
  if (Number.isNaN(x)) return x;
  f32[0] = x;
  const bits = u32[0] as number;
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0] as number;
}

/** Rounds to the nearest float16 (ties to even), returned as a number; overflow gives ±Infinity. */
export function roundFloat16(x: number): number {
  return float16BitsToNumber(numberToFloat16Bits(x));
}

/** IEEE half-precision bits of x (round to nearest even). */
export function numberToFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function bfloat16BitsToNumber(h: number): number {
  u32[0] = (h << 16) >>> 0;
  return f32[0] as number;
}

export function numberToBFloat16Bits(x: number): number {
  f32[0] = roundBFloat16(x);
  return (u32[0] as number) >>> 16;
}

/** Converts one value to what a dtype can hold (truncation for integers, rounding for halves). */
export function castScalar(x: number, d: DType): number {
  switch (d) {
    case "bool":
      return x !== 0 ? 1 : 0;
    case "int32":
      return x | 0;
    case "int64":
      // + 0 turns the -0 of Math.trunc(-0.5) into 0: integers have no negative zero.
      return Number.isFinite(x) ? Math.trunc(x) + 0 : 0;
    case "float32":
      return Math.fround(x);
    case "float16":
      return roundFloat16(x);
    case "bfloat16":
      return roundBFloat16(x);
    case "float64":
      return x;
  }
}
