import type { Backend } from "./backend.js";
import type { DType } from "./dtype.js";

/**
 * A reference-counted block of device memory. Tensors (and their views) hold one reference each;
 * the last release frees the backend storage at once, which is what GPU textures need (they are
 * not garbage collected). `version` counts in-place writes, for autograd's saved-tensor checks.
 */
export class Storage {
  refs = 1;
  version = 0;
  constructor(
    readonly backend: Backend,
    readonly data: unknown,
    readonly dtype: DType,
    readonly size: number,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.backend.dispose(this.data);
  }

  get disposed(): boolean {
    return this.refs <= 0;
  }
}
