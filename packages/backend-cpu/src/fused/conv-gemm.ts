import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { convWasm } from "../conv-wasm.js";
import { gemmWasm } from "../gemm-wasm.js";
import { allocArrayUninit } from "../storage.js";
import { FN_GEMM_F32, FN_PACK_B, FN_PACK_BT, type ThreadRunner, threadMinWork, threadRunner } from "../threads/runner.js";

/**
 * conv2d forward as an implicit GEMM, per image: Y[n] (O x ho*wo, row-major = NCHW) =
 * W (O x K) . windows(x[n]) (K x ho*wo), K = C*kh*kw. The windows are never materialised as an
 * im2col matrix: they are packed straight from a zero-padded copy of the image into the matmul
 * micro-kernel's B panels (8 output pixels wide, k-major), the weights once into its A panels
 * (4 rows tall), and the kernel's C tile rows are the output's NCHW rows. One copy of the image,
 * one packing pass, the products, one pass out (adding the bias); pixels in blocks of NB, so the
 * module's memory holds the packed weights plus one B block and one C block: against im2col + matmul, no
 * separate column matrix, no re-pack of it and no permute of the result.
 *
 * float32 only (the WebAssembly SIMD 4x8 kernel of wasm/gemm.wat, accumulating in float32 in the
 * same k-block order as matmul.ts, so the sums match the im2col + matmul path); other dtypes, or
 * an engine without WebAssembly SIMD, return undefined and the caller takes the generic path.
 */

const MR = 4;
const NR = 8;
const KC = 256; // k-block, as matmul.ts: a B panel (KC x NR) stays in L1
const NB = 256; // output pixels per packed B block (KC x NB floats, 256 KiB)
const GROUP_BYTES = 16 << 20; // images per job (threaded path): their canvases and outputs in about this much memory

/** The thread pool when it has more than one thread running and the product is big enough. */
function pool(madds: number): ThreadRunner | null {
  const r = threadRunner;
  return r && madds >= threadMinWork && r.threads() > 1 ? r : null;
}

type KernelFn = (ap: number, bp: number, c: number, mp: number, np: number, kc: number, ldc: number) => void;
type PackFn = (bp: number, canvas: number, taps: number, kc: number, corners: number, np: number) => void;
type PackTFn = (bp: number, canvas: number, taps: number, np: number, corners: number, kc: number) => void;
interface Engine {
  run: KernelFn;
  pack: PackFn;
  packT: PackTFn;
  memory: WebAssembly.Memory;
}

const wasmBytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

let engine: Engine | undefined | null = null;

/** A private instance of the gemm module (its own memory: this kernel's layout is not matmul.ts's). */
function getEngine(): Engine | undefined {
  if (engine !== null) return engine;
  engine = undefined;
  try {
    if (typeof WebAssembly !== "object") return engine;
    const gemm = wasmBytes(gemmWasm);
    const conv = wasmBytes(convWasm);
    if (!WebAssembly.validate(gemm) || !WebAssembly.validate(conv)) return engine;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(gemm), { gemm: { memory } }).exports;
    // The packing module works in the same memory: its panels are the kernel's input.
    const packs = new WebAssembly.Instance(new WebAssembly.Module(conv), { gemm: { memory } }).exports;
    engine = { run: ex.gemm_f32 as KernelFn, pack: packs.pack_b as PackFn, packT: packs.pack_bt as PackTFn, memory };
  } catch {
    engine = undefined;
  }
  return engine;
}

/** Float32 view of the engine's memory, at least `floats` long (growing invalidates old views). */
function heap(e: Engine, floats: number): Float32Array {
  const bytes = floats * 4;
  const have = e.memory.buffer.byteLength;
  if (bytes > have) e.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(e.memory.buffer);
}

