import { type Backend, getBackend, type StridedRef } from "./backend.js";
import { type DType, type HostArray, isDType, isFloating } from "./dtype.js";
import { ArgumentError, DeviceError, DLError, DTypeError, fmtShape, IndexError, ShapeError } from "./errors.js";
import { formatTensor } from "./format.js";
import { gradState, labelGrad } from "./grad-hooks.js";
import {
  diagonalLayout,
  dimsArg,
  expandLayout,
  type Layout,
  narrowLayout,
  permuteLayout,
  selectLayout,
  sliceLayout,
  squeezeLayout,
  transposeLayout,
  unfoldLayout,
  unsqueezeLayout,
  viewLayout,
} from "./layout.js";
import { writeInPlace } from "./ops/dispatch.js";
import { trackInScope } from "./scope.js";
import { type Size, toSize } from "./size.js";
import { contiguousStrides, isContiguousLayout, normalizeDim, numel, type Shape } from "./shape.js";
import { Storage } from "./storage.js";

/** Nested JS arrays as tolist() returns them. */
export type NestedArray = number | boolean | NestedArray[];

/** One basic index: an integer, a slice ('1:3', '::2', ':' or a Slice), null (new axis) or '...'. */
export type BasicIndex = number | string | Slice | null;

export interface Slice {
  start?: number | null;
  stop?: number | null;
  step?: number;
}

/** Python's slice(start, stop, step) for Tensor.index. */
export function slice(start?: number | null, stop?: number | null, step?: number): Slice {
  return { start: start ?? null, stop: stop ?? null, step: step ?? 1 };
}

/** Parses Python slice syntax ('1:3', '::2', ':'); errors name `op`. */
export function parseSlice(spec: string, op = "index"): Slice {
  if (typeof spec !== "string") throw new IndexError(op, `a slice is a string such as '1:3', but got ${typeof spec}`);
  const parts = spec.split(":");
  const num = (p: string | undefined) => {
    if (p === undefined || p.trim() === "") return null;
    const v = Number(p);
    if (!Number.isInteger(v)) throw new IndexError(op, `invalid slice '${spec}'`);
    return v;
  };
  if (parts.length < 2 || parts.length > 3)
    throw new IndexError(op, `invalid slice '${spec}' (expected 'start:stop' or 'start:stop:step')`);
  return { start: num(parts[0]), stop: num(parts[1]), step: num(parts[2]) ?? 1 };
}

export interface ToOptions {
  dtype?: DType;
  device?: string;
  /** Return a new tensor even when nothing changes. */
  copy?: boolean;
}

type GradHook = (grad: Tensor) => Tensor | undefined | void;

/** What Tensor needs from a grad_fn installed by @dl/autograd (structural: no import). */
interface GradFnSlots {
  addHook?(hook: GradHook): { remove(): void };
  retainFor?(t: Tensor): void;
}

