import type { Backend, DType, FusedKernels, HostArray } from "@dl/tensor";
import { castScalar, DLError } from "@dl/tensor";
import { allocArray, freeArray, memoryInfo } from "./storage.js";

/**
 * The CPU backend's core: storage (alloc, upload, read, dispose, memory) without kernels. Kernels are
 * attached in groups (kernels.ts) by attachKernels(), both exported by the @dl/backend-cpu/core
 * entry (core.ts), so that a bundle carries only the groups it names:
 * `registerBackend(attachKernels(binaryKernels))` is enough for `add`. The package's main entry
 * (backend.ts) attaches every group to this same object, so the cpu backend is one object however
 * it is reached, and an app that also imports the main entry gets every kernel.
 */

/** The backend's kernel methods, i.e. what a group may attach. */
export type CpuPrimitive =
  | "copy"
  | "write"
  | "unary"
  | "binary"
  | "where"
  | "reduce"
  | "argReduce"
  | "scan"
  | "sort"
  | "matmul"
  | "gather"
  | "scatter";

/** A group of kernels: primitives of the Backend contract and/or fused kernels. */
export type CpuKernelGroup = Partial<Pick<Backend, CpuPrimitive>> & { readonly fused?: FusedKernels };

/** Until a group attaches it, a primitive says which group holds it (instead of "not a function"). */
const missing = (name: CpuPrimitive, group: string) => (): never => {
  throw new DLError(
    name,
    `the cpu backend has no '${name}' kernel: it was created from @dl/backend-cpu/core without ${group} ` +
      `(attachKernels(${group}) adds it; cpuBackend from @dl/backend-cpu has every kernel)`,
  );
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The cpu backend (storage is a TypedArray per tensor; see storage.ts for the int64/half layout). */
const backend: Mutable<Backend> = {
  name: "cpu",
  canReadSync: true,
  alloc: (n: number, dtype: DType) => allocArray(n, dtype),
  upload(values: ArrayLike<number>, dtype: DType) {
    const a = allocArray(values.length, dtype);
    const exact = dtype === "float32" || dtype === "float64" || dtype === "int32";
    for (let i = 0; i < values.length; i++) a[i] = exact ? (values[i] as number) : castScalar(values[i] as number, dtype);
    return a;
  },
  readSync: (data: unknown) => (data as HostArray).slice(),
  read: async (data: unknown) => (data as HostArray).slice(),
  dispose: (data: unknown) => freeArray(data as HostArray),
  memory: memoryInfo,
  copy: missing("copy", "copyKernels"),
  write: missing("write", "copyKernels"),
  unary: missing("unary", "unaryKernels"),
  binary: missing("binary", "binaryKernels"),
  where: missing("where", "whereKernels"),
  reduce: missing("reduce", "reduceKernels"),
  argReduce: missing("argReduce", "reduceKernels"),
  scan: missing("scan", "reduceKernels"),
  sort: missing("sort", "sortKernels"),
  matmul: missing("matmul", "matmulKernels"),
  gather: missing("gather", "gatherKernels"),
  scatter: missing("scatter", "gatherKernels"),
};

/**
 * Attaches kernel groups (kernels.ts) to the cpu backend and returns it, e.g.
 * `registerBackend(attachKernels(binaryKernels, reduceKernels))`. Fused kernels join the backend's
 * `fused` table (ops fall back to composed primitives for the ones that are missing).
 */
export function attachKernels(...groups: CpuKernelGroup[]): Backend {
  for (const { fused, ...primitives } of groups) {
    Object.assign(backend, primitives);
    if (fused !== undefined) backend.fused = Object.assign(backend.fused ?? {}, fused);
  }
  return backend;
}
