import { DLError, type DType, DTypeError, castScalar } from "@dl/tensor";
import type { GLTexture } from "./gpujs.js";

/**
 * GPU storage: one float32 RGBA texture holding 4 consecutive elements per texel (gpu.js's
 * optimizeFloatMemory layout). A storage of n elements is laid out as a 2-D texture of
 * ceil(n/4) texels, about square (gpu.js's closestSquareDimensions), so a tensor may hold up to
 * 4 * MAX_TEXTURE_SIZE^2 elements; larger ones fail with an error that names the limit.
 *
 * Every dtype is held as float32 values:
 * - float32 exactly; float16 / bfloat16 as float32 values rounded to the half format after every
 *   kernel (as the CPU backend and PyTorch: compute in float32, round each result);
 * - int32, int64 and bool as integral float32 values: exact for |x| <= 2^24 (16,777,216).
 *   Uploading a larger integer is refused (toStorageValues); one a kernel computes (a sum, a
 *   product) is rounded to float32 (it does not wrap as 64-bit integers would);
 * - float64 is not supported (WebGL has no 64-bit floats): it throws a DTypeError.
 *
 * `write` replaces the texture of a storage (kernels cannot write into the texture they read), so
 * the storage object is a stable handle whose texture may change.
 */
export class GpuStorage {
  texture: GLTexture | null;
  readonly size: number;
  readonly dtype: DType;
  bytes: number;
  constructor(texture: GLTexture | null, size: number, dtype: DType) {
    this.texture = texture;
    this.size = size;
    this.dtype = dtype;
    this.bytes = textureBytes(texture);
  }
}

export function textureBytes(t: GLTexture | null): number {
  if (t === null) return 0;
  return (t.size[0] as number) * (t.size[1] as number) * 16;
}

/** gpu.js's closestSquareDimensions: the texture size it picks for `texels` texels. */
export function textureSize(texels: number): [number, number] {
  const sqrt = Math.sqrt(texels);
  let high = Math.ceil(sqrt);
  let low = Math.floor(sqrt);
  while (high * low < texels) {
    high--;
    low = Math.ceil(texels / high);
  }
  return [low, Math.ceil(texels / low)];
}

/** Throws when n elements do not fit one texture of this device. */
export function checkFits(n: number, maxTextureSize: number): void {
  const [w, h] = textureSize(Math.ceil(n / 4));
  if (w > maxTextureSize || h > maxTextureSize || n > 2 ** 30) {
    const max = Math.min(4 * maxTextureSize * maxTextureSize, 2 ** 30);
    throw new DLError(
      "gpu",
      `a tensor of ${n} elements needs a ${w}x${h} texture, larger than this device's MAX_TEXTURE_SIZE ${maxTextureSize} ` +
        `(at most ${max} elements per tensor: 4 per texel in a ${maxTextureSize}x${maxTextureSize} texture); split it or keep it on the CPU`,
    );
  }
}

/** float64 cannot live on the GPU. */
export function checkDType(dtype: DType): void {
  if (dtype === "float64") {
    throw new DTypeError(
      "gpu",
      "float64 is not supported by the gpu backend (WebGL has no 64-bit floats; every value is stored as float32); " +
        "use float32 on the GPU, or keep float64 tensors on the CPU with .to('cpu')",
    );
  }
}

/** The largest integer magnitude float32 holds exactly (and so integer dtypes on the gpu). */
export const MAX_EXACT_INTEGER = 2 ** 24;

/**
 * Host values as the float32 values a storage of `dtype` holds. An int32/int64 value beyond 2^24
 * is a DTypeError: float32 would silently round it (4294967295 becomes 4294967296), where PyTorch
 * keeps it exact.
 */
export function toStorageValues(values: ArrayLike<number>, dtype: DType): Float32Array {
  const out = new Float32Array(values.length);
  if (dtype === "float32") {
    out.set(values);
    return out;
  }
  const integer = dtype === "int32" || dtype === "int64";
  for (let i = 0; i < values.length; i++) {
    const v = castScalar(values[i] as number, dtype);
    if (integer && Math.abs(v) > MAX_EXACT_INTEGER) {
      throw new DTypeError(
        "gpu",
        `${dtype} value ${v} (element ${i}) cannot be held exactly by the gpu backend: it stores integers as float32 values, ` +
          `exact only for |x| <= 2^24 (${MAX_EXACT_INTEGER}); keep this tensor on the CPU, or convert it to float32 there first ` +
          "(x.float().to('gpu')) if float32's rounding is what you want",
      );
    }
    out[i] = v;
  }
  return out;
}

/** Live storages and texture bytes, for memory(). */
export class StorageTracker {
  private readonly live = new Set<GpuStorage>();
  private bytes = 0;

  track(s: GpuStorage): GpuStorage {
    this.live.add(s);
    this.bytes += s.bytes;
    return s;
  }

  /** Swaps a storage's texture (after write), keeping the byte count right. */
  replace(s: GpuStorage, texture: GLTexture): void {
    const old = s.texture;
    const before = s.bytes;
    s.texture = texture;
    s.bytes = textureBytes(texture);
    if (this.live.has(s)) this.bytes += s.bytes - before;
    if (old !== null && old !== texture) old.delete();
  }

  free(s: GpuStorage): void {
    if (!this.live.delete(s)) return; // not ours, or freed already
    this.bytes -= s.bytes;
    s.texture?.delete();
    s.texture = null;
  }

  info(): { storages: number; bytes: number } {
    return { storages: this.live.size, bytes: this.bytes };
  }
}
