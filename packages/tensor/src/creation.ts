import { getBackend, getDefaultDevice } from "./backend.js";
import {
  type DType,
  type HostArray,
  bfloat16BitsToNumber,
  float16BitsToNumber,
  getDefaultDtype,
  isDType,
  isFloating,
  itemSize,
} from "./dtype.js";
import { ArgumentError, DTypeError, OutOfMemoryError, ShapeError, describeValue, fmtShape } from "./errors.js";
import { dimsArg } from "./layout.js";
import { numel } from "./shape.js";
import { Tensor } from "./tensor.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

/** Nested arrays of numbers/booleans, or a flat TypedArray. */
export type TensorData = number | boolean | bigint | readonly TensorData[] | ArrayLike<number> | BigInt64Array;

/** Factory options are checked before anything is allocated: a known dtype, a device name. */
export function checkOptions(op: string, options: unknown): TensorOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ArgumentError(op, `options must be an object such as { dtype, device, requiresGrad }, but got ${describeValue(options)}`);
  }
  const o = options as TensorOptions;
  if (o.dtype !== undefined && !isDType(o.dtype)) {
    throw new DTypeError(
      op,
      `unknown dtype ${describeValue(o.dtype)} (expected one of float32, float64, float16, bfloat16, int32, int64, bool)`,
    );
  }
  if (o.device !== undefined && typeof o.device !== "string")
    throw new ArgumentError(op, `device must be a string such as 'cpu', but got ${describeValue(o.device)}`);
  return o;
}

/** A shape: non-negative integer sizes. */
export function checkShape(op: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(
      op,
      `invalid shape ${Array.isArray(shape) ? `[${shape.map(String).join(",")}]` : describeValue(shape)} (expected non-negative integer sizes)`,
    );
  }
  return shape;
}

// The largest TypedArray V8 makes; beyond it (or when memory runs out) allocation is a RangeError.
const MAX_ELEMENTS = 2 ** 32;

const sizeText = (shape: readonly number[], dtype: DType): string =>
  `cannot allocate a ${dtype} tensor of shape ${fmtShape(shape)} (${numel(shape)} elements, ${numel(shape) * itemSize(dtype)} bytes)`;

/** Rejects a tensor larger than any TypedArray before host memory is spent building its values. */
export function assertAllocatable(op: string, shape: readonly number[], dtype: DType): void {
  if (numel(shape) > MAX_ELEMENTS) {
    throw new OutOfMemoryError(op, `${sizeText(shape, dtype)}: more than the ${MAX_ELEMENTS} elements a JavaScript typed array can hold`);
  }
}

