import { type DType, type HostArray, castScalar, hostArrayType } from "@dl/tensor";

/**
 * CPU storage is a TypedArray. Kernels reach it only through this module and StridedRef, so the
 * arrays can later live in WebAssembly memory (views over a wasm heap) without other changes.
 *
 * Freed arrays go to a free list keyed by element type and length, and the next allocation of the
 * same kind takes one back: a fresh multi-megabyte TypedArray is fresh pages from the OS, and
 * first-touch page faults cost more than the elementwise loop that fills it. Only LIVE arrays are
 * counted by memoryInfo(); pooled ones are not.
 *
 * Nothing here holds a live array strongly: an array is reachable only through the tensors (and
 * the autograd graph) that use it, so the garbage collector reclaims it during a synchronous
 * training loop as soon as they are gone, with no dispose() and no pause for the event loop.
 * Accounting uses a FinalizationRegistry, which does not keep its targets alive: an array that is
 * collected is subtracted when the registry's callback runs, between event-loop tasks.
 */
let count = 0;
let bytes = 0;
/** Held values are byte counts: the registry must not reference the arrays it watches. */
const collected =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<number>((size) => {
        count--;
        bytes -= size;
      })
    : undefined;

/** Pooled bytes are capped so that a workload that stops using a size gives the memory back to GC. */
const POOL_CAP_BYTES = 64 * 1024 * 1024;
/** One array larger than this is never pooled (it would evict most of the pool on its own). */
const POOL_MAX_ARRAY_BYTES = 16 * 1024 * 1024;
/**
 * Arrays up to this size are not pooled: V8 allocates them inside the JS heap (its
 * typed_array_max_size_in_heap), which is as cheap as a free-list lookup; larger ones get a
 * malloc'ed backing store and external-memory accounting that triggers GCs.
 */
const POOL_MIN_ARRAY_BYTES = 64;
/** Arrays kept per size: more would be frees that no allocation of that size takes back. */
const POOL_MAX_PER_SIZE = 8;

/**
 * key = length * 4 + element-type index. Map order is the eviction order: a bucket is removed when
 * emptied and re-inserted (at the end) when an array of its kind is freed again, so the first
 * bucket is the one least recently freed into.
 */
const pool = new Map<number, HostArray[]>();
let pooledBytes = 0;

function kindOf(a: HostArray): number {
  const c = a.constructor;
  return c === Float32Array ? 0 : c === Float64Array ? 1 : c === Int32Array ? 2 : c === Uint8Array ? 3 : -1;
}

function kindOfDType(dtype: DType): number {
  const c = hostArrayType(dtype);
  return c === Float32Array ? 0 : c === Float64Array ? 1 : c === Int32Array ? 2 : 3;
}

/** Bytes per element, by kind. */
const BYTES = [4, 8, 4, 1];

function take(n: number, dtype: DType): HostArray | undefined {
  if (pooledBytes === 0) return undefined;
  const kind = kindOfDType(dtype);
  if (n * (BYTES[kind] as number) <= POOL_MIN_ARRAY_BYTES) return undefined; // never pooled
  const key = n * 4 + kind;
  const bucket = pool.get(key);
  if (bucket === undefined) return undefined;
  const a = bucket.pop() as HostArray;
  if (bucket.length === 0) pool.delete(key);
  pooledBytes -= a.byteLength;
  return a;
}

function track(a: HostArray): HostArray {
  count++;
  bytes += a.byteLength;
  collected?.register(a, a.byteLength, a);
  return a;
}

/** A zero-filled array of n elements of dtype's host type. */
export function allocArray(n: number, dtype: DType): HostArray {
  const reused = take(n, dtype);
  if (reused !== undefined) return track(reused.fill(0));
  return track(new (hostArrayType(dtype))(n));
}

/**
 * Like allocArray but with arbitrary contents (a reused array keeps old values): only for kernels
 * that write every element of their output before anyone reads it.
 */
export function allocArrayUninit(n: number, dtype: DType): HostArray {
  return track(take(n, dtype) ?? new (hostArrayType(dtype))(n));
}

export function freeArray(a: HostArray): void {
  // unregister() says whether the array was live and ours: a second free is a no-op.
  if (collected === undefined || !collected.unregister(a)) return;
  const size = a.byteLength;
  count--;
  bytes -= size;
  const kind = kindOf(a);
  if (kind < 0 || size <= POOL_MIN_ARRAY_BYTES || size > POOL_MAX_ARRAY_BYTES) return;
  const key = a.length * 4 + kind;
  if ((pool.get(key)?.length ?? 0) >= POOL_MAX_PER_SIZE) return;
  // Make room by dropping the least recently refilled buckets (the GC reclaims them).
  while (pooledBytes + size > POOL_CAP_BYTES) {
    const [oldKey, oldBucket] = pool.entries().next().value as [number, HostArray[]];
    const victim = oldBucket.pop() as HostArray;
    pooledBytes -= victim.byteLength;
    if (oldBucket.length === 0) pool.delete(oldKey);
  }
  const bucket = pool.get(key);
  if (bucket === undefined) pool.set(key, [a]);
  else bucket.push(a);
  pooledBytes += size;
}

/**
 * Arrays allocated and not yet freed by dispose() or reclaimed by the collector. A collection is
 * counted when the FinalizationRegistry's callback runs (between event-loop tasks), so inside one
 * long synchronous loop the numbers include garbage the collector may already have reclaimed.
 */
export function memoryInfo(): { storages: number; bytes: number; pooledBytes: number } {
  return { storages: count, bytes, pooledBytes };
}

/** Bytes held by the free list (not live; not part of memoryInfo()). */
export function pooledMemory(): number {
  return pooledBytes;
}

/** Drops every pooled array so the garbage collector can reclaim it. */
export function releasePool(): void {
  pool.clear();
  pooledBytes = 0;
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
