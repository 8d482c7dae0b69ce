import { ArgumentError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { ValuesIndices } from "./reduce.js";

/**
 * A namedtuple as a plain object (so tidy() sees what it holds) whose iteration gives the fields
 * in order; the iterator is not enumerable, so the object prints and compares as its fields.
 */
export function namedTuple<T extends Record<string, unknown>>(fields: T): T & Iterable<T[keyof T]> {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new ArgumentError(
      "namedTuple",
      `expected an object of named fields, got ${fields === null ? "null" : Array.isArray(fields) ? "an array" : typeof fields}`,
    );
  }
  const values = Object.values(fields);
  Object.defineProperty(fields, Symbol.iterator, { value: () => values[Symbol.iterator](), enumerable: false });
  return fields as T & Iterable<T[keyof T]>;
}

/** namedTuple({ values, indices }). */
export function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return namedTuple({ values, indices });
}
