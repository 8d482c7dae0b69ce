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
/** An allocation the engine or the device cannot make (PyTorch's OutOfMemoryError). */
export class OutOfMemoryError extends DLError {}

export const fmtShape = (shape: readonly number[]): string => `[${shape.join(",")}]`;

/** How a wrong argument reads in a message: "a string ('1')", "an array", "undefined". */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `a string ('${v.length > 20 ? `${v.slice(0, 20)}...` : v}')`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `a ${typeof v} (${String(v)})`;
  if (typeof v === "function") return "a function";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}
