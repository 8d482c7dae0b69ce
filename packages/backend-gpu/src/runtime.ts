import { DLError, type DType, type StridedRef } from "@dl/tensor";
import type { GpuContext } from "./context.js";
import { glslPrelude } from "./glsl.js";
import type { GLTexture } from "./gpujs.js";
import { ProgramCache, UploadProgram } from "./program.js";
import { DEFAULT_TEXTURE_BUDGET, GpuStorage, StorageTracker } from "./storage.js";

/** Everything one backend instance owns: the GL context, compiled programs, live storages. */
export class Runtime {
  readonly ctx: GpuContext;
  readonly programs: ProgramCache;
  readonly tracker: StorageTracker;
  readonly checkIndices: boolean;
  private readonly uploader: UploadProgram;
  /** Bound where a kernel's texture argument has no elements (a size-0 operand is never read). */
  private readonly dummy: GLTexture;

  constructor(ctx: GpuContext, checkIndices: boolean, textureBudget = DEFAULT_TEXTURE_BUDGET) {
    this.ctx = ctx;
    this.checkIndices = checkIndices;
    ctx.gpu.injectNative(glslPrelude(ctx.mode === "webgl2" ? "texture" : "texture2D"));
    this.programs = new ProgramCache(ctx);
    this.uploader = new UploadProgram(ctx);
    this.tracker = new StorageTracker(textureBudget);
    this.tracker.readBack = (t, size) => t.renderRawOutput().slice(0, size);
    this.tracker.upload = (values) => this.uploader.run(values);
    this.dummy = this.uploader.run(new Float32Array(1));
    this.countTextures();
  }

  /** GL textures created minus deleted since this runtime started (ours plus gpu.js's), for leak checks. */
  glTextures = 0;

  private countTextures(): void {
    const gl = (this.ctx.gpu as unknown as { context?: Record<string, unknown> }).context;
    if (!gl || typeof gl.createTexture !== "function" || typeof gl.deleteTexture !== "function") return;
    const create = (gl.createTexture as () => unknown).bind(gl);
    const remove = (gl.deleteTexture as (t: unknown) => void).bind(gl);
    gl.createTexture = () => {
      this.glTextures++;
      return create();
    };
    gl.deleteTexture = (t: unknown) => {
      if (t) this.glTextures--;
      remove(t);
    };
  }

  /** The texture behind a storage or view. */
  tex(x: GpuStorage | StridedRef): GLTexture {
    const s = x instanceof GpuStorage ? x : (x.data as GpuStorage);
    if (!(s instanceof GpuStorage)) throw new DLError("gpu", "expected a gpu storage (a tensor of another device reached the gpu backend)");
    if (s.size === 0) return this.dummy;
    const t = this.tracker.use(s);
    if (t !== null) return t;
    throw new DLError("gpu", "storage was disposed");
  }

  /** A tracked storage around a fresh texture (null for size 0). */
  wrap(texture: GLTexture | null, n: number, dtype: DType): GpuStorage {
    return this.tracker.track(new GpuStorage(n === 0 ? null : texture, n, dtype));
  }

  /** The first `size` values of a storage, as float32 (one readPixels). */
  read(s: GpuStorage): Float32Array {
    if (s.size === 0) return new Float32Array(0);
    if (s.res.host !== null) return s.res.host; // evicted: the values are already on the host
    return this.tex(s).renderRawOutput().subarray(0, s.size);
  }

  upload(values: Float32Array, dtype: DType): GpuStorage {
    if (values.length === 0) return this.wrap(null, 0, dtype);
    return this.wrap(this.uploader.run(values), values.length, dtype);
  }
}
