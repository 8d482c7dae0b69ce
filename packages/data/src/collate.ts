import {
  ArgumentError,
  type DType,
  ShapeError,
  Tensor,
  fmtShape,
  fromArray,
  fromHost,
  getDefaultDtype,
  pad,
  stack,
  tensor,
} from "@dl/tensor";

/**
 * A collate function for one type of element: receives the batch (all elements of that type) and
 * the active map, so that it can recurse through `collate`.
 */
export type CollateFn = (batch: readonly unknown[], options: { collateFnMap?: CollateFnMap }) => unknown;

/** Key of a CollateFnMap: a class (matched with instanceof) or a `typeof` name of a primitive. */
export type CollateKey = "number" | "bigint" | "boolean" | "string" | (abstract new (...args: never[]) => unknown);

export type CollateFnMap = Map<CollateKey, CollateFn>;

/** The element type a batch of `T` collates to with defaultCollate (items a dataset returns as Promises are awaited). */
export type Collated<T> =
  T extends PromiseLike<infer U>
    ? Collated<U>
    : T extends Tensor
      ? Tensor
      : T extends number | bigint | boolean
        ? Tensor
        : T extends string
          ? string[]
          : T extends ArrayBufferView
            ? Tensor
            : T extends Map<infer K, infer V>
              ? Map<K, Collated<V>>
              : T extends readonly unknown[]
                ? { -readonly [K in keyof T]: Collated<T[K]> }
                : T extends object
                  ? { -readonly [K in keyof T]: Collated<T[K]> }
                  : unknown;

const errFormat = (found: string) =>
  `batch must contain tensors, typed arrays, numbers, bigints, booleans, strings, objects, Maps or arrays; found ${found}`;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isTypedArray(v: unknown): v is ArrayBufferView & ArrayLike<number | bigint> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * A TypedArray as a 1-D tensor: Float32Array -> float32, Float64Array -> float64, (Big)Int64 and
 * Uint32 -> int64, the other integer arrays -> int32 (dl has no uint8/int8/int16 dtypes).
 */
export function typedArrayToTensor(a: ArrayBufferView): Tensor {
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
    return fromHost(Float64Array.from(a as ArrayLike<bigint>, Number), [a.length], { dtype: "int64" });
  }
  let dtype: DType;
  if (a instanceof Float32Array) dtype = "float32";
  else if (a instanceof Float64Array) dtype = "float64";
  else if (a instanceof Uint32Array) dtype = "int64";
  else dtype = "int32";
  const arr = a as unknown as ArrayLike<number>;
  return fromArray(arr, [arr.length], { dtype });
}

function sameKind(op: string, batch: readonly unknown[], kind: string): void {
  batch.forEach((v, i) => {
    if (typeof v !== kind) throw new ArgumentError(op, `element ${i} of the batch is ${describe(v)} but element 0 is ${kind}`);
  });
}

/** torch.stack of the batch (collate_tensor_fn). */
export const collateTensorFn: CollateFn = (batch) => {
  batch.forEach((t, i) => {
    if (!(t instanceof Tensor))
      throw new ArgumentError("defaultCollate", `element ${i} of the batch is ${describe(t)} but element 0 is a Tensor`);
  });
  return stack(batch as Tensor[], 0);
};

/** Numbers -> a tensor of the default float dtype (PyTorch: float64 for Python floats). */
export const collateNumberFn: CollateFn = (batch) => {
  sameKind("defaultCollate", batch, "number");
  return fromHost(batch as number[], [batch.length], { dtype: getDefaultDtype() });
};

/** bigints -> an int64 tensor (PyTorch: Python ints). */
export const collateBigIntFn: CollateFn = (batch) => {
  sameKind("defaultCollate", batch, "bigint");
  return fromHost(
    batch.map((v) => Number(v)),
    [batch.length],
    { dtype: "int64" },
  );
};

/** booleans -> a bool tensor (PyTorch: torch.tensor of Python bools). */
export const collateBooleanFn: CollateFn = (batch) => {
  sameKind("defaultCollate", batch, "boolean");
  return fromHost(
    batch.map((v) => (v ? 1 : 0)),
    [batch.length],
    { dtype: "bool" },
  );
};

/** Strings stay an array of strings. */
export const collateStringFn: CollateFn = (batch) => [...batch];

