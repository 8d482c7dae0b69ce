import type { DType, HostArray } from "./dtype.js";
import { DeviceError, describeValue } from "./errors.js";
import type { FusedKernels } from "./fused.js";

/**
 * The Backend contract: a small set of primitives every device implements. Everything else in
 * @dl/tensor (softmax, conv, norms, ...) is built from these; a backend may add fused kernels
 * later without any package above @dl/tensor noticing.
 *
 * Kernels never mutate their inputs (except `write`) and return fresh contiguous storage.
 * Inputs arrive as strided views (`StridedRef`): broadcasting is expressed with stride 0.
 */
export interface StridedRef {
  /** The backend's storage handle (a TypedArray on the CPU, a texture on the GPU). */
  readonly data: unknown;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | "neg" | "abs" | "sign" | "reciprocal" | "square"
  | "exp" | "exp2" | "expm1" | "log" | "log2" | "log10" | "log1p" | "sqrt" | "rsqrt"
  | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh" | "acosh" | "atanh"
  | "sigmoid" | "erf" | "erfc" | "erfinv" | "relu"
  | "floor" | "ceil" | "round" | "trunc" | "frac"
  | "logicalNot" | "bitwiseNot" | "isnan" | "isinf" | "isposinf" | "isneginf" | "isfinite" | "signbit";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "floorDiv" | "truncDiv" | "pow" | "remainder" | "fmod"
  | "atan2" | "hypot" | "maximum" | "minimum" | "fmax" | "fmin" | "copysign" | "xlogy"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge"
  | "logicalAnd" | "logicalOr" | "logicalXor" | "bitwiseAnd" | "bitwiseOr" | "bitwiseXor";

export type ReduceOp = "sum" | "prod" | "max" | "min" | "all" | "any";
export type ArgReduceOp = "argmax" | "argmin";
export type ScanOp = "cumsum" | "cumprod" | "cummax" | "cummin" | "logcumsumexp";
export type ScatterReduce = "none" | "add" | "multiply" | "amax" | "amin";

export interface MemoryInfo {
  /** Storages allocated and not yet freed. */
  storages: number;
  bytes: number;
}

export interface Backend {
  /** Device type this backend serves, e.g. "cpu" or "gpu". */
  readonly name: string;
  /** Whether readSync is available (false on devices that can only read asynchronously). */
  readonly canReadSync: boolean;
  /** Optional fused kernels (softmax, conv, optimizer updates, ...); ops fall back to primitives without them. */
  readonly fused?: FusedKernels;

  alloc(size: number, dtype: DType): unknown;
  upload(values: ArrayLike<number>, dtype: DType): unknown;
  readSync(data: unknown, dtype: DType, size: number): HostArray;
  read(data: unknown, dtype: DType, size: number): Promise<HostArray>;
  dispose(data: unknown): void;
  memory(): MemoryInfo;

  /** Contiguous copy of a strided view, converted to dtype. */
  copy(x: StridedRef, dtype: DType): unknown;
  /** Writes src (already broadcast to dst's shape) into the strided view dst, converting dtypes. */
  write(dst: StridedRef, src: StridedRef): void;
  /** Elementwise op over x; `dtype` is the result dtype (bool for predicates). */
  unary(op: UnaryOp, x: StridedRef, dtype: DType): unknown;
  /** Elementwise op over a and b, both already broadcast (stride 0) to `shape`; computed in `dtype` unless it is a comparison. */
  binary(op: BinaryOp, a: StridedRef, b: StridedRef, dtype: DType): unknown;
  /** cond ? a : b over three views broadcast to one shape. */
  where(cond: StridedRef, a: StridedRef, b: StridedRef, dtype: DType): unknown;
  /** Reduces over `dims`; the result has x's shape with those dims set to 1. */
  reduce(op: ReduceOp, x: StridedRef, dims: readonly number[], dtype: DType): unknown;
  /** Index (int64) of the max/min along `dim` (first occurrence; NaN counts as the extreme); result keeps dim as 1. */
  argReduce(op: ArgReduceOp, x: StridedRef, dim: number): unknown;
  /** Inclusive scan along dim; for cummax/cummin also returns int64 indices. */
  scan(op: ScanOp, x: StridedRef, dim: number, dtype: DType): { values: unknown; indices?: unknown };
  /** Sorts along dim (NaN last ascending, as PyTorch); stable. */
  sort(x: StridedRef, dim: number, descending: boolean): { values: unknown; indices: unknown };
  /** Batched matmul of [B,M,K] x [B,K,N] views (batch strides may be 0) into contiguous [B,M,N]. */
  matmul(a: StridedRef, b: StridedRef, dtype: DType): unknown;
  /**
   * torch.gather: out[i][j][k] = x[index[i][j][k]][j][k] for dim 0; out has index's shape.
   * Indices are expected in [0, size); kernels throw IndexError otherwise (ops wrap negatives first
   * where PyTorch allows them).
   */
  gather(x: StridedRef, dim: number, index: StridedRef): unknown;
  /** Copy of `base` (contiguous result) with src scattered at index along dim, combined by `reduce`. */
  scatter(base: StridedRef, dim: number, index: StridedRef, src: StridedRef, reduce: ScatterReduce): unknown;
}

const registry = new Map<string, Backend>();

/**
 * Every copy of @dl/tensor loaded in this JavaScript realm adds its registry here, so that a device
 * missing from this copy but registered in another is reported as what it is: two copies of the
 * package (it is a peer dependency of every dl package: one copy per app).
 */
const COPIES = Symbol.for("@dl/tensor registries");
const copies: Map<string, Backend>[] = ((globalThis as Record<symbol, unknown>)[COPIES] as Map<string, Backend>[] | undefined) ?? [];
(globalThis as Record<symbol, unknown>)[COPIES] = copies;
copies.push(registry);
let defaultDevice = "cpu";

/** Makes a backend available under its device name (e.g. registerBackend(cpuBackend)). */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function getBackend(device: string, op = "getBackend"): Backend {
  const b = registry.get(deviceType(device));
  if (!b) {
    const type = deviceType(device);
    if (copies.some((r) => r !== registry && r.has(type))) {
      throw new DeviceError(
        op,
        `no backend registered for device '${device}' in this copy of @dl/tensor, but another copy loaded in this app has one: ` +
          "two copies of @dl/tensor are loaded (each holds its own backend registry). Install @dl/tensor once, at the top level " +
          "(it is a peer dependency of every dl package), e.g. `npm dedupe`, or alias it to one copy in your bundler",
      );
    }
    const known = [...registry.keys()];
    throw new DeviceError(
      op,
      `no backend registered for device '${device}' (registered: ${known.length ? known.join(", ") : "none"}; ` +
        `import and register one, e.g. registerBackend(cpuBackend) from @dl/backend-cpu)`,
    );
  }
  return b;
}

export function hasBackend(device: string): boolean {
  return registry.has(deviceType(device));
}

/** "cuda:0" -> "cuda"; devices are named by their backend. */
export function deviceType(device: string): string {
  if (typeof device !== "string") throw new DeviceError("device", `a device is named by a string such as 'cpu' or 'gpu', but got ${describeValue(device)}`);
  const i = device.indexOf(":");
  return i < 0 ? device : device.slice(0, i);
}

export function setDefaultDevice(device: string): void {
  getBackend(device, "setDefaultDevice");
  defaultDevice = device;
}

export function getDefaultDevice(): string {
  return defaultDevice;
}

/** The registered backends (device name -> backend), e.g. for a profiler that instruments them all. */
export function registeredBackends(): ReadonlyMap<string, Backend> {
  return registry;
}
