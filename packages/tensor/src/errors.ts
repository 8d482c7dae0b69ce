/**
 * Typed errors. Every message starts with the operation's name, then says which shapes, dtypes or
 * devices were involved and which rule they broke, e.g.
 * `matmul: cannot multiply [2,3] by [4,5] (inner dims 3 and 4 differ)`.
 */
export class DLError extends Error {
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.op = op;
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the operation (broadcasting, matmul inner dims, view sizes, ...). */
export class ShapeError extends DLError {}
/** A dtype the operation does not accept, or an unsafe dtype conversion. */
export class DTypeError extends DLError {}
/** Tensors on different devices, or a device whose backend is not registered. */
export class DeviceError extends DLError {}
/** An index or dimension out of range. */
export class IndexError extends DLError {}
/** Any other invalid argument value. */
export class ArgumentError extends DLError {}

export const fmtShape = (shape: readonly number[]): string => `[${shape.join(",")}]`;