/**
 * An n-dimensional array: metadata (shape, strides, offset, dtype, device) over a refcounted
 * Storage owned by a backend. Views share the storage and never copy.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly device: string;
  /** @internal */ _storage: Storage;
  private _disposed = false;
  private _disposedBy: string | undefined = undefined;

  // Autograd slots, managed by @dl/autograd.
  private _grad: Tensor | null = null;
  /** @internal The tensor whose .grad this is, when autograd allocated it (then it is freed when replaced). */
  _gradOf: Tensor | null = null;
  /** The node that produced this tensor (null for leaves). */
  gradFn: unknown = null;
  /** @internal */ _requiresGrad = false;
  /** @internal */ _retainsGrad = false;
  /** @internal */ _hooks: GradHook[] = [];
  /** @internal */ _base: Tensor | null = null;

  constructor(storage: Storage, shape: Shape, strides: Shape, offset: number, device: string) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...strides]);
    this.offset = offset;
    this.dtype = storage.dtype;
    this.device = device;
    // A tidy() scope frees what it owns; a tensor no scope owns is reclaimed with its storage when it
    // becomes unreachable (each backend reclaims its unreachable storage: see docs/architecture.md).
    trackInScope(this);
  }

  /** Wraps fresh contiguous backend data of the given shape. */
  static fromData(backend: Backend, device: string, data: unknown, dtype: DType, shape: Shape): Tensor {
    const storage = new Storage(backend, data, dtype, numel(shape));
    return new Tensor(storage, shape, contiguousStrides(shape), 0, device);
  }

  /** @internal A new tensor over this one's storage (a view). */
  _view(shape: Shape, strides: Shape, offset: number): Tensor {
    this._assertLive("view");
    const t = new Tensor(this._storage.retain(), shape, strides, offset, this.device);
    t._base = this._base ?? this;
    return t;
  }

  get backend(): Backend {
    return this._storage.backend;
  }

  /** The strided reference kernels read. */
  get ref(): StridedRef {
    this._assertLive("kernel");
    return { data: this._storage.data, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  numel(): number {
    return numel(this.shape);
  }

  /**
   * size() is the shape as a Size (torch.Size: prints `[4, 3]`); size(d) one extent (negative d
   * counts from the end). `shape` itself stays a plain frozen array: see size.ts for why.
   */
  size(): Size;
  size(dim: number): number;
  size(dim?: number): number | Size {
    if (dim === undefined) return toSize(this.shape);
    return this.shape[normalizeDim("size", dim, this.ndim)] as number;
  }

  stride(): readonly number[];
  stride(dim: number): number;
  stride(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.strides;
    return this.strides[normalizeDim("stride", dim, this.ndim)] as number;
  }

  storageOffset(): number {
    return this.offset;
  }

  isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  elementSize(): number {
    const sizes: Record<DType, number> = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, bool: 1 };
    return sizes[this.dtype];
  }

  isFloatingPoint(): boolean {
    return isFloating(this.dtype);
  }

  // ---- views (O(1), share storage) ----

  /** @internal Wraps a layout of this tensor's storage and records the view for autograd. */
  _derive(op: string, l: Layout, args: Readonly<Record<string, unknown>>): Tensor {
    return record(op, [this], this._view(l.shape, l.strides, l.offset), args);
  }

  /** Same data, new shape; one dim may be -1. Fails when the strides cannot express it (use reshape). */
  view(...shape: (number | readonly number[])[]): Tensor {
    if (shape.length === 1 && isDType(shape[0]))
      throw new ArgumentError("view", "viewing as another dtype is not supported; use to(dtype)");
    const l = viewLayout("view", this, dimsArg(shape));
    if (!l) {
      throw new ShapeError(
        "view",
        `view size ${fmtShape(dimsArg(shape))} is not compatible with input tensor's size ${fmtShape(this.shape)} and stride ${fmtShape(this.strides)} (at least one dimension spans across two contiguous subspaces); use reshape() instead`,
      );
    }
    return this._derive("view", l, { shape: this.shape });
  }

  /** view() when possible, otherwise a contiguous copy with the new shape. */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    // gradFn names follow PyTorch 1.13: a reshape that can view is an alias, otherwise a copy + view.
    const l = viewLayout("reshape", this, dimsArg(shape));
    if (l) return labelGrad(this._derive("view", l, { shape: this.shape }), "ReshapeAliasBackward0");
    return labelGrad(this.contiguous().view(dimsArg(shape)), "UnsafeViewBackward0");
  }

  viewAs(other: Tensor): Tensor {
    checkOther("viewAs", other);
    return this.view(other.shape);
  }

  reshapeAs(other: Tensor): Tensor {
    checkOther("reshapeAs", other);
    return this.reshape(other.shape);
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape(1);
    const s = normalizeDim("flatten", startDim, this.ndim);
    const e = normalizeDim("flatten", endDim, this.ndim);
    if (s > e) throw new ArgumentError("flatten", `start_dim (${startDim}) cannot come after end_dim (${endDim})`);
    const shape = [...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }

  unflatten(dim: number, sizes: readonly number[]): Tensor {
    const d = normalizeDim("unflatten", dim, this.ndim);
    const len = this.shape[d] as number;
    const known = sizes.reduce((a, b) => (b === -1 ? a : a * b), 1);
    const resolved = sizes.map((v) => (v === -1 ? len / known : v));
    if (numel(resolved) !== len || !resolved.every(Number.isInteger)) {
      throw new ShapeError(
        "unflatten",
        `provided sizes ${fmtShape(sizes)} don't multiply up to the size of dim ${dim} (${len}) in the input tensor`,
      );
    }
    return this.view([...this.shape.slice(0, d), ...resolved, ...this.shape.slice(d + 1)]);
  }

  permute(...dims: (number | readonly number[])[]): Tensor {
    const d = dimsArg(dims);
    return this._derive("permute", permuteLayout(this, d), { dims: d });
  }

  transpose(dim0: number, dim1: number): Tensor {
    return this._derive("transpose", transposeLayout(this, dim0, dim1), { dim0, dim1 });
  }

  /** 2-D transpose (0-D and 1-D tensors are returned as is). */
  t(): Tensor {
    if (this.ndim > 2) throw new ShapeError("t", `expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? this : labelGrad(this.transpose(0, 1), "TBackward0");
  }

  /** Transpose of the last two dims (batched matrices). */
  get mT(): Tensor {
    if (this.ndim < 2)
      throw new ShapeError("mT", `tensor.mT is only supported on matrices or batches of matrices, got ${this.ndim}-D tensor`);
    return this.transpose(-2, -1);
  }

  movedim(source: number | readonly number[], destination: number | readonly number[]): Tensor {
    const src = normalizeDimsList("movedim", source, this.ndim);
    const dst = normalizeDimsList("movedim", destination, this.ndim);
    if (src.length !== dst.length)
      throw new ArgumentError(
        "movedim",
        `invalid source or destination dims: source (${src.length} dims) should contain the same number of dims as destination (${dst.length} dims)`,
      );
    const order = new Array<number>(this.ndim).fill(-1);
    src.forEach((s, i) => {
      order[dst[i] as number] = s;
    });
    const rest = [...Array(this.ndim).keys()].filter((d) => !src.includes(d));
    for (let i = 0; i < order.length; i++) if (order[i] === -1) order[i] = rest.shift() as number;
    return this.permute(order);
  }

  /** Broadcasts to a larger shape without copying (-1 keeps a dim). */
  expand(...sizes: (number | readonly number[])[]): Tensor {
    const s = dimsArg(sizes);
    return this._derive("expand", expandLayout(this, s), { shape: this.shape });
  }

  expandAs(other: Tensor): Tensor {
    checkOther("expandAs", other);
    return this.expand(other.shape);
  }

  narrow(dim: number, start: number, length: number): Tensor {
    const d = normalizeDim("narrow", dim, this.ndim);
    const l = narrowLayout(this, d, start, length);
    return this._derive("slice", l, { dim: d, start: start < 0 ? start + (this.shape[d] as number) : start, step: 1, shape: this.shape });
  }

  /** Python slicing along one dim: x.slice(1, 0, null, 2) is x[:, 0::2]. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    const d = normalizeDim("slice", dim, this.ndim);
    const l = sliceLayout("slice", this, d, start, end, step);
    const s0 = (this.strides[d] as number) === 0 ? 0 : (l.offset - this.offset) / (this.strides[d] as number);
    return this._derive("slice", l, { dim: d, start: s0, step, shape: this.shape });
  }

  /** x.select(d, i) is x[..., i, ...] with dim d removed. */
  select(dim: number, index: number): Tensor {
    const d = normalizeDim("select", dim, this.ndim);
    const i = index < 0 ? index + (this.shape[d] as number) : index;
    return this._derive("select", selectLayout(this, d, index), { dim: d, index: i, shape: this.shape });
  }

  /** Removes size-1 dims (all, or those given). */
  squeeze(dim?: number | readonly number[]): Tensor {
    const dims = dim === undefined ? undefined : typeof dim === "number" ? [dim] : dim;
    return labelGrad(
      this._derive("view", squeezeLayout(this, dims), { shape: this.shape }),
      dim === undefined ? "SqueezeBackward0" : "SqueezeBackward1",
    );
  }

  unsqueeze(dim: number): Tensor {
    return labelGrad(this._derive("view", unsqueezeLayout(this, dim), { shape: this.shape }), "UnsqueezeBackward0");
  }

  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    const a = normalizeDim("diagonal", dim1, this.ndim);
    const b = normalizeDim("diagonal", dim2, this.ndim);
    return this._derive("diagonal", diagonalLayout(this, offset, a, b), { offset, dim1: a, dim2: b, shape: this.shape });
  }

  /** Sliding windows along dim as a new last dimension (a view). */
  unfold(dimension: number, size: number, step: number): Tensor {
    const d = normalizeDim("unfold", dimension, Math.max(this.ndim, 1));
    return this._derive("unfold", unfoldLayout(this, d, size, step), { dim: d, size, step, shape: this.shape });
  }

  /**
   * Basic indexing, as x[...] in Python: integers select, slices ('1:3', '::2', ':' or slice()),
   * null inserts a dim, '...' expands to the remaining dims. Always a view.
   */
  index(...specs: BasicIndex[]): Tensor {
    specs.forEach(checkBasicIndex);
    const consumed = specs.filter((s) => s !== null && s !== "...").length;
    if (specs.filter((s) => s === "...").length > 1) throw new IndexError("index", "an index can only have a single ellipsis ('...')");
    if (consumed > this.ndim) throw new IndexError("index", `too many indices for tensor of dimension ${this.ndim} (got ${consumed})`);
    let t: Tensor = this;
    let d = 0;
    for (const s of specs) {
      if (s === "...") d += this.ndim - consumed;
      else if (s === null) t = t.unsqueeze(d++);
      else if (typeof s === "number") {
        const len = t.shape[d] as number;
        if (!Number.isInteger(s) || s < -len || s >= len)
          throw new IndexError("index", `index ${s} is out of bounds for dimension ${d} with size ${len}`);
        t = t.select(d, s);
      } else {
        const sl = typeof s === "string" ? parseSlice(s) : s;
        t = t.slice(d++, sl.start, sl.stop, sl.step ?? 1);
      }
    }
    return t;
  }

  /**
   * Replaces this tensor's data with src's, keeping this object (PyTorch's `t.data = src`):
   * modules use it to move or cast parameters without breaking references to them.
   */
  setData(src: Tensor): void {
    checkOther("setData", src, "src");
    src._assertLive("setData");
    const old = this._storage;
    const self = this as { -readonly [K in keyof Tensor]: Tensor[K] };
    self._storage = src._storage.retain();
    self.shape = src.shape;
    self.strides = src.strides;
    self.offset = src.offset;
    self.dtype = src.dtype;
    self.device = src.device;
    old.release();
  }

  // ---- in-place writes (validated before any element changes) ----

  /** Fills with zeros. */
  zero_(): this {
    writeInPlace("zero_", this, 0);
    return this;
  }

  fill_(value: number | boolean): this {
    writeInPlace("fill_", this, value);
    return this;
  }

  /** Copies src (broadcast to this shape; any dtype or device) into this tensor. */
  copy_(src: Tensor): this {
    writeInPlace("copy_", this, src, true);
    return this;
  }

  // ---- autograd ----

  /**
   * The gradient accumulated by backward() (leaves, and non-leaves that called retainGrad()).
   * A gradient that backward allocated belongs to this tensor: replacing or clearing it
   * (x.grad = null, zeroGrad({ setToNone: true })) frees its storage, so clone() one to keep it.
   */
  get grad(): Tensor | null {
    return this._grad;
  }

  set grad(g: Tensor | null) {
    if (g !== null) checkGradAssignment(this, g);
    const old = this._grad;
    this._grad = g;
    if (old !== null && old !== g && old._gradOf === this) old.dispose("the replacement of the .grad it was (clone() a gradient to keep it)");
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }

  /** Only leaves can change requiresGrad; only floating tensors can require gradients. */
  requiresGrad_(value = true): this {
    if (this.gradFn !== null && !value) {
      throw new DLError(
        "requiresGrad_",
        "you can only change requiresGrad flags of leaf tensors; use detach() to get a tensor without gradient tracking",
      );
    }
    if (value && !isFloating(this.dtype)) {
      throw new DTypeError("requiresGrad_", `only tensors of floating point dtype can require gradients, got ${this.dtype}`);
    }
    this._requiresGrad = value;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get retainsGrad(): boolean {
    return this._retainsGrad;
  }

  /** Keep .grad on this non-leaf tensor after backward(). */
  retainGrad(): void {
    if (!this._requiresGrad) throw new DLError("retainGrad", "can't retain grad on a tensor that has requiresGrad=false");
    if (this.gradFn !== null) {
      this._retainsGrad = true;
      (this.gradFn as GradFnSlots).retainFor?.(this);
    }
  }

  /** Registers a hook called with this tensor's gradient; returning a tensor replaces it. */
  registerHook(hook: GradHook): { remove(): void } {
    if (!this._requiresGrad) throw new DLError("registerHook", "cannot register a hook on a tensor that doesn't require gradient");
    // A non-leaf's hooks live on its grad_fn, as in PyTorch; a leaf keeps its own.
    const fn = this.gradFn as GradFnSlots | null;
    if (fn !== null && typeof fn.addHook === "function") return fn.addHook(hook);
    this._hooks.push(hook);
    return {
      remove: () => {
        this._hooks = this._hooks.filter((h) => h !== hook);
      },
    };
  }

  /** Computes gradients of this tensor w.r.t. graph leaves (requires @dl/autograd). */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const r = gradState.recorder;
    if (!r) throw new DLError("backward", 'automatic differentiation is not loaded: add import "@dl/autograd" to the program');
    r.backward(this, gradient, options);
  }

  /** A tensor sharing storage, cut from the graph. */
  detach(): Tensor {
    const t = this._view(this.shape, this.strides, this.offset);
    t._base = null;
    return t;
  }

  detach_(): this {
    this.gradFn = null;
    this._requiresGrad = false;
    return this;
  }

  // ---- memory ----

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Releases this tensor's reference to its storage now (the storage is freed when no view uses it).
   * `reason` says what disposed it, for the error a later use throws (tidy() passes its own).
   */
  dispose(reason?: string): void {
    if (this._disposed) return;
    this._disposed = true;
    this._disposedBy = reason;
    this._storage.release();
  }

  /** @internal */
  _assertLive(op: string): void {
    if (this._disposed || this._storage.disposed) {
      throw new DLError(
        op,
        `tensor was disposed by ${this._disposed ? (this._disposedBy ?? "dispose()") : "the release of its storage"}; to use a tensor after the tidy() that created it, return it from the function or keep() it`,
      );
    }
  }

  // ---- reading data ----

  /** The values in row-major order, as a fresh TypedArray (int64 as Float64Array, bool as Uint8Array). */
  async data(): Promise<HostArray> {
    this._assertLive("data");
    const b = this.backend;
    if (this.isContiguous() && this.offset === 0 && this._storage.size === this.numel()) {
      return b.read(this._storage.data, this.dtype, this.numel());
    }
    const c = b.copy(this.ref, this.dtype);
    try {
      return await b.read(c, this.dtype, this.numel());
    } finally {
      b.dispose(c);
    }
  }

  /** Synchronous data(): available where the backend can read synchronously. */
  dataSync(): HostArray {
    this._assertLive("dataSync");
    const b = this.backend;
    if (!b.canReadSync) {
      throw new DLError("dataSync", `the '${this.device}' backend cannot read synchronously; use await tensor.data()`);
    }
    if (this.isContiguous() && this.offset === 0 && this._storage.size === this.numel()) {
      return b.readSync(this._storage.data, this.dtype, this.numel());
    }
    const c = b.copy(this.ref, this.dtype);
    try {
      return b.readSync(c, this.dtype, this.numel());
    } finally {
      b.dispose(c);
    }
  }

  /** The single value of a one-element tensor. */
  item(): number | boolean {
    if (this.numel() !== 1) {
      throw new ArgumentError("item", `a Tensor with ${this.numel()} elements cannot be converted to a scalar`);
    }
    const v = this.dataSync()[0] as number;
    return this.dtype === "bool" ? v !== 0 : v;
  }

  /** Nested arrays of numbers (booleans for bool tensors). */
  tolist(): NestedArray {
    const flat = this.dataSync();
    const isBool = this.dtype === "bool";
    let i = 0;
    const build = (d: number): NestedArray => {
      if (d === this.ndim) {
        const v = flat[i++] as number;
        return isBool ? v !== 0 : v;
      }
      const out: NestedArray[] = [];
      for (let k = 0; k < (this.shape[d] as number); k++) out.push(build(d + 1));
      return out;
    };
    return build(0);
  }

  // ---- conversion ----

  /** Moves and/or converts: to('cpu'), to('float64'), to({ device: 'gpu', dtype: 'float32' }), to(otherTensor). */
  to(target: string | ToOptions | Tensor, options: { copy?: boolean } = {}): Tensor {
    let dtype = this.dtype;
    let device = this.device;
    let copy = options.copy ?? false;
    if (target === null || (typeof target !== "string" && typeof target !== "object")) {
      throw new ArgumentError("to", `expected a device, a dtype, { device, dtype } or a Tensor, but got ${target === null ? "null" : typeof target}`);
    }
    if (target instanceof Tensor) {
      dtype = target.dtype;
      device = target.device;
    } else if (typeof target === "string") {
      if (isDType(target)) dtype = target;
      else device = target;
    } else {
      dtype = target.dtype ?? dtype;
      device = target.device ?? device;
      copy = target.copy ?? copy;
    }
    if (dtype === this.dtype && device === this.device && !copy) return this;
    return convert(this, dtype, device);
  }

  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  half(): Tensor {
    return this.to("float16");
  }
  bfloat16(): Tensor {
    return this.to("bfloat16");
  }
  int(): Tensor {
    return this.to("int32");
  }
  long(): Tensor {
    return this.to("int64");
  }
  bool(): Tensor {
    return this.to("bool");
  }
  cpu(): Tensor {
    return this.to("cpu");
  }

  /** A contiguous tensor with the same values (this one if already contiguous). */
  contiguous(): Tensor {
    return this.isContiguous() ? this : convert(this, this.dtype, this.device);
  }

  /** A copy with its own storage. */
  clone(): Tensor {
    return convert(this, this.dtype, this.device);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * Tensor.index takes basic indices only (advanced indexing lives in the free index(), which keeps
 * it out of bundles that only need views). Plain JavaScript can pass anything, and a tensor or
 * array would otherwise read as an empty Slice and select everything.
 */
function checkBasicIndex(s: unknown, i: number): void {
  if (s === null || s === "..." || typeof s === "number" || typeof s === "string") return;
  if (typeof s === "object" && !(s instanceof Tensor) && !Array.isArray(s)) {
    const o = s as Record<string, unknown>;
    const ok = Object.keys(o).every(
      (k) => (k === "start" || k === "stop" || k === "step") && (o[k] === null || o[k] === undefined || typeof o[k] === "number"),
    );
    if (ok) return;
  }
  const what =
    s instanceof Tensor
      ? "a Tensor"
      : Array.isArray(s)
        ? "an array"
        : s === undefined
          ? "undefined"
          : typeof s === "object"
            ? "an object that is not a Slice"
            : `a ${typeof s}`;
  throw new IndexError(
    "index",
    `Tensor.index takes basic indices (integers, slices such as '1:3' or slice(), null, '...'), but got ${what} at position ${i}; use index(x, ...) for tensor, mask or array indices`,
  );
}

/** PyTorch's checks on `t.grad = g`: a gradient the optimizer would broadcast or cast is an error. */
function checkGradAssignment(t: Tensor, g: unknown): asserts g is Tensor {
  if (!(g instanceof Tensor)) {
    throw new ArgumentError("grad", `assigned grad expected to be a Tensor or null but got ${g === undefined ? "undefined" : typeof g}`);
  }
  if (g === t) throw new ArgumentError("grad", "can't assign a tensor as its own grad");
  if (g.dtype !== t.dtype) {
    throw new DTypeError("grad", `assigned grad has data of a different type (the tensor is ${t.dtype}, the grad ${g.dtype})`);
  }
  if (g.ndim !== t.ndim || g.shape.some((s, i) => s !== t.shape[i])) {
    throw new ShapeError("grad", `assigned grad has data of a different size (the tensor has shape ${fmtShape(t.shape)}, the grad ${fmtShape(g.shape)})`);
  }
  if (g.device !== t.device) {
    throw new DeviceError("grad", `assigned grad has data located on a different device (the tensor is on ${t.device}, the grad on ${g.device})`);
  }
}

/** A Tensor argument of a method (viewAs, expandAs, setData). */
function checkOther(op: string, t: unknown, name = "other"): void {
  if (!(t instanceof Tensor)) {
    throw new ArgumentError(op, `argument '${name}' must be a Tensor, but got ${t === null ? "null" : Array.isArray(t) ? "an array" : typeof t}`);
  }
}

function normalizeDimsList(op: string, d: number | readonly number[], ndim: number): number[] {
  if (typeof d !== "number" && !Array.isArray(d)) throw new ArgumentError(op, `dims must be an integer or an array of integers, got ${typeof d}`);
  const list = typeof d === "number" ? [d] : [...d];
  const out = list.map((x) => normalizeDim(op, x, ndim));
  if (new Set(out).size !== out.length) throw new ArgumentError(op, `repeated dim in ${fmtShape(list)}`);
  return out;
}

/** Converts dtype and/or device into a fresh contiguous tensor; recorded for autograd. */
function convert(x: Tensor, dtype: DType, device: string): Tensor {
  x._assertLive("to");
  let out: Tensor;
  if (device === x.device) {
    out = Tensor.fromData(x.backend, device, x.backend.copy(x.ref, dtype), dtype, x.shape);
  } else {
    const target = getBackend(device, "to");
    const host =
      x.dtype === dtype ? x.dataSync() : Tensor.fromData(x.backend, x.device, x.backend.copy(x.ref, dtype), dtype, x.shape).dataSync();
    out = Tensor.fromData(target, device, target.upload(host, dtype), dtype, x.shape);
  }
  record("copy", [x], out, { dtype, device: x.device });
  return out;
}

/** Reports a differentiable primitive to autograd, when it is loaded and any input requires grad. */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, args: Readonly<Record<string, unknown>> = {}): Tensor {
  const r = gradState.recorder;
  if (r !== null && gradState.enabled && isFloating(output.dtype)) {
    for (const t of inputs) {
      if (t._requiresGrad) {
        r.record(op, inputs, output, args);
        break;
      }
    }
  }
  return output;
}
