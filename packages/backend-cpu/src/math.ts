import type { BinaryOp, UnaryOp } from "@dl/tensor";

// Scalar definitions of the elementwise ops, matching PyTorch's conventions at edge cases.

/** erfinv by Giles' approximation refined with two Newton steps (float64-accurate). */
export function erfinv(y: number): number {
  if (y <= -1) return y === -1 ? Number.NEGATIVE_INFINITY : Number.NaN;
  if (y >= 1) return y === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  let w = -Math.log((1 - y) * (1 + y));
  let x: number;
  if (w < 5) {
    w -= 2.5;
    let p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941])
      p = c + p * w;
    x = p * y;
  } else {
    w = Math.sqrt(w) - 3;
    let p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682])
      p = c + p * w;
    x = p * y;
  }
  for (let i = 0; i < 2; i++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}

/** erf with ~1e-16 relative error (series near 0, continued fraction via erfc elsewhere). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 2) {
    // Maclaurin series: converges fast for |x| < 2.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return x > 0 ? 1 - erfc(ax) : erfc(ax) - 1;
}

/** erfc for x >= 2 by Lentz's continued fraction; other x via erf. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < 2) return 1 - erf(x);
  if (x > 27) return 0;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = x + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Round half to even, as torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  // PyTorch: sign(NaN) is 0 and sign(-0) is +0.
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  exp: Math.exp,
  exp2: (x) => 2 ** x,
  expm1: Math.expm1,
  log: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  erf,
  erfc,
  erfinv,
  // max(x, 0) as std::max: NaN and -0 pass through unchanged.
  relu: (x) => (x < 0 ? 0 : x),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  trunc: Math.trunc,
  frac: (x) => x - Math.trunc(x),
  logicalNot: (x) => (x === 0 ? 1 : 0),
  // ~x == -x - 1 exactly for every integer (int64 beyond 32 bits included); bool is handled above the backend.
  bitwiseNot: (x) => -x - 1,
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isinf: (x) => (x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY ? 1 : 0),
  isposinf: (x) => (x === Number.POSITIVE_INFINITY ? 1 : 0),
  isneginf: (x) => (x === Number.NEGATIVE_INFINITY ? 1 : 0),
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0),
  signbit: (x) => (x < 0 || Object.is(x, -0) ? 1 : 0),
};

/** Python-style modulo: the result takes the divisor's sign. */
function remainder(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

/** PyTorch's div_floor_floating: floor of the exact quotient, robust where a / b rounds across an integer. */
function floorDiv(a: number, b: number): number {
  if (b === 0) return a / b;
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  if (div === 0) {
    const q = a / b;
    return q < 0 || Object.is(q, -0) ? -0 : 0;
  }
  let floored = Math.floor(div);
  if (div - floored > 0.5) floored += 1;
  return floored;
}

/** Integer bitwise ops: JS's 32-bit operators when both operands fit, 64-bit BigInt otherwise (int64). */
const fits32 = (a: number, b: number): boolean => (a | 0) === a && (b | 0) === b;
const int64 = (x: bigint): number => Number(BigInt.asIntN(64, x));

export const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  floorDiv,
  truncDiv: (a, b) => Math.trunc(a / b),
  // C's pow: 1 ** anything and anything ** 0 are 1, and (-1) ** ±inf is 1 (JS gives NaN).
  pow: (a, b) => (a === 1 || b === 0 || (a === -1 && (b === Number.POSITIVE_INFINITY || b === Number.NEGATIVE_INFINITY)) ? 1 : a ** b),
  remainder,
  fmod: (a, b) => a % b,
  atan2: Math.atan2,
  hypot: Math.hypot,
  maximum: (a, b) => (a !== a || b !== b ? Number.NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? Number.NaN : a < b ? a : b),
  fmax: (a, b) => (a !== a ? b : b !== b ? a : a > b ? a : b),
  fmin: (a, b) => (a !== a ? b : b !== b ? a : a < b ? a : b),
  copysign: (a, b) => (b < 0 || Object.is(b, -0) ? -Math.abs(a) : Math.abs(a)),
  xlogy: (a, b) => (b !== b ? Number.NaN : a === 0 ? 0 : a * Math.log(b)),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
  logicalOr: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
  logicalXor: (a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0),
  bitwiseAnd: (a, b) => (fits32(a, b) ? a & b : int64(BigInt(a) & BigInt(b))),
  bitwiseOr: (a, b) => (fits32(a, b) ? a | b : int64(BigInt(a) | BigInt(b))),
  bitwiseXor: (a, b) => (fits32(a, b) ? a ^ b : int64(BigInt(a) ^ BigInt(b))),
};
