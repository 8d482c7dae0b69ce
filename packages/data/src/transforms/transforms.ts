import {
  ArgumentError,
  DTypeError,
  type DType,
  type Generator,
  ShapeError,
  Tensor,
  defaultGenerator,
  div,
  div_,
  flip,
  fmtShape,
  fromArray,
  fromHost,
  getDefaultDtype,
  indexSelect,
  isFloating,
  pad,
  sub,
  sub_,
} from "@dl/tensor";

/** A transform object: torchvision's transforms are callables, dl's have `forward`. */
export interface Transform<I = unknown, O = unknown> {
  forward(input: I): O;
}

/** A transform object or a plain function. */
export type TransformLike<I = unknown, O = unknown> = Transform<I, O> | ((input: I) => O);

/** Runs a transform object or function on `input`. */
export function applyTransform<I, O>(t: TransformLike<I, O>, input: I): O {
  return typeof t === "function" ? t(input) : t.forward(input);
}

/** torchvision.transforms.Compose: the transforms in order. */
export class Compose<I = unknown, O = unknown> implements Transform<I, O> {
  readonly transforms: readonly TransformLike<unknown, unknown>[];
  constructor(transforms: readonly TransformLike<never, unknown>[]) {
    this.transforms = transforms as readonly TransformLike<unknown, unknown>[];
  }
  forward(input: I): O {
    let x: unknown = input;
    for (const t of this.transforms) x = applyTransform(t, x);
    return x as O;
  }
}

/** torchvision.transforms.Lambda: a function as a transform. */
export class Lambda<I = unknown, O = unknown> implements Transform<I, O> {
  readonly fn: (input: I) => O;
  constructor(fn: (input: I) => O) {
    if (typeof fn !== "function") throw new ArgumentError("Lambda", `argument should be callable, got ${typeof fn}`);
    this.fn = fn;
  }
  forward(input: I): O {
    return this.fn(input);
  }
}

/**
 * An image as row-major HWC samples: browsers' ImageData ({ data, width, height }, RGBA) or any
 * { data, width, height, channels? } (channels inferred from the data length), or { data, shape }
 * with shape [H, W] or [H, W, C] (numpy's layout).
 */
export type ImageInput =
  | { data: ArrayLike<number>; width: number; height: number; channels?: number }
  | { data: ArrayLike<number>; shape: readonly number[] };

function imageDims(op: string, pic: ImageInput): [number, number, number] {
  if (typeof pic !== "object" || pic === null || !("data" in pic))
    throw new ArgumentError(op, "pic should be an image ({ data, width, height } or { data, shape })");
  const n = pic.data.length;
  if ("shape" in pic) {
    const s = pic.shape;
    if (s.length !== 2 && s.length !== 3) throw new ShapeError(op, `pic should be 2/3 dimensional (H, W[, C]). Got ${s.length} dimensions`);
    const [h, w, c = 1] = s as [number, number, number?];
    if (h * w * c !== n) throw new ShapeError(op, `shape ${fmtShape(s)} needs ${h * w * c} values, got ${n}`);
    return [h, w, c];
  }
  const { width: w, height: h } = pic;
  const c = pic.channels ?? (h * w > 0 ? n / (h * w) : 1);
  if (!Number.isInteger(c) || c <= 0 || h * w * c !== n) {
    throw new ShapeError(op, `an image of ${h}x${w}${pic.channels ? `x${pic.channels}` : ""} does not match ${n} values`);
  }
  return [h, w, c];
}

/**
 * torchvision.transforms.ToTensor: an HWC image -> a CHW tensor. 8-bit data (Uint8Array,
 * Uint8ClampedArray as in ImageData) becomes the default float dtype scaled to [0, 1] (x / 255);
 * other data keeps its values, as numpy arrays that are not uint8: Float32Array -> float32,
 * Float64Array -> float64, other integer arrays -> int32, number[] -> the default float dtype.
 */
