import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { convWasm } from "../conv-wasm.js";
import { gemmWasm } from "../gemm-wasm.js";
import { allocArrayUninit } from "../storage.js";
import {
  CONV_KERNELS,
  FN_ADD_BIAS,
  FN_GEMM_F32,
  FN_PACK_A,
  FN_PACK_B,
  FN_PACK_BT,
  FN_PAD_IMAGE,
  FN_SCATTER_ADD,
  FN_UNPAD_IMAGE,
  FN_ZERO,
  GEMM_KERNELS,
  type ThreadRunner,
  threadMinWork,
  threadRunner,
} from "../threads/runner.js";

/**
 * conv2d forward as an implicit GEMM, per image: Y[n] (O x ho*wo, row-major = NCHW) =
 * W (O x K) . windows(x[n]) (K x ho*wo), K = C*kh*kw. The windows are never materialised as an
 * im2col matrix: they are packed straight from a zero-padded copy of the image (its canvas) into
 * the matmul micro-kernel's B panels (8 output pixels wide, k-major), the weights once into its A
 * panels (4 rows tall), and the kernel's C tile rows are the output's NCHW rows (the bias added in
 * place). No column matrix, no re-pack of it, no permute of the result.
 *
 * Everything between the JS arrays and the results runs in WebAssembly (wasm/gemm.wat and
 * wasm/conv.wat, one memory): the calling thread only copies the inputs in and the results out
 * (a memcpy for contiguous tensors). The work is a list of kernel calls (a Job, threads/runner.ts)
 * that runs on the thread pool when one is installed and the product is big enough, else on this
 * thread as the calls are made. Tasks write disjoint memory and never split a sum, so the bits are
 * the same for any number of threads.
 *
 * float32 only (the 4x8 kernel accumulates in float32 in the same k-block order as matmul.ts, so
 * the sums match the im2col + matmul path); other dtypes, or an engine without WebAssembly SIMD,
 * return undefined and the caller takes the generic path.
 */

const MR = 4;
const NR = 8;
const KC = 256; // k-block, as matmul.ts: a B panel (KC x NR) stays in L1
const NB = 256; // output pixels per packed B block (KC x NB floats, 256 KiB)
const GROUP_BYTES = 16 << 20; // images per job: their copies, canvases and outputs in about this much memory

type Fn = (...a: number[]) => void;

const wasmBytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

let local: ThreadRunner | undefined | null = null;

/**
 * This thread's runner: private instances of the two modules over one memory (not shared), whose
 * jobs run each call as it is added. Its scratch area is at the job's `at`: callers reserve it.
 */
function localRunner(): ThreadRunner | undefined {
  if (local !== null) return local;
  local = undefined;
  try {
    if (typeof WebAssembly !== "object") return local;
    const gemm = wasmBytes(gemmWasm);
    const conv = wasmBytes(convWasm);
    if (!WebAssembly.validate(gemm) || !WebAssembly.validate(conv)) return local;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const fns: Fn[] = [];
    for (const [bytes, names] of [
      [gemm, GEMM_KERNELS],
      [conv, CONV_KERNELS],
    ] as const) {
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { gemm: { memory } }).exports;
      for (const name of names) fns.push(ex[name] as Fn);
    }
    const reserve = (bytes: number) => {
      const have = memory.buffer.byteLength;
      if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
      return memory.buffer;
    };
    local = {
      threads: () => 1,
      memory,
      fns,
      reserve,
      job(at: number) {
        const s = Math.ceil(at / 16) * 16;
        return {
          task() {},
          call(fn, rel, a0, a1, a2, a3, a4, a5, a6 = 0, a7 = 0) {
            (fns[fn] as Fn)(
              a0 + (rel & 1 ? s : 0),
              a1 + (rel & 2 ? s : 0),
              a2 + (rel & 4 ? s : 0),
              a3 + (rel & 8 ? s : 0),
              a4 + (rel & 16 ? s : 0),
              a5 + (rel & 32 ? s : 0),
              a6 + (rel & 64 ? s : 0),
              a7 + (rel & 128 ? s : 0),
            );
          },
          run() {},
          start() {},
          finish() {},
        };
      },
    };
  } catch {
    local = undefined; // no WebAssembly, or a sandbox that forbids compiling it
  }
  return local;
}