export function conv2dGemm(x: StridedRef, w: StridedRef, bias: StridedRef | null, g: WindowGeometry): HostArray | undefined {
  if (x.dtype !== "float32" || w.dtype !== "float32" || (bias && bias.dtype !== "float32")) return undefined;
  const e = getEngine();
  if (!e) return undefined;
  const O = w.shape[0] as number;
  const { n: N, c: C, kh, kw, ho, wo } = g;
  const K = C * kh * kw;
  const L = ho * wo;
  const out = allocArrayUninit(N * O * L, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (K === 0) return out.fill(0);
  const r = pool(N * O * L * K);
  if (r) return conv2dThreaded(r, out, x, w, bias, g);
  const mp = Math.ceil(O / MR);
  const Lp = Math.ceil(L / NR) * NR;
  const nkb = Math.ceil(K / KC);
  // Layout in the module's memory (floats): A panels (all k-blocks), one B block, one C block (Opad x NB).
  const aBase = 0;
  const bBase = aBase + mp * MR * K;
  const cBase = bBase + Math.min(K, KC) * NB;
  // Then the zero-padded canvas of one image (the rows and columns the windows reach), and the
  // canvas byte offsets of each k's tap (c, i, j) and of each output pixel's window corner.
  const ch = (ho - 1) * g.sh + (kh - 1) * g.dh + 1;
  const cw = (wo - 1) * g.sw + (kw - 1) * g.dw + 1;
  const plane = ch * cw;
  const canvasBase = cBase + mp * MR * NB;
  const tapBase = canvasBase + C * plane;
  const cornerBase = tapBase + K;
  const f = heap(e, cornerBase + Lp);
  const i32 = new Int32Array(f.buffer);

  // A: for each k-block, mp panels of MR rows, k-major; rows beyond O are zero.
  const wd = w.data as Float32Array;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
  for (let kb = 0; kb < nkb; kb++) {
    const k0 = kb * KC;
    const kc = Math.min(KC, K - k0);
    const blk = aBase + mp * MR * k0;
    for (let ip = 0; ip < mp; ip++) {
      for (let r = 0; r < MR; r++) {
        const o = ip * MR + r;
        let q = blk + ip * MR * kc + r;
        for (let k = k0; k < k0 + kc; k++, q += MR) {
          if (o >= O) {
            f[q] = 0;
            continue;
          }
          const c = (k / (kh * kw)) | 0;
          const t = k - c * kh * kw;
          const i = (t / kw) | 0;
          f[q] = wd[w.offset + o * wsO + c * wsC + i * wsH + (t - i * kw) * wsW] as number;
        }
      }
    }
  }

  for (let k = 0; k < K; k++) {
    const c = (k / (kh * kw)) | 0;
    const t = k - c * kh * kw;
    const i = (t / kw) | 0;
    i32[tapBase + k] = 4 * (c * plane + i * g.dh * cw + (t - i * kw) * g.dw);
  }
  // Pixels past L (the last panel's padding) read any canvas cell; their lanes are zeroed after packing.
  i32.fill(0, cornerBase + L, cornerBase + Lp);
  for (let p = 0; p < L; p++) {
    const oy = (p / wo) | 0;
    i32[cornerBase + p] = 4 * (oy * g.sh * cw + (p - oy * wo) * g.sw);
  }
  const bd = bias ? (bias.data as HostArray) : null;
  const bs = bias ? (bias.strides[0] as number) : 0;
  const bOff = bias ? bias.offset : 0;

  for (let n = 0; n < N; n++) {
    fillCanvas(f, canvasBase, x, n, g, ch, cw);
    for (let p0 = 0; p0 < Lp; p0 += NB) {
      const nb = Math.min(NB, Lp - p0);
      f.fill(0, cBase, cBase + mp * MR * NB);
      for (let kb = 0; kb < nkb; kb++) {
        const k0 = kb * KC;
        const kc = Math.min(KC, K - k0);
        // B block: nb / NR panels of NR pixels, k-major; pixels beyond L are zero.
        e.pack(4 * bBase, 4 * canvasBase, 4 * (tapBase + k0), kc, 4 * (cornerBase + p0), nb / NR);
        if (p0 + nb > L) {
          const q0 = bBase + (nb - NR) * kc;
          for (let t = L - (p0 + nb - NR); t < NR; t++) for (let k = 0; k < kc; k++) f[q0 + k * NR + t] = 0;
        }
        e.run(4 * (aBase + mp * MR * k0), 4 * bBase, 4 * cBase, mp, nb / NR, kc, 4 * NB);
      }
      // Rows [0, O) of the C block are pixels [p0, p0 + nb) of the image's NCHW output rows.
      const m = Math.min(nb, L - p0);
      for (let o = 0; o < O; o++) {
        const src = cBase + o * NB;
        const dst = (n * O + o) * L + p0;
        if (bd) {
          const b = bd[bOff + o * bs] as number;
          for (let j = 0; j < m; j++) out[dst + j] = (f[src + j] as number) + b;
        } else out.set(f.subarray(src, src + m), dst);
      }
    }
  }
  return out;
}

/** Copies image n of x into the zero-padded canvas at f[base...] (C planes of ch x cw). */
function fillCanvas(f: Float32Array, base: number, x: StridedRef, n: number, g: WindowGeometry, ch: number, cw: number): void {
  const xd = x.data as HostArray;
  const [xsN, xsC, xsH, xsW] = x.strides as [number, number, number, number];
  const plane = ch * cw;
  f.fill(0, base, base + g.c * plane);
  const c0 = Math.max(0, g.pl);
  const c1 = Math.min(cw, g.w + g.pl);
  for (let c = 0; c < g.c; c++) {
    for (let r = Math.max(0, g.pt); r < Math.min(ch, g.h + g.pt); r++) {
      let q = x.offset + n * xsN + c * xsC + (r - g.pt) * xsH + (c0 - g.pl) * xsW;
      const o = base + c * plane + r * cw;
      for (let col = c0; col < c1; col++, q += xsW) f[o + col] = xd[q] as number;
    }
  }
}

/**
 * conv2d's weight gradient as an implicit GEMM: gW (O x K) = sum over images of gY[n] (O x ho*wo)
 * . windows(x[n])^T (ho*wo x K). gY is packed into the kernel's A panels (pixels as the k
 * dimension, in blocks of KC), the windows straight from the image's canvas into B panels of 8
 * taps (pack_bt), and the kernel accumulates every image and pixel block into one C (O x K) that
 * never leaves the module until the end. float32 only, as conv2dGemm.
 */
export function conv2dWeightGradGemm(gy: StridedRef, x: StridedRef, g: WindowGeometry): HostArray | undefined {
  if (x.dtype !== "float32" || gy.dtype !== "float32") return undefined;
  const e = getEngine();
  if (!e) return undefined;
  const O = gy.shape[1] as number;
  const { n: N, c: C, kh, kw, ho, wo } = g;
  const K = C * kh * kw;
  const L = ho * wo;
  const out = allocArrayUninit(O * K, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (N === 0 || L === 0) return out.fill(0);
  const r = pool(N * O * L * K);
  if (r) return weightGradThreaded(r, out, gy, x, g);
  const mp = Math.ceil(O / MR);
  const Kp = Math.ceil(K / NR) * NR;
  const ch = (ho - 1) * g.sh + (kh - 1) * g.dh + 1;
  const cw = (wo - 1) * g.sw + (kw - 1) * g.dw + 1;
  const plane = ch * cw;
  // Layout (floats): A block (mp*MR x KC), B block (Kp x KC), C (mp*MR x Kp), canvas, taps (Kp), corners (L).
  const aBase = 0;
  const bBase = aBase + mp * MR * KC;
  const cBase = bBase + Kp * KC;
  const canvasBase = cBase + mp * MR * Kp;
  const tapBase = canvasBase + C * plane;
  const cornerBase = tapBase + Kp;
  const f = heap(e, cornerBase + L);
  const i32 = new Int32Array(f.buffer);
  for (let k = 0; k < K; k++) {
    const c = (k / (kh * kw)) | 0;
    const t = k - c * kh * kw;
    const i = (t / kw) | 0;
    i32[tapBase + k] = 4 * (c * plane + i * g.dh * cw + (t - i * kw) * g.dw);
  }
  // Taps past K (the last panel's padding) read any canvas cell: they feed C columns that are dropped.
  i32.fill(0, tapBase + K, tapBase + Kp);
  const gyPix = new Int32Array(L); // gy's offset of each output pixel within an (n, o) plane
  const [gsN, gsO, gsH, gsW] = gy.strides as [number, number, number, number];
  for (let p = 0; p < L; p++) {
    const oy = (p / wo) | 0;
    i32[cornerBase + p] = 4 * (oy * g.sh * cw + (p - oy * wo) * g.sw);
    gyPix[p] = oy * gsH + (p - oy * wo) * gsW;
  }
  const gd = gy.data as HostArray;
  f.fill(0, cBase, cBase + mp * MR * Kp);
  for (let n = 0; n < N; n++) {
    fillCanvas(f, canvasBase, x, n, g, ch, cw);
    for (let p0 = 0; p0 < L; p0 += KC) {
      const kc = Math.min(KC, L - p0);
      // A block: mp panels of MR output channels, pixel-major; channels past O are zero.
      for (let ip = 0; ip < mp; ip++) {
        const q0 = aBase + ip * MR * kc;
        for (let r = 0; r < MR; r++) {
          const o = ip * MR + r;
          if (o >= O) {
            for (let j = 0; j < kc; j++) f[q0 + j * MR + r] = 0;
            continue;
          }
          const base = gy.offset + n * gsN + o * gsO;
          for (let j = 0; j < kc; j++) f[q0 + j * MR + r] = gd[base + (gyPix[p0 + j] as number)] as number;
        }
      }
      e.packT(4 * bBase, 4 * canvasBase, 4 * tapBase, Kp / NR, 4 * (cornerBase + p0), kc);
      e.run(4 * aBase, 4 * bBase, 4 * cBase, mp, Kp / NR, kc, 4 * Kp);
    }
  }
  for (let o = 0; o < O; o++) out.set(f.subarray(cBase + o * Kp, cBase + o * Kp + K), o * K);
  return out;
}

/**
 * conv2d's input gradient as a GEMM plus a scatter, per image: windows-gradient (K x ho*wo) =
 * W^T (K x O) . gY[n] (O x ho*wo), in blocks of NB pixels, each block's taps added straight into
 * the image's zero-padded canvas (col2im without a column matrix), whose interior is gX[n].
 * float32 only, as conv2dGemm.
 */
export function conv2dInputGradGemm(gy: StridedRef, w: StridedRef, g: WindowGeometry): HostArray | undefined {
  if (gy.dtype !== "float32" || w.dtype !== "float32") return undefined;
  const e = getEngine();
  if (!e) return undefined;
  const O = w.shape[0] as number;
  const { n: N, c: C, h: H, w: W, kh, kw, ho, wo } = g;
  const K = C * kh * kw;
  const L = ho * wo;
  const out = allocArrayUninit(N * C * H * W, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (O === 0 || L === 0) return out.fill(0);
  const r = pool(N * O * L * K);
  if (r) return inputGradThreaded(r, out, gy, w, g);
  const mp = Math.ceil(K / MR);
  const Lp = Math.ceil(L / NR) * NR;
  const nob = Math.ceil(O / KC);
  const ch = (ho - 1) * g.sh + (kh - 1) * g.dh + 1;
  const cw = (wo - 1) * g.sw + (kw - 1) * g.dw + 1;
  const plane = ch * cw;
  // Layout (floats): A (W^T panels, all o-blocks), B block (KC x NB), C block (mp*MR x NB), canvas.
  const aBase = 0;
  const bBase = aBase + mp * MR * O;
  const cBase = bBase + KC * NB;
  const canvasBase = cBase + mp * MR * NB;
  const f = heap(e, canvasBase + C * plane);
  // A: for each o-block, mp panels of MR taps, o-major; taps past K are zero.
  const wd = w.data as HostArray;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
  const wOff = new Int32Array(K); // weight offset of tap k within an output channel
  const tap = new Int32Array(K); // canvas offset of tap k
  for (let k = 0; k < K; k++) {
    const c = (k / (kh * kw)) | 0;
    const t = k - c * kh * kw;
    const i = (t / kw) | 0;
    const j = t - i * kw;
    wOff[k] = w.offset + c * wsC + i * wsH + j * wsW;
    tap[k] = c * plane + i * g.dh * cw + j * g.dw;
  }
  for (let ob = 0; ob < nob; ob++) {
    const o0 = ob * KC;
    const kc = Math.min(KC, O - o0);
    const blk = aBase + mp * MR * o0;
    for (let ip = 0; ip < mp; ip++) {
      for (let r = 0; r < MR; r++) {
        const k = ip * MR + r;
        let q = blk + ip * MR * kc + r;
        for (let o = o0; o < o0 + kc; o++, q += MR) f[q] = k < K ? (wd[(wOff[k] as number) + o * wsO] as number) : 0;
      }
    }
  }
  const corner = new Int32Array(L);
  const gyPix = new Int32Array(L);
  const [gsN, gsO, gsH, gsW] = gy.strides as [number, number, number, number];
  for (let p = 0; p < L; p++) {
    const oy = (p / wo) | 0;
    corner[p] = oy * g.sh * cw + (p - oy * wo) * g.sw;
    gyPix[p] = oy * gsH + (p - oy * wo) * gsW;
  }
  const gd = gy.data as HostArray;
  for (let n = 0; n < N; n++) {
    f.fill(0, canvasBase, canvasBase + C * plane);
    for (let p0 = 0; p0 < Lp; p0 += NB) {
      const nb = Math.min(NB, Lp - p0);
      const m = Math.min(nb, L - p0);
      f.fill(0, cBase, cBase + mp * MR * NB);
      for (let ob = 0; ob < nob; ob++) {
        const o0 = ob * KC;
        const kc = Math.min(KC, O - o0);
        // B block: nb / NR panels of NR pixels of gy, o-major; pixels past L are zero.
        for (let jp = 0; jp < nb; jp += NR) {
          let q = bBase + jp * kc;
          for (let o = o0; o < o0 + kc; o++, q += NR) {
            const base = gy.offset + n * gsN + o * gsO;
            for (let t = 0; t < NR; t++) {
              const p = p0 + jp + t;
              f[q + t] = p < L ? (gd[base + (gyPix[p] as number)] as number) : 0;
            }
          }
        }
        e.run(4 * (aBase + mp * MR * o0), 4 * bBase, 4 * cBase, mp, nb / NR, kc, 4 * NB);
      }
      // Scatter: every tap of every pixel of the block into its canvas cell (col2im).
      for (let k = 0; k < K; k++) {
        const s = canvasBase + (tap[k] as number);
        const src = cBase + k * NB;
        for (let j = 0; j < m; j++) {
          const q = s + (corner[p0 + j] as number);
          f[q] = (f[q] as number) + (f[src + j] as number);
        }
      }
    }
    // The canvas interior is the image's gradient; input rows and columns no window reaches get 0.
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < H; r++) {
        const o = ((n * C + c) * H + r) * W;
        const cr = r + g.pt;
        if (cr >= ch) {
          out.fill(0, o, o + W);
          continue;
        }
        const rowBase = canvasBase + c * plane + cr * cw + g.pl;
        for (let col = 0; col < W; col++) out[o + col] = col + g.pl < cw ? (f[rowBase + col] as number) : 0;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The same three kernels on the thread pool (threads/): images in groups whose canvases and
// products fit GROUP_BYTES; the calling thread copies the group's images into their canvases
// (and packs what comes from JS arrays), the tasks pack and multiply in the shared memory, and the
// calling thread copies the results out. Each output element is summed by the same kernel calls in
// the same order as above (tasks never split a sum), so the bits do not depend on the threads.

/** Canvas geometry and the tap / corner byte-offset tables (as in the one-thread kernels). */
function windows(g: WindowGeometry) {
  const ch = (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  const cw = (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  const plane = ch * cw;
  const K = g.c * g.kh * g.kw;
  const L = g.ho * g.wo;
  const taps = new Int32Array(Math.ceil(K / NR) * NR); // past K: 0 (read any cell; dropped)
  for (let k = 0; k < K; k++) {
    const c = (k / (g.kh * g.kw)) | 0;
    const t = k - c * g.kh * g.kw;
    const i = (t / g.kw) | 0;
    taps[k] = 4 * (c * plane + i * g.dh * cw + (t - i * g.kw) * g.dw);
  }
  const corners = new Int32Array(Math.ceil(L / NR) * NR); // past L: 0 (dropped columns)
  for (let p = 0; p < L; p++) {
    const oy = (p / g.wo) | 0;
    corners[p] = 4 * (oy * g.sh * cw + (p - oy * g.wo) * g.sw);
  }
  return { ch, cw, plane, K, L, taps, corners };
}

const align4 = (floats: number) => Math.ceil(floats / 4) * 4; // 16-byte aligned float offsets

function conv2dThreaded(
  r: ThreadRunner,
  out: Float32Array,
  x: StridedRef,
  w: StridedRef,
  bias: StridedRef | null,
  g: WindowGeometry,
): Float32Array {
  const O = w.shape[0] as number;
  const N = g.n;
  const { ch, cw, plane, K, L, taps, corners } = windows(g);
  const mp = Math.ceil(O / MR);
  const Lp = corners.length;
  const nkb = Math.ceil(K / KC);
  const perImage = g.c * plane + mp * MR * Lp;
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / perImage)));
  // Layout (floats): A panels (all k-blocks), taps, corners, G canvases, G outputs (mp*MR x Lp).
  const aBase = 0;
  const tapBase = align4(aBase + mp * MR * K);
  const cornerBase = align4(tapBase + taps.length);
  const canvasBase = align4(cornerBase + Lp);
  const outBase = align4(canvasBase + G * g.c * plane);
  const end = align4(outBase + G * mp * MR * Lp);
  const f = new Float32Array(r.reserve(end * 4));
  const i32 = new Int32Array(f.buffer);
  i32.set(taps, tapBase);
  i32.set(corners, cornerBase);
  const wd = w.data as Float32Array;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
  const { kh, kw } = g;
  for (let kb = 0; kb < nkb; kb++) {
    const k0 = kb * KC;
    const kc = Math.min(KC, K - k0);
    const blk = aBase + mp * MR * k0;
    for (let ip = 0; ip < mp; ip++) {
      for (let rr = 0; rr < MR; rr++) {
        const o = ip * MR + rr;
        let q = blk + ip * MR * kc + rr;
        for (let k = k0; k < k0 + kc; k++, q += MR) {
          if (o >= O) {
            f[q] = 0;
            continue;
          }
          const c = (k / (kh * kw)) | 0;
          const t = k - c * kh * kw;
          const i = (t / kw) | 0;
          f[q] = wd[w.offset + o * wsO + c * wsC + i * wsH + (t - i * kw) * wsW] as number;
        }
      }
    }
  }
  const bd = bias ? (bias.data as HostArray) : null;
  const bs = bias ? (bias.strides[0] as number) : 0;
  const bOff = bias ? bias.offset : 0;
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    for (let i = 0; i < gn; i++) fillCanvas(f, canvasBase + i * g.c * plane, x, n0 + i, g, ch, cw);
    const job = r.job(end * 4, 4 * Math.min(K, KC) * NB);
    for (let i = 0; i < gn; i++) {
      const canvas = 4 * (canvasBase + i * g.c * plane);
      const cOut = outBase + i * mp * MR * Lp;
      for (let p0 = 0; p0 < Lp; p0 += NB) {
        const np = Math.min(NB, Lp - p0) / NR;
        job.task();
        for (let kb = 0; kb < nkb; kb++) {
          const k0 = kb * KC;
          const kc = Math.min(KC, K - k0);
          // The B block is the thread's scratch (rel bit 0 / bit 1: argument + scratch address).
          job.call(FN_PACK_B, 1, 0, canvas, 4 * (tapBase + k0), kc, 4 * (cornerBase + p0), np);
          job.call(FN_GEMM_F32, 2, 4 * (aBase + mp * MR * k0), 0, 4 * (cOut + p0), mp, np, kc, 4 * Lp, kb === 0 ? 1 : 0);
        }
      }
    }
    job.run();
    for (let i = 0; i < gn; i++) {
      const cOut = outBase + i * mp * MR * Lp;
      for (let o = 0; o < O; o++) {
        const src = cOut + o * Lp;
        const dst = ((n0 + i) * O + o) * L;
        if (bd) {
          const b = bd[bOff + o * bs] as number;
          for (let j = 0; j < L; j++) out[dst + j] = (f[src + j] as number) + b;
        } else out.set(f.subarray(src, src + L), dst);
      }
    }
  }
  return out;
}

function weightGradThreaded(r: ThreadRunner, out: Float32Array, gy: StridedRef, x: StridedRef, g: WindowGeometry): Float32Array {
  const O = gy.shape[1] as number;
  const N = g.n;
  const { ch, cw, plane, K, L, taps, corners } = windows(g);
  const mp = Math.ceil(O / MR);
  const Kp = taps.length;
  const npb = Math.ceil(L / KC); // pixel blocks per image
  const aPer = npb * mp * MR * KC; // one image's A blocks
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / (g.c * plane + aPer))));
  // Layout (floats): taps, corners, C (mp*MR x Kp), B (Kp/NR panels of KC x NR), G canvases, G images' A blocks.
  const tapBase = 0;
  const cornerBase = align4(tapBase + Kp);
  const cBase = align4(cornerBase + corners.length);
  const bBase = align4(cBase + mp * MR * Kp);
  const canvasBase = align4(bBase + Kp * KC);
  const aBase = align4(canvasBase + G * g.c * plane);
  const end = align4(aBase + G * aPer);
  const f = new Float32Array(r.reserve(end * 4));
  const i32 = new Int32Array(f.buffer);
  i32.set(taps, tapBase);
  i32.set(corners, cornerBase);
  const gyPix = new Int32Array(L);
  const [gsN, gsO, gsH, gsW] = gy.strides as [number, number, number, number];
  for (let p = 0; p < L; p++) {
    const oy = (p / g.wo) | 0;
    gyPix[p] = oy * gsH + (p - oy * g.wo) * gsW;
  }
  const gd = gy.data as HostArray;
  const panels = Kp / NR;
  const chunk = Math.max(1, Math.ceil(panels / (2 * r.threads())));
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    for (let i = 0; i < gn; i++) {
      const n = n0 + i;
      fillCanvas(f, canvasBase + i * g.c * plane, x, n, g, ch, cw);
      for (let b = 0; b < npb; b++) {
        const p0 = b * KC;
        const kc = Math.min(KC, L - p0);
        const a0 = aBase + i * aPer + b * mp * MR * KC;
        for (let ip = 0; ip < mp; ip++) {
          const q0 = a0 + ip * MR * kc;
          for (let rr = 0; rr < MR; rr++) {
            const o = ip * MR + rr;
            if (o >= O) {
              for (let j = 0; j < kc; j++) f[q0 + j * MR + rr] = 0;
              continue;
            }
            const base = gy.offset + n * gsN + o * gsO;
            for (let j = 0; j < kc; j++) f[q0 + j * MR + rr] = gd[base + (gyPix[p0 + j] as number)] as number;
          }
        }
      }
    }
    // Tasks: column panels (taps) of C, each over every image and pixel block in order.
    const job = r.job(end * 4);
    for (let j0 = 0; j0 < panels; j0 += chunk) {
      const nj = Math.min(chunk, panels - j0);
      const bp = 4 * (bBase + j0 * NR * KC);
      job.task();
      for (let i = 0; i < gn; i++) {
        for (let b = 0; b < npb; b++) {
          const p0 = b * KC;
          const kc = Math.min(KC, L - p0);
          job.call(FN_PACK_BT, 0, bp, 4 * (canvasBase + i * g.c * plane), 4 * (tapBase + j0 * NR), nj, 4 * (cornerBase + p0), kc);
          const first = n0 === 0 && i === 0 && b === 0 ? 1 : 0;
          job.call(FN_GEMM_F32, 0, 4 * (aBase + i * aPer + b * mp * MR * KC), bp, 4 * (cBase + j0 * NR), mp, nj, kc, 4 * Kp, first);
        }
      }
    }
    job.run();
  }
  for (let o = 0; o < O; o++) out.set(f.subarray(cBase + o * Kp, cBase + o * Kp + K), o * K);
  return out;
}

