import type { Backend, DType, HostArray } from "@dl/tensor";
import { castScalar } from "@dl/tensor";
import { binary, copy, unary, where, write } from "./elementwise.js";
import { cpuFusedKernels } from "./fused/index.js";
import { gather, scatter } from "./gather.js";
import { matmul } from "./matmul.js";
import { argReduce, reduce, scan } from "./reduce.js";
import { sort } from "./sort.js";
import { allocArray, freeArray, memoryInfo } from "./storage.js";

/** The CPU backend: storage is a TypedArray per tensor (see storage.ts for the int64/half layout). */
export const cpuBackend: Backend = {
  name: "cpu",
  canReadSync: true,
  fused: cpuFusedKernels,
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
  copy,
  write,
  unary,
  binary,
  where,
  reduce,
  argReduce,
  scan,
  sort,
  matmul,
  gather,
  scatter,
};
