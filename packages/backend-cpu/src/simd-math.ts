import type { HostArray } from "@dl/tensor";
import { mathRelaxedSites, mathWasm } from "./math-wasm.js";

/**
 * The WebAssembly SIMD transcendentals (wasm/math.wat) for float32 data: exp, sigmoid, tanh, erf,
 * and softmax's shifted exp with its sum. The data are streamed through a fixed buffer in the
 * module's memory (CHUNK floats at a time), so the module never grows and any layout works: the
 * caller hands over rows (strided or not) and gets the results in the same order.
 *
 * The module is compiled on first use; where WebAssembly SIMD is missing (or compiling is
 * forbidden) `simdMath()` is undefined and callers keep their scalar loops. Where the engine has
 * relaxed SIMD (feature-detected), the polynomials' multiply-adds become f32x4.relaxed_madd (one
 * FMA on CPUs with one; see tooling/build-wasm.mjs), else the plain SIMD module runs.
 */
export type SimdUnary = "exp" | "sigmoid" | "tanh" | "erf";

/** Floats per chunk: 32 KiB, inside L1/L2 for the copy in, the map and the copy out. */
const CHUNK = 8192;

/**
 * Where the data start in the module's memory (bytes): below is the constant pool that
 * tooling/build-wasm.mjs lays out for the polynomials.
 */
export const HEAP_BASE = 1024;

export interface SimdMath {
  /** Whether the module runs with relaxed SIMD's multiply-add (results may then differ by an ulp). */
  readonly relaxed: boolean;
  /** Starts a streamed map: push rows, then flush; results land in `out` from `o` on, in push order. */
  stream(fn: SimdUnary, out: Float32Array, o: number): UnaryStream;
  /** out[o + j] = e^(src[p + j] - shift) for j < n (contiguous); returns the float64 sum of the stored values. */
  expShiftSum(out: Float32Array, o: number, src: HostArray, p: number, n: number, shift: number): number;
  /**
   * softmax (or logSoftmax) of `rows` contiguous float32 rows of n values (src[p + r * n + j]) into
   * out from o on, all passes in the module (max, exp and its float64 sum, then softmax scales by
   * the float32 reciprocal of the sum, logSoftmax computes x - max - log(sum) in float64, rounded
   * once); false (nothing done) for rows over one chunk.
   */
  softmaxRows(out: Float32Array, o: number, src: Float32Array, p: number, rows: number, n: number, log: boolean): boolean;
  /**
   * The module's memory from HEAP_BASE on as float32, at least `floats` long (grown on demand; the
   * view is valid until the next call of heap). Element i is at byte HEAP_BASE + 4 i.
   */
  heap(floats: number): Float32Array;
  /** The recurrent cells over the heap (byte offsets; wasm/math.wat's lstm_cell_f32 and gru_cell_f32). */
  lstmCell(gx: number, gh: number, b: number, c: number, h2: number, c2: number, ws: number, rows: number, hp: number): void;
  gruCell(gx: number, gh: number, b: number, h: number, h2: number, ws: number, rows: number, hp: number): void;
}

export interface UnaryStream {
  /** Appends n elements src[p], src[p + s], ... */
  push(src: HostArray, p: number, s: number, n: number): void;
  /** Computes and stores whatever is still buffered. */
  flush(): void;
}

type MapFn = (p: number, n: number) => void;

let engine: SimdMath | undefined | null = null;

/** A module with one f32x4.relaxed_madd: valid where the engine has relaxed SIMD. */
const RELAXED_PROBE = "AGFzbQEAAAABCAFgA3t7ewF7AwIBAAoNAQsAIAAgASAC/YUCCw==";

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Whether this engine validates relaxed SIMD (Node 20 only with --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(decode(RELAXED_PROBE));
  } catch {
    return false;
  }
}

/**
 * The math module with its multiply-add sites rewritten: at each offset (LEB128 deltas in `sites`),
 * [f32x4.mul][local.get c][f32x4.add] becomes [local.get c][f32x4.relaxed_madd][nop x3], the same
 * length (tooling/build-wasm.mjs checks that this reproduces the module it assembles with them).
 */