function inputGradThreaded(r: ThreadRunner, out: Float32Array, gy: StridedRef, w: StridedRef, g: WindowGeometry): Float32Array {
  const O = w.shape[0] as number;
  const { n: N, c: C, h: H, w: W, kh, kw, wo } = g;
  const { ch, cw, plane, K, L } = windows(g);
  const mp = Math.ceil(K / MR);
  const Lp = Math.ceil(L / NR) * NR;
  const nob = Math.ceil(O / KC);
  const npb = Math.ceil(Lp / NB);
  // Per image and pixel block: gy's B panels (O x NB) and the product (mp*MR x NB).
  const perBlock = O * NB + mp * MR * NB;
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / (npb * perBlock))));
  // Layout (floats): A (W^T panels, all o-blocks), canvas, then G * npb blocks of [B | C].
  const aBase = 0;
  const canvasBase = align4(aBase + mp * MR * O);
  const blkBase = align4(canvasBase + C * plane);
  const end = align4(blkBase + G * npb * perBlock);
  const f = new Float32Array(r.reserve(end * 4));
  const wd = w.data as HostArray;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
  const wOff = new Int32Array(K);
  const tap = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    const c = (k / (kh * kw)) | 0;
    const t = k - c * kh * kw;
    const i = (t / kw) | 0;
    const j = t - i * kw;
    wOff[k] = w.offset + c * wsC + i * wsH + j * wsW;
    tap[k] = c * plane + i * g.dh * cw + j * g.dw;
  }
  for (let ob = 0; ob < nob; ob++) {
    const o0 = ob * KC;
    const kc = Math.min(KC, O - o0);
    const blk = aBase + mp * MR * o0;
    for (let ip = 0; ip < mp; ip++) {
      for (let rr = 0; rr < MR; rr++) {
        const k = ip * MR + rr;
        let q = blk + ip * MR * kc + rr;
        for (let o = o0; o < o0 + kc; o++, q += MR) f[q] = k < K ? (wd[(wOff[k] as number) + o * wsO] as number) : 0;
      }
    }
  }
  const corner = new Int32Array(L);
  const gyPix = new Int32Array(L);
  const [gsN, gsO, gsH, gsW] = gy.strides as [number, number, number, number];
  for (let p = 0; p < L; p++) {
    const oy = (p / wo) | 0;
    corner[p] = oy * g.sh * cw + (p - oy * wo) * g.sw;
    gyPix[p] = oy * gsH + (p - oy * wo) * gsW;
  }
  const gd = gy.data as HostArray;
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    const job = r.job(end * 4);
    for (let i = 0; i < gn; i++) {
      const n = n0 + i;
      for (let b = 0; b < npb; b++) {
        const p0 = b * NB;
        const nb = Math.min(NB, Lp - p0);
        const bBlk = blkBase + (i * npb + b) * perBlock;
        const cBlk = bBlk + O * NB;
        job.task();
        for (let ob = 0; ob < nob; ob++) {
          const o0 = ob * KC;
          const kc = Math.min(KC, O - o0);
          // B block (o-block ob): nb / NR panels of NR pixels of gy, o-major; pixels past L are zero.
          const bq = bBlk + o0 * nb;
          for (let jp = 0; jp < nb; jp += NR) {
            let q = bq + jp * kc;
            for (let o = o0; o < o0 + kc; o++, q += NR) {
              const base = gy.offset + n * gsN + o * gsO;
              for (let t = 0; t < NR; t++) {
                const p = p0 + jp + t;
                f[q + t] = p < L ? (gd[base + (gyPix[p] as number)] as number) : 0;
              }
            }
          }
          job.call(FN_GEMM_F32, 0, 4 * (aBase + mp * MR * o0), 4 * bq, 4 * cBlk, mp, nb / NR, kc, 4 * NB, ob === 0 ? 1 : 0);
        }
      }
    }
    job.run();
    for (let i = 0; i < gn; i++) {
      const n = n0 + i;
      f.fill(0, canvasBase, canvasBase + C * plane);
      for (let b = 0; b < npb; b++) {
        const p0 = b * NB;
        const m = Math.min(NB, L - p0);
        const cBlk = blkBase + (i * npb + b) * perBlock + O * NB;
        for (let k = 0; k < K; k++) {
          const s = canvasBase + (tap[k] as number);
          const src = cBlk + k * NB;
          for (let j = 0; j < m; j++) {
            const q = s + (corner[p0 + j] as number);
            f[q] = (f[q] as number) + (f[src + j] as number);
          }
        }
      }
      for (let c = 0; c < C; c++) {
        for (let row = 0; row < H; row++) {
          const o = ((n * C + c) * H + row) * W;
          const cr = row + g.pt;
          if (cr >= ch) {
            out.fill(0, o, o + W);
            continue;
          }
          const rowBase = canvasBase + c * plane + cr * cw + g.pl;
          for (let col = 0; col < W; col++) out[o + col] = col + g.pl < cw ? (f[rowBase + col] as number) : 0;
        }
      }
    }
  }
  return out;
}