export class ToTensor implements Transform<ImageInput, Tensor> {
  forward(pic: ImageInput): Tensor {
    const [h, w, c] = imageDims("ToTensor", pic);
    const data = pic.data;
    const bytes = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
    let dtype: DType;
    if (bytes || !ArrayBuffer.isView(data)) dtype = getDefaultDtype();
    else if (data instanceof Float32Array) dtype = "float32";
    else if (data instanceof Float64Array) dtype = "float64";
    else dtype = "int32";
    const hwc = fromArray(data, [h, w, c], { dtype });
    const chw = hwc.permute(2, 0, 1).contiguous();
    hwc.dispose();
    if (!bytes) return chw;
    const out = div(chw, 255);
    chw.dispose();
    return out;
  }
}

/**
 * torchvision.transforms.Normalize: (x - mean[c]) / std[c] over the channel dim (-3) of a float
 * tensor [..., C, H, W]. `inplace` writes into the input.
 */
export class Normalize implements Transform<Tensor, Tensor> {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly inplace: boolean;

  constructor(mean: number | readonly number[], std: number | readonly number[], options: { inplace?: boolean } = {}) {
    this.mean = typeof mean === "number" ? [mean] : [...mean];
    this.std = typeof std === "number" ? [std] : [...std];
    this.inplace = options.inplace ?? false;
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new ArgumentError("Normalize", `img should be a Tensor. Got ${typeof x}`);
    if (!isFloating(x.dtype)) throw new DTypeError("Normalize", `Input tensor should be a float tensor. Got ${x.dtype}`);
    if (x.ndim < 3)
      throw new ShapeError(
        "Normalize",
        `Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = ${fmtShape(x.shape)}`,
      );
    const asView = (v: readonly number[]) => (v.length === 1 ? [1, 1, 1] : [v.length, 1, 1]);
    const std = fromHost(this.std, asView(this.std), { dtype: x.dtype, device: x.device });
    if (std.dataSync().some((v) => v === 0)) {
      std.dispose();
      throw new ArgumentError("Normalize", `std evaluated to zero after conversion to ${x.dtype}, leading to division by zero.`);
    }
    const mean = fromHost(this.mean, asView(this.mean), { dtype: x.dtype, device: x.device });
    try {
      if (this.inplace) return div_(sub_(x, mean), std);
      const centered = sub(x, mean);
      const out = div(centered, std);
      centered.dispose();
      return out;
    } finally {
      mean.dispose();
      std.dispose();
    }
  }
}

/** torchvision's size argument: an int (square) or [h, w] (a one-element list is square). */
function sizePair(op: string, size: number | readonly number[]): [number, number] {
  const s = typeof size === "number" ? [size, size] : size.length === 1 ? [size[0], size[0]] : [...size];
  if (s.length !== 2 || s.some((v) => !Number.isInteger(v) || (v as number) <= 0)) {
    throw new ArgumentError(op, `size should be a positive int or a sequence of 1 or 2 positive ints, got ${JSON.stringify(size)}`);
  }
  return s as [number, number];
}

export type PaddingMode = "constant" | "edge" | "reflect" | "symmetric";

/** torchvision padding: int, [all], [left/right, top/bottom] or [left, top, right, bottom] -> [l, t, r, b]. */
function ltrb(op: string, padding: number | readonly number[]): [number, number, number, number] {
  const p = typeof padding === "number" ? [padding] : [...padding];
  if (p.some((v) => !Number.isInteger(v))) throw new ArgumentError(op, `padding must be integers, got ${JSON.stringify(padding)}`);
  if (p.length === 1) return [p[0], p[0], p[0], p[0]] as [number, number, number, number];
  if (p.length === 2) return [p[0], p[1], p[0], p[1]] as [number, number, number, number];
  if (p.length === 4) return p as [number, number, number, number];
  throw new ArgumentError(op, `Padding must be an int or a 1, 2, or 4 element tuple, not a ${p.length} element tuple`);
}