/** TypedArrays -> 1-D tensors, then stacked (PyTorch: numpy arrays). */
export const collateTypedArrayFn: CollateFn = (batch, options) => {
  batch.forEach((a, i) => {
    if (!isTypedArray(a))
      throw new ArgumentError("defaultCollate", `element ${i} of the batch is ${describe(a)} but element 0 is a typed array`);
  });
  const tensors = batch.map((a) => typedArrayToTensor(a as ArrayBufferView));
  try {
    return collate(tensors, options);
  } finally {
    for (const t of tensors) t.dispose();
  }
};

const TYPED_ARRAYS = [
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Uint8Array,
  Uint8ClampedArray,
  Uint16Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/**
 * default_collate_fn_map: how defaultCollate treats each leaf type. Extend a copy (or this map
 * itself, as PyTorch allows) to teach collate new element types.
 */
export const defaultCollateFnMap: CollateFnMap = new Map<CollateKey, CollateFn>([
  [Tensor, collateTensorFn],
  ...TYPED_ARRAYS.map((c) => [c, collateTypedArrayFn] as [CollateKey, CollateFn]),
  ["number", collateNumberFn],
  ["bigint", collateBigIntFn],
  ["boolean", collateBooleanFn],
  ["string", collateStringFn],
]);

function lookup(elem: unknown, map: CollateFnMap): CollateFn | undefined {
  if (elem === null || elem === undefined) return undefined;
  if (typeof elem !== "object" && typeof elem !== "function") return map.get(typeof elem as CollateKey);
  const exact = map.get((elem as object).constructor as CollateKey);
  if (exact) return exact;
  for (const [key, fn] of map) {
    if (typeof key === "function" && elem instanceof (key as abstract new (...args: never[]) => unknown)) return fn;
  }
  return undefined;
}

/**
 * torch.utils.data._utils.collate.collate: the general collation. The element type of batch[0]
 * picks the function from `collateFnMap` (exact class, then instanceof in insertion order, then
 * typeof for primitives); otherwise objects are collated per key, Maps per key, arrays position by
 * position (every element must have the same length).
 */
export function collate(batch: readonly unknown[], options: { collateFnMap?: CollateFnMap } = {}): unknown {
  if (batch.length === 0) throw new ArgumentError("collate", "cannot collate an empty batch");
  const elem = batch[0];
  const map = options.collateFnMap;
  if (map) {
    const fn = lookup(elem, map);
    if (fn) return fn(batch, options);
  }
  if (elem instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const key of elem.keys()) {
      out.set(
        key,
        collate(
          batch.map((d, i) => {
            if (!(d instanceof Map) || !d.has(key))
              throw new ArgumentError("collate", `element ${i} of the batch has no key ${String(key)}`);
            return d.get(key);
          }),
          options,
        ),
      );
    }
    return out;
  }
  if (isPlainObject(elem)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(elem)) {
      out[key] = collate(
        batch.map((d, i) => {
          if (!isPlainObject(d) || !(key in d)) throw new ArgumentError("collate", `element ${i} of the batch has no key '${key}'`);
          return d[key];
        }),
        options,
      );
    }
    return out;
  }
  if (Array.isArray(elem)) {
    const size = elem.length;
    batch.forEach((d, i) => {
      if (!Array.isArray(d) || d.length !== size) {
        const got = Array.isArray(d) ? `${d.length} entries` : describe(d);
        throw new ShapeError(
          "collate",
          `each element in list of batch should be of equal size (element 0 has ${size} entries, element ${i} has ${got})`,
        );
      }
    });
    const out: unknown[] = [];
    for (let k = 0; k < size; k++)
      out.push(
        collate(
          batch.map((d) => (d as unknown[])[k]),
          options,
        ),
      );
    return out;
  }
  throw new ArgumentError("defaultCollate", errFormat(describe(elem)));
}

/**
 * torch.utils.data.default_collate: stacks a batch of samples into batched tensors, keeping the
 * structure. Tensors -> stacked (new dim 0); TypedArrays -> 1-D tensors, stacked; numbers -> a
 * tensor of the default float dtype (float32 unless setDefaultDtype changed it: JS numbers have no
 * int/float distinction, PyTorch makes float64 for floats and int64 for ints); bigints -> int64;
 * booleans -> bool; strings -> string[]; objects and Maps -> collated per key; arrays ->
 * collated per position.
 */
