import { DLError, type DType, DTypeError } from "@dl/tensor";
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
 * - int32, int64 and bool as integral float32 values: exact for |x| <= 2^24 (16,777,216);
 *   larger integers are rounded to float32 (they do not wrap as 64-bit integers would);
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
