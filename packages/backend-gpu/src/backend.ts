import { type Backend, DLError, type DType, type HostArray, type MemoryInfo, hostArrayType } from "@dl/tensor";
import { createContext } from "./context.js";
import { gpuFusedKernels } from "./fused/index.js";
import { binary, copy, fill, unary, where, write } from "./elementwise.js";
import { gather, scatter } from "./gather.js";
import type { GpuMode } from "./gpujs.js";
import { matmul } from "./matmul.js";
import { argReduce, reduce } from "./reduce.js";
import { Runtime } from "./runtime.js";
import { scan } from "./scan.js";
import { sort } from "./sort.js";
import { GpuStorage, checkDType, toStorageValues } from "./storage.js";

export interface GpuBackendOptions {
  /**
   * gpu.js mode: 'headlessgl' (Node, headless-gl), 'webgl2' or 'webgl' (browsers). Default:
   * 'headlessgl' in Node; 'webgl2', then 'webgl', in browsers. Never a CPU/WebAssembly fallback.
   */
  mode?: GpuMode;
  /** Device name to register under (default "gpu"). */
  name?: string;
  /**
   * Check gather/scatter indices (one small read-back per call, so that an index out of range is
   * an IndexError as on the CPU). Default true.
   */
  checkIndices?: boolean;
  /**
   * GL memory the backend's storages may hold (default 512 MiB). Past it, the least recently used
   * storages are moved to host memory and uploaded again when a kernel reads them, so that a loop
   * that never calls dispose() or tidy() stays bounded (see docs/architecture.md, Memory).
   */
  textureBudgetBytes?: number;
}

/** The GPU backend, plus what tests and tools may inspect. */
export interface GpuBackend extends Backend {
  /** The gpu.js kernel class every kernel runs on: HeadlessGLKernel, WebGL2Kernel or WebGLKernel. */
  readonly kernelClass: string;
  readonly mode: GpuMode;
  /** GL MAX_TEXTURE_SIZE of this context (a tensor holds at most 4 * size^2 elements). */
  readonly maxTextureSize: number;
  /** Compiled kernels by signature key, with the gpu.js class each ran on. */
  kernels(): Map<string, string>;
  /**
   * GL textures created minus deleted since the backend was created: the storages' plus the output
   * texture gpu.js keeps per kernel (reused by its next run). For leak checks; memory() counts
   * storages only.
   */
  glTextures(): number;
  /** Storages moved to host memory so far because the texture budget was reached. */
  evictions(): number;
}

function toHost(values: Float32Array, dtype: DType): HostArray {
  const T = hostArrayType(dtype);
  if (T === Float32Array) return Float32Array.from(values);
  const out = T.from(values);
  // Integers have no negative zero (GPU truncation of -0.5 gives -0).
  if (T === Float64Array) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + 0;
  return out;
}

function storageOf(data: unknown): GpuStorage {
  if (!(data instanceof GpuStorage))
    throw new DLError("gpu", "expected a gpu storage (a tensor of another device reached the gpu backend)");
  return data;
}

/**
 * Creates the gpu.js backend. Throws a DeviceError naming what is missing when no GL context can
 * be created (headless-gl not built, no X display, WebGL unavailable). Register it with
 * registerBackend(createGpuBackend()), then use device "gpu": setDefaultDevice("gpu") or x.to("gpu").
 */
export function createGpuBackend(options: GpuBackendOptions = {}): GpuBackend {
  const ctx = createContext(options.mode);
  const rt = new Runtime(ctx, options.checkIndices ?? true, options.textureBudgetBytes);
  const read = (data: unknown, dtype: DType, size: number): HostArray => {
    const s = storageOf(data);
    if (size === 0) return new (hostArrayType(dtype))(0);
    const raw = rt.read(s);
    return toHost(size === raw.length ? raw : raw.subarray(0, size), dtype);
  };
  return {
    name: options.name ?? "gpu",
    canReadSync: true,
    fused: gpuFusedKernels(rt),
    kernelClass: ctx.kernelClass,
    mode: ctx.mode,
    maxTextureSize: ctx.maxTextureSize,
    kernels: () => rt.programs.kernelClasses(),
    glTextures: () => rt.glTextures,
    evictions: () => rt.tracker.evictions,

    alloc(size: number, dtype: DType) {
      checkDType(dtype);
      return fill(rt, size, 0, dtype);
    },
    upload(values: ArrayLike<number>, dtype: DType) {
      checkDType(dtype);
      return rt.upload(toStorageValues(values, dtype), dtype);
    },
    readSync: read,
    read: async (data: unknown, dtype: DType, size: number) => read(data, dtype, size),
    dispose(data: unknown) {
      if (data instanceof GpuStorage) rt.tracker.free(data);
    },
    memory(): MemoryInfo {
      return rt.tracker.info();
    },

    copy(x, dtype) {
      checkDType(dtype);
      return copy(rt, x, dtype);
    },
    write(dst, src) {
      write(rt, dst, src);
    },
    unary(op, x, dtype) {
      checkDType(dtype);
      return unary(rt, op, x, dtype);
    },
    binary(op, a, b, dtype) {
      checkDType(dtype);
      return binary(rt, op, a, b, dtype);
    },
    where(cond, a, b, dtype) {
      checkDType(dtype);
      return where(rt, cond, a, b, dtype);
    },
    reduce(op, x, dims, dtype) {
      checkDType(dtype);
      return reduce(rt, op, x, dims, dtype);
    },
    argReduce(op, x, dim) {
      return argReduce(rt, op, x, dim);
    },
    scan(op, x, dim, dtype) {
      checkDType(dtype);
      return scan(rt, op, x, dim, dtype);
    },
    sort(x, dim, descending) {
      return sort(rt, x, dim, descending);
    },
    matmul(a, b, dtype) {
      checkDType(dtype);
      return matmul(rt, a, b, dtype);
    },
    gather(x, dim, index) {
      return gather(rt, x, dim, index);
    },
    scatter(base, dim, index, src, reduce) {
      return scatter(rt, base, dim, index, src, reduce);
    },
  };
}