/** Symmetric padding (the edge repeated) of one dim through indexSelect. */
function symmetricAlong(x: Tensor, dim: number, before: number, after: number): Tensor {
  const len = x.shape[dim] as number;
  const idx: number[] = [];
  for (let j = -before; j < len + after; j++) {
    let i = j;
    // reflect about the edges, repeating them, until inside (handles padding longer than the dim)
    while (i < 0 || i >= len) i = i < 0 ? -i - 1 : 2 * len - i - 1;
    idx.push(i);
  }
  const index = fromHost(idx, [idx.length], { dtype: "int64", device: x.device });
  const out = indexSelect(x, dim, index);
  index.dispose();
  return out;
}

/** torchvision.transforms.functional.pad on a tensor [..., H, W]. */
export function padImage(
  img: Tensor,
  padding: number | readonly number[],
  options: { fill?: number; paddingMode?: PaddingMode } = {},
): Tensor {
  const [l, t, r, b] = ltrb("pad", padding);
  const mode = options.paddingMode ?? "constant";
  if (img.ndim < 2) throw new ShapeError("pad", `expected an image tensor [..., H, W], got ${fmtShape(img.shape)}`);
  if (mode === "symmetric") {
    const rows = symmetricAlong(img, img.ndim - 2, t, b);
    const out = symmetricAlong(rows, img.ndim - 1, l, r);
    rows.dispose();
    return out;
  }
  if (mode === "constant") return pad(img, [l, r, t, b], { value: options.fill ?? 0 });
  if (mode === "edge") return pad(img, [l, r, t, b], { mode: "replicate" });
  if (mode === "reflect") return pad(img, [l, r, t, b], { mode: "reflect" });
  throw new ArgumentError("pad", `Padding mode should be either constant, edge, reflect or symmetric, got '${String(mode)}'`);
}

export interface RandomCropOptions {
  /** Padding added first: int, [left/right, top/bottom] or [left, top, right, bottom]. */
  padding?: number | readonly number[] | null;
  /** Pad when the image is smaller than the crop. */
  padIfNeeded?: boolean;
  /** Fill value for constant padding (default 0). */
  fill?: number;
  paddingMode?: PaddingMode;
  /** Seeded source for the crop position (default: the default generator). */
  generator?: Generator;
}

/**
 * torchvision.transforms.RandomCrop on tensors [..., H, W]: optional padding, then a crop of
 * `size` at a random position (top = randint(0, H - h + 1), then left = randint(0, W - w + 1)).
 * The crop is a view.
 */
export class RandomCrop implements Transform<Tensor, Tensor> {
  readonly size: [number, number];
  readonly padding: number | readonly number[] | null;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  readonly paddingMode: PaddingMode;
  readonly generator: Generator | undefined;

  constructor(size: number | readonly number[], options: RandomCropOptions = {}) {
    this.size = sizePair("RandomCrop", size);
    this.padding = options.padding ?? null;
    if (this.padding !== null) ltrb("RandomCrop", this.padding);
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = options.fill ?? 0;
    this.paddingMode = options.paddingMode ?? "constant";
    if (!["constant", "edge", "reflect", "symmetric"].includes(this.paddingMode)) {
      throw new ArgumentError(
        "RandomCrop",
        `Padding mode should be either constant, edge, reflect or symmetric, got '${this.paddingMode}'`,
      );
    }
    this.generator = options.generator;
  }

  /** torchvision's RandomCrop.get_params: [top, left, height, width]. */
  getParams(img: Tensor): [number, number, number, number] {
    const h = img.shape[img.ndim - 2] as number;
    const w = img.shape[img.ndim - 1] as number;
    const [th, tw] = this.size;
    if (h < th || w < tw)
      throw new ShapeError("RandomCrop", `Required crop size (${th}, ${tw}) is larger than input image size (${h}, ${w})`);
    if (h === th && w === tw) return [0, 0, h, w];
    const g = this.generator ?? defaultGenerator;
    const i = g.int(0, h - th + 1);
    const j = g.int(0, w - tw + 1);
    return [i, j, th, tw];
  }