/** Runs a backend allocation of `shape`, turning the engine's RangeError into an OutOfMemoryError naming the size. */
function allocating<T>(op: string, shape: readonly number[], dtype: DType, alloc: () => T): T {
  assertAllocatable(op, shape, dtype);
  const what = () => sizeText(shape, dtype);
  try {
    return alloc();
  } catch (e) {
    if (e instanceof RangeError) throw new OutOfMemoryError(op, `${what()}: ${e.message}`);
    throw e;
  }
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Creates a tensor from host values laid out row-major. */
export function fromHost(values: ArrayLike<number>, shape: readonly number[], options: TensorOptions & { dtype: DType }): Tensor {
  checkOptions("tensor", options);
  const device = options.device ?? getDefaultDevice();
  const b = getBackend(device, "tensor");
  const data = allocating("tensor", shape, options.dtype, () => b.upload(values, options.dtype));
  return finish(Tensor.fromData(b, device, data, options.dtype, shape), options);
}

function typedArrayDType(a: unknown): DType | undefined {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (
    a instanceof Int32Array ||
    a instanceof Int16Array ||
    a instanceof Int8Array ||
    a instanceof Uint16Array ||
    a instanceof Uint8ClampedArray
  )
    return "int32";
  if (a instanceof Uint8Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  return undefined;
}

/**
 * torch.tensor. Dtype: the `dtype` option; else a TypedArray's own type (BigInt64Array and bigint
 * values give int64); else bool for booleans and the default float dtype (float32) for numbers.
 * JS numbers carry no int/float distinction, so number data never becomes int64 by value: pass
 * { dtype: "int64" } for integer tensors.
 */
export function tensor(data: TensorData, options: TensorOptions = {}): Tensor {
  checkOptions("tensor", options);
  const shape: number[] = [];
  let inferred: DType | undefined = typedArrayDType(data);
  const flat: number[] = [];
  // Depth at which scalars were first seen: every scalar must sit there and no sequence below it.
  let leafDepth = -1;
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      if (leafDepth >= 0 && depth >= leafDepth) throw new ShapeError("tensor", `expected a scalar at dim ${depth}, got a sequence`);
      const arr = v as ArrayLike<unknown>;
      if (depth === shape.length) shape.push(arr.length);
      else if (shape[depth] !== arr.length) {
        throw new ShapeError("tensor", `expected sequence of length ${shape[depth]} at dim ${depth} (got ${arr.length})`);
      }
      if (inferred === undefined) inferred = typedArrayDType(v);
      for (let i = 0; i < arr.length; i++) walk(arr[i], depth + 1);
      return;
    }
    if (depth !== shape.length) throw new ShapeError("tensor", `expected a sequence at dim ${depth}, got a scalar`);
    leafDepth = depth;
    if (typeof v === "boolean") {
      flat.push(v ? 1 : 0);
      inferred ??= "bool";
    } else if (typeof v === "bigint") {
      flat.push(Number(v));
      inferred ??= "int64";
    } else if (typeof v === "number") {
      flat.push(v);
      if (inferred === "bool") inferred = getDefaultDtype();
      inferred ??= getDefaultDtype();
    } else throw new ArgumentError("tensor", `could not infer dtype of ${typeof v}`);
  };
  walk(data, 0);
  const dtype = options.dtype ?? inferred ?? getDefaultDtype();
  return fromHost(flat, shape, { ...options, dtype });
}

/** A tensor of `shape` over a flat array of values (no nesting), e.g. fromArray(data, [2, 3]). */
export function fromArray(values: ArrayLike<number>, shape: readonly number[], options: TensorOptions = {}): Tensor {
  checkShape("fromArray", shape);
  checkOptions("fromArray", options);
  if (values === null || typeof values !== "object" || typeof (values as ArrayLike<number>).length !== "number") {
    throw new ArgumentError("fromArray", `argument 'values' must be an array or a TypedArray, but got ${describeValue(values)}`);
  }
  if (numel(shape) !== values.length) {
    throw new ShapeError("fromArray", `shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${values.length}`);
  }
  return fromHost(values, shape, { ...options, dtype: options.dtype ?? typedArrayDType(values) ?? getDefaultDtype() });
}