export function withRelaxedMadd(plain: Uint8Array<ArrayBuffer>, sites: string = mathRelaxedSites): Uint8Array<ArrayBuffer> {
  const bytes = plain.slice();
  const deltas = decode(sites);
  let at = 0;
  for (let i = 0; i < deltas.length; ) {
    let d = 0;
    for (let shift = 0; ; shift += 7) {
      const b = deltas[i++] as number;
      d |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    at += d;
    let end = at + 4; // local.get's LEB128 index ends at the first byte below 0x80
    while ((bytes[end] as number) & 0x80) end++;
    const get = plain.slice(at + 3, end + 1);
    bytes.set(get, at);
    bytes.set([0xfd, 0x85, 0x02, 0x01, 0x01, 0x01], at + get.length);
  }
  return bytes;
}

/** The SIMD math engine, or undefined where WebAssembly SIMD is unavailable. */
export function simdMath(): SimdMath | undefined {
  if (engine === null) engine = load();
  return engine;
}

function load(): SimdMath | undefined {
  try {
    if (typeof WebAssembly !== "object") return undefined;
    const plain = decode(mathWasm);
    if (!WebAssembly.validate(plain)) return undefined; // no SIMD
    const fused = hasRelaxedSimd() ? withRelaxedMadd(plain) : undefined;
    const relaxed = fused !== undefined && WebAssembly.validate(fused);
    const ex = new WebAssembly.Instance(new WebAssembly.Module(relaxed ? (fused as Uint8Array<ArrayBuffer>) : plain), {
      Math: { log: Math.log },
    }).exports;
    const memory = ex.memory as WebAssembly.Memory;
    // One page (64 KiB) holds CHUNK floats plus the padding lanes. The recurrent cells grow the
    // memory, which detaches the views: they are rebuilt then.
    let buf = new Float32Array(memory.buffer, HEAP_BASE, CHUNK + 4);
    let full = buf.subarray(0, CHUNK);
    let all = new Float32Array(memory.buffer, HEAP_BASE);
    const heap = (floats: number): Float32Array => {
      if (all.length < floats) {
        memory.grow(Math.ceil((HEAP_BASE + floats * 4 - memory.buffer.byteLength) / 65536));
        buf = new Float32Array(memory.buffer, HEAP_BASE, CHUNK + 4);
        full = buf.subarray(0, CHUNK);
        all = new Float32Array(memory.buffer, HEAP_BASE);
      }
      return all;
    };
    const maps: Record<SimdUnary, MapFn> = {
      exp: ex.exp_f32 as MapFn,
      sigmoid: ex.sigmoid_f32 as MapFn,
      tanh: ex.tanh_f32 as MapFn,
      erf: ex.erf_f32 as MapFn,
    };
    const expShiftSum = ex.exp_shift_sum_f32 as (p: number, n: number, shift: number) => number;
    const softmaxRows = ex.softmax_rows_f32 as (p: number, rows: number, ld: number, n: number, log: number) => void;
    return {
      relaxed,
      heap,
      lstmCell: ex.lstm_cell_f32 as SimdMath["lstmCell"],
      gruCell: ex.gru_cell_f32 as SimdMath["gruCell"],
      stream(fn, out, o) {
        const map = maps[fn];
        let fill = 0;
        const run = () => {
          map(HEAP_BASE, fill);
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
          sum += expShiftSum(HEAP_BASE, m, shift);
          out.set(buf.subarray(0, m), o + done);
        }
        return sum;
      },
      softmaxRows(out, o, src, p, rows, n, log) {
        if (n > CHUNK || n === 0) return false;
        // Rows padded to pairs of vectors (-inf: nothing for the max, e^-inf = 0 for the sum), as
        // many per call as the buffer holds; rows of a multiple of 8 move in one copy each way.
        const ld = (n + 7) & ~7;
        const per = Math.floor(CHUNK / ld);
        for (let r0 = 0; r0 < rows; r0 += per) {
          const k = Math.min(per, rows - r0);
          const s0 = p + r0 * n;
          const o0 = o + r0 * n;
          if (ld === n) buf.set(src.subarray(s0, s0 + k * n));
          else {
            for (let r = 0; r < k; r++) {
              buf.set(src.subarray(s0 + r * n, s0 + r * n + n), r * ld);
              buf.fill(Number.NEGATIVE_INFINITY, r * ld + n, r * ld + ld);
            }
          }
          softmaxRows(HEAP_BASE, k, ld, n, log ? 1 : 0);
          if (ld === n) out.set(k * n === CHUNK ? full : buf.subarray(0, k * n), o0);
          else for (let r = 0; r < k; r++) out.set(buf.subarray(r * ld, r * ld + n), o0 + r * n);
        }
        return true;
      },
    };
  } catch {
    return undefined;
  }
}
