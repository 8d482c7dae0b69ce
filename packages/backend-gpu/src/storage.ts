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
 * the storage object is a stable handle whose texture may change. Its values live in a Residency:
 * a texture, or, after the texture budget evicted it, a host copy (see StorageTracker).
 */
export class GpuStorage {
  readonly res: Residency;
  readonly size: number;
  readonly dtype: DType;
  constructor(texture: GLTexture | null, size: number, dtype: DType) {
    this.res = new Residency(texture, size);
    this.size = size;
    this.dtype = dtype;
  }

  /** The texture, or null (size 0, freed, or evicted to the host: use Runtime.tex to read it). */
  get texture(): GLTexture | null {
    return this.res.texture;
  }

  /** Texture bytes while resident, host bytes once evicted. */
  get bytes(): number {
    return this.res.bytes;
  }
}

/**
 * Where a storage's values are. Kept apart from GpuStorage so that what the tracker and the
 * FinalizationRegistry hold (a Residency) never keeps the storage handle itself alive.
 */
export class Residency {
  texture: GLTexture | null;
  /** The values, when the texture was evicted to stay within the texture budget. */
  host: Float32Array | null = null;
  bytes: number;
  /** Tracker clock at the last kernel access (least recently used residencies are evicted first). */
  lastUse = 0;
  freed = false;
  constructor(
    texture: GLTexture | null,
    readonly size: number,
  ) {
    this.texture = texture;
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

/** Default texture budget (GpuBackendOptions.textureBudgetBytes). */
export const DEFAULT_TEXTURE_BUDGET = 512 * 2 ** 20;

/** Residencies touched by the last this-many kernel accesses are never evicted (operands in use). */
const PROTECTED_ACCESSES = 32;

/**
 * Live storages and their bytes, for memory(), and the policy that bounds GL memory.
 *
 * GL textures are not garbage collected, and a FinalizationRegistry runs its callbacks only between
 * event-loop tasks, never inside a synchronous training loop. So:
 * - Nothing here holds a storage handle (GpuStorage) strongly: only its Residency. A handle that
 *   becomes unreachable is collected, and the registry deletes its texture when it runs.
 * - Resident texture bytes are capped (`budget`): when a new texture would exceed it, the least
 *   recently used resident storages are evicted: their values are read back into a host
 *   Float32Array that only the handle references (so the collector reclaims it with a dead handle
 *   during the loop) and the texture is deleted; the next kernel that reads an evicted storage
 *   uploads it again. A synchronous loop that drops tensors without dispose() therefore keeps GL
 *   memory under the budget and host memory flat; dispose()/tidy() free at once and never evict.
 */
export class StorageTracker {
  /** Resident residencies, least recently used first (Map order; an access re-inserts). */
  private readonly resident = new Map<Residency, true>();
  private count = 0;
  private textureBytes = 0;
  private hostBytes = 0;
  private clock = 0;
  /** Storages evicted to the host so far (for tests and profiles). */
  evictions = 0;
  /** Set by the runtime: reads a texture back to the host, uploads host values. */
  readBack: (t: GLTexture, size: number) => Float32Array = () => new Float32Array(0);
  upload: (values: Float32Array) => GLTexture = () => {
    throw new Error("upload not set");
  };
  private readonly handles =
    typeof FinalizationRegistry === "function" ? new FinalizationRegistry<Residency>((res) => this.collected(res)) : undefined;
  private readonly evicted =
    typeof FinalizationRegistry === "function"
      ? new FinalizationRegistry<number>((bytes) => {
          this.count--;
          this.hostBytes -= bytes;
        })
      : undefined;

  constructor(public budget: number = DEFAULT_TEXTURE_BUDGET) {}

  track(s: GpuStorage): GpuStorage {
    const res = s.res;
    this.count++;
    res.lastUse = ++this.clock;
    if (res.texture !== null) {
      this.resident.set(res, true);
      this.textureBytes += res.bytes;
    }
    this.handles?.register(s, res, res);
    this.enforceBudget();
    return s;
  }

  /** A storage's texture for a kernel to read, uploading it again when it was evicted. */
  use(s: GpuStorage): GLTexture | null {
    const res = s.res;
    res.lastUse = ++this.clock;
    if (res.texture !== null) {
      this.resident.delete(res);
      this.resident.set(res, true);
      return res.texture;
    }
    if (res.host === null) return null;
    const host = res.host;
    this.evicted?.unregister(host);
    this.hostBytes -= res.bytes;
    res.host = null;
    this.makeResident(s, this.upload(host));
    return res.texture;
  }

  /** Swaps a storage's texture (after write), keeping the byte count right. */
  replace(s: GpuStorage, texture: GLTexture): void {
    const res = s.res;
    if (res.freed) return;
    const old = res.texture;
    if (old === texture) return;
    if (old !== null) {
      this.textureBytes -= res.bytes;
      this.resident.delete(res);
      this.handles?.unregister(res);
      old.delete();
    } else if (res.host !== null) {
      this.evicted?.unregister(res.host);
      this.hostBytes -= res.bytes;
      res.host = null;
    } else {
      this.handles?.unregister(res);
    }
    res.lastUse = ++this.clock;
    this.makeResident(s, texture);
  }

  /** Takes the texture away from a storage without deleting it (it now belongs to another). */
  detachTexture(s: GpuStorage): void {
    const res = s.res;
    if (res.texture === null) return;
    this.textureBytes -= res.bytes;
    this.resident.delete(res);
    res.texture = null;
    res.bytes = 0;
  }

  free(s: GpuStorage): void {
    const res = s.res;
    if (res.freed) return;
    res.freed = true;
    this.count--;
    if (res.host !== null) {
      this.evicted?.unregister(res.host);
      this.hostBytes -= res.bytes;
      res.host = null;
      return;
    }
    this.handles?.unregister(res);
    if (res.texture !== null) {
      this.textureBytes -= res.bytes;
      this.resident.delete(res);
      res.texture.delete();
      res.texture = null;
    }
  }

  info(): { storages: number; bytes: number; textureBytes: number; hostBytes: number } {
    return { storages: this.count, bytes: this.textureBytes + this.hostBytes, textureBytes: this.textureBytes, hostBytes: this.hostBytes };
  }

  private makeResident(s: GpuStorage, texture: GLTexture): void {
    const res = s.res;
    res.texture = texture;
    res.bytes = textureBytes(texture);
    this.textureBytes += res.bytes;
    this.resident.set(res, true);
    this.handles?.register(s, res, res);
  }

  /** A handle was collected: its texture is garbage (or it was evicted and the host copy went with it). */
  private collected(res: Residency): void {
    if (res.freed) return;
    res.freed = true;
    this.count--;
    if (res.texture !== null) {
      this.textureBytes -= res.bytes;
      this.resident.delete(res);
      res.texture.delete();
      res.texture = null;
    }
  }

  private enforceBudget(): void {
    if (this.textureBytes <= this.budget) return;
    const protectedFrom = this.clock - PROTECTED_ACCESSES;
    for (const res of this.resident.keys()) {
      if (this.textureBytes <= this.budget) break;
      if (res.lastUse > protectedFrom) break; // the rest are newer still
      this.evict(res);
    }
  }

  private evict(res: Residency): void {
    const texture = res.texture as GLTexture;
    const host = this.readBack(texture, res.size);
    this.textureBytes -= res.bytes;
    this.resident.delete(res);
    // From now on only the handle references the values: unregistering keeps the registry from
    // holding them; the host copy's own registration counts them until the collector takes them.
    this.handles?.unregister(res);
    texture.delete();
    res.texture = null;
    res.host = host;
    res.bytes = host.byteLength;
    this.hostBytes += res.bytes;
    this.evicted?.register(host, res.bytes, host);
    this.evictions++;
  }
}