/** Reads little-endian raw bytes of `dtype` (as in safetensors / numpy .tobytes()). */
export function fromBuffer(
  buffer: ArrayBuffer | ArrayBufferView,
  dtype: DType,
  shape: readonly number[],
  options: Omit<TensorOptions, "dtype"> = {},
): Tensor {
  if (!(buffer instanceof ArrayBuffer || ArrayBuffer.isView(buffer))) {
    throw new ArgumentError("fromBuffer", `argument 'buffer' must be an ArrayBuffer or a TypedArray, but got ${describeValue(buffer)}`);
  }
  if (!isDType(dtype)) throw new DTypeError("fromBuffer", `unknown dtype ${describeValue(dtype)}`);
  checkShape("fromBuffer", shape);
  checkOptions("fromBuffer", options);
  const bytes = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
  const n = numel(shape);
  const size = itemSize(dtype);
  if (bytes.byteLength !== n * size) {
    throw new ShapeError("fromBuffer", `${dtype} tensor of shape ${fmtShape(shape)} needs ${n * size} bytes, got ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (dtype) {
      case "float32":
        values[i] = view.getFloat32(o, true);
        break;
      case "float64":
        values[i] = view.getFloat64(o, true);
        break;
      case "int32":
        values[i] = view.getInt32(o, true);
        break;
      case "int64":
        values[i] = Number(view.getBigInt64(o, true));
        break;
      case "bool":
        values[i] = view.getUint8(o) ? 1 : 0;
        break;
      case "float16":
        values[i] = float16BitsToNumber(view.getUint16(o, true));
        break;
      case "bfloat16":
        values[i] = bfloat16BitsToNumber(view.getUint16(o, true));
        break;
    }
  }
  return fromHost(values, shape, { ...options, dtype });
}

type ShapeArgs = (number | readonly number[])[];

function splitOptions(op: string, args: (number | readonly number[] | TensorOptions)[]): [number[], TensorOptions] {
  const last = args[args.length - 1];
  const hasOpts = last !== undefined && typeof last === "object" && !Array.isArray(last);
  const rest = (hasOpts ? args.slice(0, -1) : args) as ShapeArgs;
  if (!rest.every((a) => typeof a === "number" || Array.isArray(a))) {
    throw new ShapeError(op, `size must be integers or an array of integers, but got ${rest.map(describeValue).join(", ")}`);
  }
  const dims = dimsArg(rest);
  checkShape(op, dims);
  return [dims, hasOpts ? checkOptions(op, last) : {}];
}

export function full(shape: readonly number[], value: number | boolean, options: TensorOptions = {}): Tensor {
  return fill("full", shape, value, options);
}

/** full() under the caller's name (zeros, ones, ...), validating shape, value and options first. */
function fill(op: string, shape: readonly number[], value: number | boolean, options: TensorOptions): Tensor {
  checkShape(op, shape);
  checkOptions(op, options);
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new ArgumentError(op, `fill value must be a number or a boolean, but got ${describeValue(value)}`);
  }
  const dtype = options.dtype ?? (typeof value === "boolean" ? "bool" : getDefaultDtype());
  const device = options.device ?? getDefaultDevice();
  const b = getBackend(device, op);
  const n = numel(shape);
  const data = allocating(op, shape, dtype, () => b.alloc(n, dtype));
  const t = Tensor.fromData(b, device, data, dtype, shape);
  if (value !== 0 && value !== false) {
    const one = Tensor.fromData(b, device, b.upload([Number(value)], dtype), dtype, []);
    b.write(t.ref, { ...one.ref, shape, strides: shape.map(() => 0) });
    one.dispose();
  }
  return finish(t, options);
}

/** zeros(2, 3), zeros([2, 3]), zeros(2, 3, { dtype: "int64" }). */
export function zeros(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [shape, options] = splitOptions("zeros", args);
  return fill("zeros", shape, 0, options);
}

export function ones(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [shape, options] = splitOptions("ones", args);
  return fill("ones", shape, 1, options);
}

/** Uninitialized memory in PyTorch; zero-filled here (allocation always zeroes). */
export function empty(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  return zeros(...args);
}

function likeOpts(op: string, t: Tensor, o: TensorOptions): TensorOptions {
  if (!(t instanceof Tensor)) throw new ArgumentError(op, `argument 'input' must be a Tensor, but got ${describeValue(t)}`);
  checkOptions(op, o);
  return { dtype: o.dtype ?? t.dtype, device: o.device ?? t.device, requiresGrad: o.requiresGrad };
}
export const zerosLike = (t: Tensor, options: TensorOptions = {}): Tensor => {
  const o = likeOpts("zerosLike", t, options);
  return fill("zerosLike", t.shape, 0, o);
};
export const onesLike = (t: Tensor, options: TensorOptions = {}): Tensor => {
  const o = likeOpts("onesLike", t, options);
  return fill("onesLike", t.shape, 1, o);
};
export const emptyLike = zerosLike;
export const fullLike = (t: Tensor, value: number | boolean, options: TensorOptions = {}): Tensor => {
  const o = likeOpts("fullLike", t, options);
  return fill("fullLike", t.shape, value, o);
};

/**
 * arange(end), arange(start, end, step). As in PyTorch, the result is int64 when start, end and
 * step are all integers, the default float dtype otherwise.
 */
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  let options: TensorOptions = {};
  let start = 0;
  let end = a;
  let step = 1;
  if (typeof b === "object") options = b;
  else if (typeof c === "object") options = c;
  else if (d) options = d;
  if (typeof b === "number") {
    start = a;
    end = b;
    if (typeof c === "number") step = c;
  }
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? "int64" : getDefaultDtype());
  // Integer outputs take integer bounds and step (truncated, as PyTorch's Scalar.to<int64_t>()).
  const integral = dtype === "int32" || dtype === "int64";
  const xs = integral ? Math.trunc(start) : start;
  const xe = integral ? Math.trunc(end) : end;
  const xstep = integral ? Math.trunc(step) : step;
  if (!(xstep > 0 || xstep < 0)) throw new ArgumentError("arange", "step must be nonzero");
  if (!Number.isFinite(xs) || !Number.isFinite(xe)) throw new ArgumentError("arange", `unsupported range: ${start} -> ${end}`);
  if (!((xstep > 0 && xe >= xs) || (xstep < 0 && xe <= xs))) {
    throw new ArgumentError(
      "arange",
      `upper bound and larger bound inconsistent with step sign (start=${start}, end=${end}, step=${step})`,
    );
  }
  // PyTorch sizes int64 ranges from the truncated values and every other dtype from the originals.
  const n = Math.max(0, Math.ceil(dtype === "int64" ? (xe - xs) / xstep : (end - start) / step));
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = xs + i * xstep;
  return fromHost(values, [n], { ...options, dtype });
}

/** `steps` points from start to end inclusive (PyTorch's symmetric evaluation for float exactness). */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError("linspace", `number of steps must be non-negative, got ${steps}`);
  const dtype = options.dtype ?? getDefaultDtype();
  if (dtype === "int32" || dtype === "int64") {
    // Integer outputs start from integer bounds (PyTorch's Scalar.to<scalar_t>()).
    start = Math.trunc(start);
    end = Math.trunc(end);
  }
  const values = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  // A single step is start, not end (the symmetric formula would give end).
  if (steps === 1) values[0] = start;
  return fromHost(values, [steps], { ...options, dtype });
}

export function logspace(start: number, end: number, steps: number, base = 10, options: TensorOptions = {}): Tensor {
  const lin = linspace(start, end, steps, { dtype: "float64" });
  const exps = lin.dataSync();
  lin.dispose();
  const values = Array.from(exps, (e) => base ** e);
  return fromHost(values, [steps], { ...options, dtype: options.dtype ?? getDefaultDtype() });
}

/** Identity matrix n x m (m defaults to n). */
export function eye(n: number, m: number | TensorOptions = n, options: TensorOptions = {}): Tensor {
  const opts = typeof m === "object" ? m : options;
  const cols = typeof m === "number" ? m : n;
  const values = new Float64Array(n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) values[i * cols + i] = 1;
  return fromHost(values, [n, cols], { ...opts, dtype: opts.dtype ?? getDefaultDtype() });
}

/** A host copy of values for generic (non-primitive) algorithms. */
export function hostValues(t: Tensor): HostArray {
  return t.dataSync();
}

/** Checks that a dtype is floating for ops that need one (rand, linspace into int, ...). */
export function requireFloating(op: string, dtype: DType): void {
  if (!isFloating(dtype)) throw new DTypeError(op, `expected a floating point dtype, got ${dtype}`);
}
