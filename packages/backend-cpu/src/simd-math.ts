import type { HostArray } from "@dl/tensor";
import { mathWasm } from "./math-wasm.js";

/**
 * The WebAssembly SIMD transcendentals (wasm/math.wat) for float32 data: exp, sigmoid, tanh, erf,
 * and softmax's shifted exp with its sum. The data are streamed through a fixed buffer in the
 * module's memory (CHUNK floats at a time), so the module never grows and any layout works: the
 * caller hands over rows (strided or not) and gets the results in the same order.
 *
 * The module is compiled on first use; where WebAssembly SIMD is missing (or compiling is
 * forbidden) `simdMath()` is undefined and callers keep their scalar loops.
 */
export type SimdUnary = "exp" | "sigmoid" | "tanh" | "erf";

/** Floats per chunk: 32 KiB, inside L1/L2 for the copy in, the map and the copy out. */
const CHUNK = 8192;

export interface SimdMath {
  /** Starts a streamed map: push rows, then flush; results land in `out` from `o` on, in push order. */
  stream(fn: SimdUnary, out: Float32Array, o: number): UnaryStream;
  /** out[o + j] = e^(src[p + j] - shift) for j < n (contiguous); returns the float64 sum of the stored values. */
  expShiftSum(out: Float32Array, o: number, src: HostArray, p: number, n: number, shift: number): number;
  /**
   * One softmax row of n contiguous float32 values, all passes in the module (max, exp and sum,
   * scale by the float32 reciprocal of the sum); false (nothing done) for rows over one chunk.
   */
  softmaxRow(out: Float32Array, o: number, src: Float32Array, p: number, n: number): boolean;
}

export interface UnaryStream {
  /** Appends n elements src[p], src[p + s], ... */
  push(src: HostArray, p: number, s: number, n: number): void;
  /** Computes and stores whatever is still buffered. */
  flush(): void;
}

type MapFn = (p: number, n: number) => void;

let engine: SimdMath | undefined | null = null;

/** The SIMD math engine, or undefined where WebAssembly SIMD is unavailable. */
export function simdMath(): SimdMath | undefined {
  if (engine === null) engine = load();
  return engine;
}

function load(): SimdMath | undefined {
  try {
    if (typeof WebAssembly !== "object") return undefined;
    const bytes = Uint8Array.from(atob(mathWasm), (c) => c.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return undefined; // no SIMD
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
    // One page (64 KiB) holds CHUNK floats plus the padding lanes; the memory never grows, so the view stays valid.
    const buf = new Float32Array((ex.memory as WebAssembly.Memory).buffer, 0, CHUNK + 4);
    const full = buf.subarray(0, CHUNK);
    const maps: Record<SimdUnary, MapFn> = {
      exp: ex.exp_f32 as MapFn,
      sigmoid: ex.sigmoid_f32 as MapFn,
      tanh: ex.tanh_f32 as MapFn,
      erf: ex.erf_f32 as MapFn,
    };
    const expShiftSum = ex.exp_shift_sum_f32 as (p: number, n: number, shift: number) => number;
    const max = ex.max_f32 as (p: number, n: number) => number;
    const scale = ex.scale_f32 as (p: number, n: number, s: number) => void;
    return {
      stream(fn, out, o) {
        const map = maps[fn];
        let fill = 0;
        const run = () => {
          map(0, fill);
          out.set(fill === CHUNK ? full : buf.subarray(0, fill), o);
          o += fill;
          fill = 0;
        };
        return {
          push(src, p, s, n) {
            while (n > 0) {
              const m = Math.min(n, CHUNK - fill);
              if (s === 1 && src instanceof Float32Array) buf.set(src.subarray(p, p + m), fill);
              else for (let j = 0, q = p; j < m; j++, q += s) buf[fill + j] = src[q] as number;
              fill += m;
              p += m * s;
              n -= m;
              if (fill === CHUNK) run();
            }
          },
          flush() {
            if (fill > 0) run();
          },
        };
      },
      expShiftSum(out, o, src, p, n, shift) {
        let sum = 0;
        for (let done = 0; done < n; done += CHUNK) {
          const m = Math.min(CHUNK, n - done);
          if (src instanceof Float32Array) buf.set(src.subarray(p + done, p + done + m));
          else for (let j = 0; j < m; j++) buf[j] = src[p + done + j] as number;
          // Padding lanes: e^-inf = 0 adds nothing to the sum.
          buf.fill(Number.NEGATIVE_INFINITY, m, (m + 3) & ~3);
          sum += expShiftSum(0, m, shift);
          out.set(buf.subarray(0, m), o + done);
        }
        return sum;
      },
      softmaxRow(out, o, src, p, n) {
        if (n > CHUNK) return false;
        buf.set(src.subarray(p, p + n));
        buf.fill(Number.NEGATIVE_INFINITY, n, (n + 3) & ~3);
        const sum = expShiftSum(0, n, max(0, n));
        scale(0, n, 1 / sum);
        out.set(buf.subarray(0, n), o);
        return true;
      },
    };
  } catch {
    return undefined;
  }
}