export function defaultCollate<T>(batch: readonly T[]): Collated<T> {
  return collate(batch, { collateFnMap: defaultCollateFnMap }) as Collated<T>;
}

/**
 * torch.utils.data.default_convert (used when automatic batching is off: batchSize null):
 * TypedArrays become tensors; objects, Maps and arrays are converted inside; everything else is
 * returned as is.
 */
export function defaultConvert(data: unknown): unknown {
  if (data instanceof Tensor) return data;
  if (isTypedArray(data)) return typedArrayToTensor(data);
  if (data instanceof Map) return new Map([...data].map(([k, v]) => [k, defaultConvert(v)]));
  if (isPlainObject(data)) return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, defaultConvert(v)]));
  if (Array.isArray(data)) return data.map(defaultConvert);
  return data;
}

export interface PadCollateOptions {
  /** Output [B, T, *] when true (default), [T, B, *] when false (pad_sequence's batch_first). */
  batchFirst?: boolean;
  /** Value of the padded positions (default 0). */
  paddingValue?: number;
  /** dtype for sequences given as number arrays (default int64: token ids). */
  dtype?: DType;
}

export interface PaddedBatch {
  /** [B, maxLen, *] (batchFirst) or [maxLen, B, *]. */
  padded: Tensor;
  /** int64 [B]: the length of each sequence (what pack_padded_sequence takes). */
  lengths: Tensor;
}

/**
 * A collate function for variable-length sequences (token ids): pads every sequence along its
 * first dim to the longest one with `paddingValue` and stacks them, as
 * torch.nn.utils.rnn.pad_sequence does, and returns the lengths too. Sequences are tensors
 * [L, *] or arrays of numbers (made int64 unless `dtype` says otherwise). Built from @dl/tensor ops
 * (pad, stack), so it is differentiable for float inputs.
 */
export function padCollate(
  batch: readonly (Tensor | readonly number[] | ArrayLike<number>)[],
  options: PadCollateOptions = {},
): PaddedBatch {
  if (batch.length === 0) throw new ArgumentError("padCollate", "cannot collate an empty batch");
  const owned: Tensor[] = [];
  const seqs = batch.map((s, i) => {
    if (s instanceof Tensor) {
      if (s.ndim === 0) throw new ShapeError("padCollate", `sequence ${i} is a 0-dim tensor; expected [L, *]`);
      return s;
    }
    if (Array.isArray(s) || isTypedArray(s)) {
      const t =
        isTypedArray(s) && options.dtype === undefined
          ? typedArrayToTensor(s)
          : tensor(Array.from(s as ArrayLike<number>), { dtype: options.dtype ?? "int64" });
      owned.push(t);
      return t;
    }
    throw new ArgumentError("padCollate", `sequence ${i} is ${describe(s)}; expected a Tensor or an array of numbers`);
  });
  const first = seqs[0] as Tensor;
  const trailing = first.shape.slice(1);
  seqs.forEach((s, i) => {
    const t = s.shape.slice(1);
    if (t.length !== trailing.length || t.some((d, k) => d !== trailing[k])) {
      throw new ShapeError(
        "padCollate",
        `sequences must agree in every dim but the first: sequence 0 has shape ${fmtShape(first.shape)}, sequence ${i} has ${fmtShape(s.shape)}`,
      );
    }
  });
  const maxLen = Math.max(...seqs.map((s) => s.shape[0] as number));
  const value = options.paddingValue ?? 0;
  try {
    const padded = seqs.map((s) => {
      const extra = maxLen - (s.shape[0] as number);
      if (extra === 0) return s;
      // pad's pairs start at the last dim: zeros for the trailing dims, then (0, extra) for dim 0
      const spec = new Array<number>(2 * s.ndim).fill(0);
      spec[spec.length - 1] = extra;
      return pad(s, spec, { value });
    });
    const out = stack(padded, options.batchFirst === false ? 1 : 0);
    padded.forEach((p, i) => {
      if (p !== seqs[i]) p.dispose();
    });
    const lengths = fromHost(
      seqs.map((s) => s.shape[0] as number),
      [seqs.length],
      { dtype: "int64" },
    );
    return { padded: out, lengths };
  } finally {
    for (const t of owned) t.dispose();
  }
}
