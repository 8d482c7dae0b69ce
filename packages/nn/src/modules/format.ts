// Python-style formatting for extraRepr(), so String(module) prints what PyTorch's repr prints.
// Private to @dl/nn (not re-exported by the barrels).

/**
 * A float as Python's repr writes it: 1.0, 0.1, 1e-05, 1e+20, inf, nan. JS numbers carry no
 * int/float distinction, so hyperparameters that PyTorch stores as floats go through this.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e") as [string, string];
  const e = Number(expStr);
  if (e < -4 || e >= 16) return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/** A number as Python prints it when PyTorch's default for the argument is an int (Softplus(beta=1)). */
export function pyNum(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e16 ? String(x) : pyFloat(x);
}

export const pyBool = (b: boolean): string => (b ? "True" : "False");

/** A Python tuple of ints: (3,), (2, 4). */
export function pyTuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(", ")})`;
}

/** Python's repr of an optional float: None or the float. */
export const pyOptFloat = (x: number | null | undefined): string => (x === null || x === undefined ? "None" : pyFloat(x));
