/** Deterministic values in [-1, 1) (xorshift32 from `seed`) for the kernel tests. */
export function values(n: number, seed: number, dtype: "float32" | "float64" = "float32"): Float32Array | Float64Array {
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** float32 values (see values). */
export const values32 = (n: number, seed: number): Float32Array => values(n, seed) as Float32Array;
