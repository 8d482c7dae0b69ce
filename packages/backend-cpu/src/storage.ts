import { type DType, type HostArray, castScalar, hostArrayType } from "@dl/tensor";

/**
 * CPU storage is a TypedArray. Kernels reach it only through this module and StridedRef, so the
 * arrays can later live in WebAssembly memory (views over a wasm heap) without other changes.
 */
const live = new Set<HostArray>();
let bytes = 0;

export function allocArray(n: number, dtype: DType): HostArray {
  const a = new (hostArrayType(dtype))(n);
  live.add(a);
  bytes += a.byteLength;
  return a;
}

export function freeArray(a: HostArray): void {
  if (live.delete(a)) bytes -= a.byteLength;
}

export function memoryInfo(): { storages: number; bytes: number } {
  return { storages: live.size, bytes };
}

/** Rounds/clamps raw computed values to what the dtype holds (bool -> 0/1, int64 -> integral, halves). */
export function finalize(a: HostArray, dtype: DType): HostArray {
  switch (dtype) {
    case "bool":
      for (let i = 0; i < a.length; i++) if ((a[i] as number) > 1) a[i] = 1;
      break;
    case "int64":
    case "float16":
    case "bfloat16":
      for (let i = 0; i < a.length; i++) a[i] = castScalar(a[i] as number, dtype);
      break;
  }
  return a;
}
