import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { convWasm } from "../conv-wasm.js";
import { gemmWasm } from "../gemm-wasm.js";
import { allocArrayUninit } from "../storage.js";

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
    const ex = new WebAssembly.Instance(new WebAssembly.Module(gemm), {}).exports;
    const memory = ex.memory as WebAssembly.Memory;
    // The packing module works in the gemm module's memory: its panels are the kernel's input.
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
