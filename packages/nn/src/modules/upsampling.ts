import type { Tensor } from "@dl/tensor";
import { fmtPy } from "../functional/im2col.js";
import { type InterpolateMode, interpolate } from "../functional/upsampling.js";
import { Module } from "../module.js";

export interface UpsampleOptions {
  /** Output spatial size (exclusive with scaleFactor). */
  size?: number | readonly number[] | null;
  /** Spatial size multiplier (exclusive with size). */
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
  recomputeScaleFactor?: boolean | null;
}

/** Upsamples [N, C, ...spatial] by F.interpolate (torch.nn.Upsample). */
export class Upsample extends Module {
  readonly size: number | readonly number[] | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;

  constructor(options: UpsampleOptions = {}) {
    super();
    this.size = options.size ?? null;
    this.scaleFactor = options.scaleFactor ?? null;
    this.mode = options.mode ?? "nearest";
    this.alignCorners = options.alignCorners ?? null;
    this.recomputeScaleFactor = options.recomputeScaleFactor ?? null;
  }

  forward(input: Tensor): Tensor {
    return interpolate(input, {
      size: this.size,
      scaleFactor: this.scaleFactor,
      mode: this.mode,
      alignCorners: this.alignCorners,
      recomputeScaleFactor: this.recomputeScaleFactor,
    });
  }

  override extraRepr(): string {
    // PyTorch keeps scale factors as floats (2 prints as 2.0).
    const info = this.scaleFactor !== null ? `scale_factor=${fmtPy(this.scaleFactor, { float: true })}` : `size=${fmtPy(this.size)}`;
    return `${info}, mode=${this.mode}`;
  }
}

/** Nearest-neighbour 2-D upsampling (torch.nn.UpsamplingNearest2d). */
export class UpsamplingNearest2d extends Upsample {
  constructor(options: { size?: number | readonly number[] | null; scaleFactor?: number | readonly number[] | null } = {}) {
    super({ ...options, mode: "nearest" });
  }
}

/** Bilinear 2-D upsampling with alignCorners true (torch.nn.UpsamplingBilinear2d). */
export class UpsamplingBilinear2d extends Upsample {
  constructor(options: { size?: number | readonly number[] | null; scaleFactor?: number | readonly number[] | null } = {}) {
    super({ ...options, mode: "bilinear", alignCorners: true });
  }
}