  forward(img: Tensor): Tensor {
    if (img.ndim < 2) throw new ShapeError("RandomCrop", `expected an image tensor [..., H, W], got ${fmtShape(img.shape)}`);
    const opts = { fill: this.fill, paddingMode: this.paddingMode };
    let x = img;
    const replace = (next: Tensor) => {
      if (x !== img) x.dispose();
      x = next;
    };
    if (this.padding !== null) replace(padImage(x, this.padding, opts));
    const [th, tw] = this.size;
    if (this.padIfNeeded && (x.shape[x.ndim - 1] as number) < tw) replace(padImage(x, [tw - (x.shape[x.ndim - 1] as number), 0], opts));
    if (this.padIfNeeded && (x.shape[x.ndim - 2] as number) < th) replace(padImage(x, [0, th - (x.shape[x.ndim - 2] as number)], opts));
    const [i, j, h, w] = this.getParams(x);
    return x.slice(x.ndim - 2, i, i + h).slice(x.ndim - 1, j, j + w);
  }
}

/** Python's round(): half to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision.transforms.CenterCrop on tensors [..., H, W] (zero-padded first when the crop is larger). */
export class CenterCrop implements Transform<Tensor, Tensor> {
  readonly size: [number, number];
  constructor(size: number | readonly number[]) {
    this.size = sizePair("CenterCrop", size);
  }
  forward(img: Tensor): Tensor {
    if (img.ndim < 2) throw new ShapeError("CenterCrop", `expected an image tensor [..., H, W], got ${fmtShape(img.shape)}`);
    const [th, tw] = this.size;
    let x = img;
    let h = x.shape[x.ndim - 2] as number;
    let w = x.shape[x.ndim - 1] as number;
    if (tw > w || th > h) {
      const l = tw > w ? Math.floor((tw - w) / 2) : 0;
      const t = th > h ? Math.floor((th - h) / 2) : 0;
      const r = tw > w ? Math.floor((tw - w + 1) / 2) : 0;
      const b = th > h ? Math.floor((th - h + 1) / 2) : 0;
      x = padImage(x, [l, t, r, b]);
      h = x.shape[x.ndim - 2] as number;
      w = x.shape[x.ndim - 1] as number;
      if (h === th && w === tw) return x;
    }
    const top = roundHalfEven((h - th) / 2);
    const left = roundHalfEven((w - tw) / 2);
    return x.slice(x.ndim - 2, top, top + th).slice(x.ndim - 1, left, left + tw);
  }
}

function flipTransform(op: string, p: number, dim: number, generator: Generator | undefined): (img: Tensor) => Tensor {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(op, `p should be a probability in [0, 1], got ${p}`);
  return (img) => {
    if (img.ndim < 2) throw new ShapeError(op, `expected an image tensor [..., H, W], got ${fmtShape(img.shape)}`);
    return (generator ?? defaultGenerator).random() < p ? flip(img, dim) : img;
  };
}

/** torchvision.transforms.RandomHorizontalFlip: flips the last dim (W) with probability p (default 0.5). */
export class RandomHorizontalFlip implements Transform<Tensor, Tensor> {
  readonly p: number;
  private readonly run: (img: Tensor) => Tensor;
  constructor(p = 0.5, options: { generator?: Generator } = {}) {
    this.p = p;
    this.run = flipTransform("RandomHorizontalFlip", p, -1, options.generator);
  }
  forward(img: Tensor): Tensor {
    return this.run(img);
  }
}

/** torchvision.transforms.RandomVerticalFlip: flips dim -2 (H) with probability p (default 0.5). */
export class RandomVerticalFlip implements Transform<Tensor, Tensor> {
  readonly p: number;
  private readonly run: (img: Tensor) => Tensor;
  constructor(p = 0.5, options: { generator?: Generator } = {}) {
    this.p = p;
    this.run = flipTransform("RandomVerticalFlip", p, -2, options.generator);
  }
  forward(img: Tensor): Tensor {
    return this.run(img);
  }
}