/** The pool for a product of `madds` multiply-adds when it has threads running and the product is big enough; else this thread's runner. */
function runner(madds: number): ThreadRunner | undefined {
  const r = threadRunner;
  return r && madds >= threadMinWork && r.threads() > 1 ? r : localRunner();
}

/**
 * The memory for a layout of `floats` floats plus `scratchBytes` of per-thread scratch (the local
 * runner's scratch follows the layout; a grown non-shared memory detaches old views, so views are
 * taken after this).
 */
function heap(r: ThreadRunner, floats: number, scratchBytes: number): Float32Array {
  return new Float32Array(r.reserve(floats * 4 + scratchBytes + 64));
}

/** Canvas geometry and the tap / corner byte-offset tables. */
function windows(g: WindowGeometry) {
  const ch = (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  const cw = (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  const plane = ch * cw;
  const K = g.c * g.kh * g.kw;
  const L = g.ho * g.wo;
  // Taps past K and corners past L (the last panels' padding) are 0: they read some canvas cell and
  // feed only C columns that are dropped.
  const taps = new Int32Array(Math.ceil(K / NR) * NR);
  for (let k = 0; k < K; k++) {
    const c = (k / (g.kh * g.kw)) | 0;
    const t = k - c * g.kh * g.kw;
    const i = (t / g.kw) | 0;
    taps[k] = 4 * (c * plane + i * g.dh * cw + (t - i * g.kw) * g.dw);
  }
  const corners = new Int32Array(Math.ceil(L / NR) * NR);
  for (let p = 0; p < L; p++) {
    const oy = (p / g.wo) | 0;
    corners[p] = 4 * (oy * g.sh * cw + (p - oy * g.wo) * g.sw);
  }
  // pad_image / unpad_image's geometry: [C, H, W, ch, cw, pt, pl].
  const geom = new Int32Array([g.c, g.h, g.w, ch, cw, g.pt, g.pl, 0]);
  return { ch, cw, plane, K, L, taps, corners, geom };
}

const align4 = (floats: number) => Math.ceil(floats / 4) * 4; // 16-byte aligned float offsets

/** Copies images [n0, n0 + count) of a 4-d tensor (any strides) to f[at + i * stride ...] as contiguous [C, H, W]. */
function copyImages(f: Float32Array, at: number, stride: number, x: StridedRef, n0: number, count: number): void {
  const [, C, H, W] = x.shape as [number, number, number, number];
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const xd = x.data as Float32Array;
  const chw = C * H * W;
  const dense = (sW === 1 || W <= 1) && (sH === W || H <= 1) && (sC === H * W || C <= 1);
  for (let i = 0; i < count; i++) {
    const src = x.offset + (n0 + i) * sN;
    const dst = at + i * stride;
    if (dense) f.set(xd.subarray(src, src + chw), dst);
    else {
      let q = dst;
      for (let c = 0; c < C; c++)
        for (let h = 0; h < H; h++) for (let w = 0, p = src + c * sC + h * sH; w < W; w++, p += sW) f[q++] = xd[p] as number;
    }
  }
}

export function conv2dGemm(x: StridedRef, w: StridedRef, bias: StridedRef | null, g: WindowGeometry): HostArray | undefined {
  if (x.dtype !== "float32" || w.dtype !== "float32" || (bias && bias.dtype !== "float32")) return undefined;
  const O = w.shape[0] as number;
  const { n: N, c: C, kh, kw } = g;
  const { plane, K, L, taps, corners, geom } = windows(g);
  const r = runner(N * O * L * K);
  if (!r) return undefined;
  const out = allocArrayUninit(N * O * L, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (K === 0) return out.fill(0);
  const mp = Math.ceil(O / MR);
  const Lp = corners.length;
  const nkb = Math.ceil(K / KC);
  const chw = C * g.h * g.w;
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / (chw + C * plane + mp * MR * Lp))));
  // Layout (floats): A panels (all k-blocks), taps, corners, geometry, bias, then per image of a
  // group: its copy, its canvas, its output (mp*MR rows of Lp). Scratch: one B block per thread.
  const aBase = 0;
  const tapBase = align4(aBase + mp * MR * K);
  const cornerBase = align4(tapBase + taps.length);
  const geomBase = align4(cornerBase + Lp);
  const biasBase = align4(geomBase + geom.length);
  const rawBase = align4(biasBase + mp * MR);
  const canvasBase = align4(rawBase + G * chw);
  const outBase = align4(canvasBase + G * C * plane);
  const end = align4(outBase + G * mp * MR * Lp);
  const scratch = 4 * Math.min(K, KC) * NB;
  const f = heap(r, end, scratch);
  const i32 = new Int32Array(f.buffer);
  i32.set(taps, tapBase);
  i32.set(corners, cornerBase);
  i32.set(geom, geomBase);
  // A: for each k-block, mp panels of MR rows, k-major; rows beyond O are zero.
  const wd = w.data as Float32Array;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
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
  if (bias) {
    const bd = bias.data as HostArray;
    for (let o = 0; o < O; o++) f[biasBase + o] = bd[bias.offset + o * (bias.strides[0] as number)] as number;
  }
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    copyImages(f, rawBase, chw, x, n0, gn);
    const pad = r.job(end * 4);
    for (let i = 0; i < gn; i++) {
      pad.task();
      pad.call(FN_PAD_IMAGE, 0, 4 * (canvasBase + i * C * plane), 4 * (rawBase + i * chw), 4 * geomBase, 0, 0, 0);
    }
    pad.run();
    // Tasks: (image, block of NB pixels); the B block is the thread's scratch (rel bits: argument
    // 0 of pack_b, argument 1 of gemm).
    const job = r.job(end * 4, scratch);
    for (let i = 0; i < gn; i++) {
      const canvas = 4 * (canvasBase + i * C * plane);
      const y = outBase + i * mp * MR * Lp;
      for (let p0 = 0; p0 < Lp; p0 += NB) {
        const np = Math.min(NB, Lp - p0) / NR;
        job.task();
        for (let kb = 0; kb < nkb; kb++) {
          const k0 = kb * KC;
          const kc = Math.min(KC, K - k0);
          job.call(FN_PACK_B, 1, 0, canvas, 4 * (tapBase + k0), kc, 4 * (cornerBase + p0), np);
          job.call(FN_GEMM_F32, 2, 4 * (aBase + mp * MR * k0), 0, 4 * (y + p0), mp, np, kc, 4 * Lp, kb === 0 ? 1 : 0);
        }
        if (bias) job.call(FN_ADD_BIAS, 0, 4 * (y + p0), 4 * biasBase, O, np * NR, 4 * Lp, 0);
      }
    }
    job.run();
    // Rows [0, O) of each output are the image's NCHW output rows (one copy when unpadded).
    for (let i = 0; i < gn; i++) {
      const y = outBase + i * mp * MR * Lp;
      const dst = (n0 + i) * O * L;
      if (L === Lp) out.set(f.subarray(y, y + O * L), dst);
      else for (let o = 0; o < O; o++) out.set(f.subarray(y + o * Lp, y + o * Lp + L), dst + o * L);
    }
  }
  return out;
}

/**
 * conv2d's weight gradient as an implicit GEMM: gW (O x K) = sum over images of gY[n] (O x ho*wo)
 * . windows(x[n])^T (ho*wo x K). gY is packed into the kernel's A panels (pixels as the k
 * dimension, in blocks of KC), the windows straight from the image's canvas into B panels of 8
 * taps (pack_bt), and the kernel accumulates every image and pixel block into one C (O x K) that
 * never leaves the module until the end. Tasks: column panels (taps) of C, each over every image
 * and pixel block in order. float32 only, as conv2dGemm.
 */
export function conv2dWeightGradGemm(gy: StridedRef, x: StridedRef, g: WindowGeometry): HostArray | undefined {
  if (x.dtype !== "float32" || gy.dtype !== "float32") return undefined;
  const O = gy.shape[1] as number;
  const { n: N, c: C } = g;
  const { plane, K, L, taps, corners, geom } = windows(g);
  const r = runner(N * O * L * K);
  if (!r) return undefined;
  const out = allocArrayUninit(O * K, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (N === 0 || L === 0) return out.fill(0);
  const mp = Math.ceil(O / MR);
  const Kp = taps.length;
  const npb = Math.ceil(L / KC); // pixel blocks per image
  const aPer = npb * mp * MR * KC; // one image's A blocks
  const chw = C * g.h * g.w;
  const gyPer = mp * MR * L; // one image's gy rows, padded to mp*MR rows of zeros
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / (chw + C * plane + gyPer + aPer))));
  // Layout (floats): taps, corners, geometry, C (mp*MR x Kp), B (Kp/NR panels of KC x NR), then
  // per image of a group: its copy, its canvas, its gy rows, its A blocks.
  const tapBase = 0;
  const cornerBase = align4(tapBase + Kp);
  const geomBase = align4(cornerBase + corners.length);
  const cBase = align4(geomBase + geom.length);
  const bBase = align4(cBase + mp * MR * Kp);
  const rawBase = align4(bBase + Kp * KC);
  const canvasBase = align4(rawBase + G * chw);
  const gyBase = align4(canvasBase + G * C * plane);
  const aBase = align4(gyBase + G * gyPer);
  const end = align4(aBase + G * aPer);
  const f = heap(r, end, 0);
  const i32 = new Int32Array(f.buffer);
  i32.set(taps, tapBase);
  i32.set(corners, cornerBase);
  i32.set(geom, geomBase);
  for (let i = 0; i < G; i++) f.fill(0, gyBase + i * gyPer + O * L, gyBase + (i + 1) * gyPer);
  const panels = Kp / NR;
  const chunk = Math.max(1, Math.ceil(panels / (2 * r.threads())));
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    copyImages(f, rawBase, chw, x, n0, gn);
    copyImages(f, gyBase, gyPer, gy, n0, gn);
    // Each image's canvas and A blocks (mp panels of MR output channels, pixel-major).
    const prep = r.job(end * 4);
    for (let i = 0; i < gn; i++) {
      prep.task();
      prep.call(FN_PAD_IMAGE, 0, 4 * (canvasBase + i * C * plane), 4 * (rawBase + i * chw), 4 * geomBase, 0, 0, 0);
      for (let b = 0; b < npb; b++) {
        const p0 = b * KC;
        prep.call(
          FN_PACK_A,
          0,
          4 * (aBase + i * aPer + b * mp * MR * KC),
          4 * (gyBase + i * gyPer + p0),
          4 * L,
          Math.min(KC, L - p0),
          mp,
          0,
        );
      }
    }
    prep.run();
    const job = r.job(end * 4);
    for (let j0 = 0; j0 < panels; j0 += chunk) {
      const nj = Math.min(chunk, panels - j0);
      const bp = 4 * (bBase + j0 * NR * KC);
      job.task();
      for (let i = 0; i < gn; i++) {
        for (let b = 0; b < npb; b++) {
          const p0 = b * KC;
          const kc = Math.min(KC, L - p0);
          job.call(FN_PACK_BT, 0, bp, 4 * (canvasBase + i * C * plane), 4 * (tapBase + j0 * NR), nj, 4 * (cornerBase + p0), kc);
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

/**
 * conv2d's input gradient as a GEMM plus a scatter, per image: windows-gradient (K x ho*wo) =
 * W^T (K x O) . gY[n] (O x ho*wo), in blocks of NB pixels, each block's taps added straight into
 * the image's zero-padded canvas (col2im without a column matrix), whose interior is gX[n].
 * Tasks: one image each (its canvas is the thread's scratch). float32 only, as conv2dGemm.
 */
export function conv2dInputGradGemm(gy: StridedRef, w: StridedRef, g: WindowGeometry): HostArray | undefined {
  if (gy.dtype !== "float32" || w.dtype !== "float32") return undefined;
  const O = w.shape[0] as number;
  const { n: N, c: C, h: H, w: W, kh, kw } = g;
  const { plane, K, L, taps, corners, geom } = windows(g);
  const r = runner(N * O * L * K);
  if (!r) return undefined;
  const out = allocArrayUninit(N * C * H * W, "float32") as Float32Array;
  if (out.length === 0) return out;
  if (O === 0 || L === 0) return out.fill(0);
  const mp = Math.ceil(K / MR);
  const Lp = corners.length;
  const nob = Math.ceil(O / KC);
  const chw = C * H * W;
  const G = Math.max(1, Math.min(N, Math.floor(GROUP_BYTES / 4 / (O * L + chw))));
  // Layout (floats): A (W^T panels, all o-blocks), taps, corners, gy's row offsets (o * L), the
  // identity corners (pixels of a gy row), geometry, then per image of a group: its gy rows
  // (+ 8 floats: the last panel reads past the last row), its gradient. Scratch per thread: one
  // B block, one C block and the canvas.
  const aBase = 0;
  const tapBase = align4(aBase + mp * MR * O);
  const cornerBase = align4(tapBase + taps.length);
  const rowBase = align4(cornerBase + Lp);
  const identBase = align4(rowBase + O);
  const geomBase = align4(identBase + Lp);
  const gyBase = align4(geomBase + geom.length);
  const gxBase = align4(gyBase + G * O * L + NR);
  const end = align4(gxBase + G * chw);
  const bRel = 0;
  const cRel = 4 * KC * NB;
  const canvasRel = cRel + 4 * mp * MR * NB;
  const scratch = canvasRel + 4 * C * plane;
  const f = heap(r, end, scratch);
  const i32 = new Int32Array(f.buffer);
  i32.set(taps, tapBase);
  i32.set(corners, cornerBase);
  for (let o = 0; o < O; o++) i32[rowBase + o] = 4 * o * L;
  for (let p = 0; p < Lp; p++) i32[identBase + p] = 4 * p;
  i32.set(geom, geomBase);
  // A: for each o-block, mp panels of MR taps, o-major; taps past K are zero.
  const wd = w.data as HostArray;
  const [wsO, wsC, wsH, wsW] = w.strides as [number, number, number, number];
  const wOff = new Int32Array(K); // weight offset of tap k within an output channel
  for (let k = 0; k < K; k++) {
    const c = (k / (kh * kw)) | 0;
    const t = k - c * kh * kw;
    const i = (t / kw) | 0;
    wOff[k] = w.offset + c * wsC + i * wsH + (t - i * kw) * wsW;
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
  for (let n0 = 0; n0 < N; n0 += G) {
    const gn = Math.min(G, N - n0);
    copyImages(f, gyBase, O * L, gy, n0, gn);
    const job = r.job(end * 4, scratch);
    for (let i = 0; i < gn; i++) {
      const rows = 4 * (gyBase + i * O * L);
      job.task();
      job.call(FN_ZERO, 1, canvasRel, 4 * C * plane, 0, 0, 0, 0);
      for (let p0 = 0; p0 < Lp; p0 += NB) {
        const np = Math.min(NB, Lp - p0) / NR;
        for (let ob = 0; ob < nob; ob++) {
          const o0 = ob * KC;
          const kc = Math.min(KC, O - o0);
          // B block: np panels of NR pixels of gy's rows o0.., o-major (pack_b over the rows:
          // taps = row offsets, corners = consecutive pixels).
          job.call(FN_PACK_B, 1, bRel, rows, 4 * (rowBase + o0), kc, 4 * (identBase + p0), np);
          job.call(FN_GEMM_F32, 2 | 4, 4 * (aBase + mp * MR * o0), bRel, cRel, mp, np, kc, 4 * NB, ob === 0 ? 1 : 0);
        }
        // Scatter: every tap of every pixel of the block into its canvas cell (col2im).
        job.call(FN_SCATTER_ADD, 1 | 2, canvasRel, cRel, 4 * tapBase, 4 * (cornerBase + p0), K, Math.min(NB, L - p0), 4 * NB);
      }
      // The canvas interior is the image's gradient; input rows and columns no window reaches get 0.
      job.call(FN_UNPAD_IMAGE, 2, 4 * (gxBase + i * chw), canvasRel, 4 * geomBase, 0, 0, 0);
    }
    job.run();
    out.set(f.subarray(gxBase, gxBase + gn * chw), n0 * chw);
  }
  return out;
}
