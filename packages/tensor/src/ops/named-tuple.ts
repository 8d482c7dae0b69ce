import type { Tensor } from "../tensor.js";
import type { ValuesIndices } from "./reduce.js";

/**
 * A namedtuple as a plain object (so tidy() sees what it holds) whose iteration gives the fields
 * in order; the iterator is not enumerable, so the object prints and compares as its fields.
 */
export function namedTuple<T extends Record<string, Tensor>>(fields: T): T & Iterable<Tensor> {
  const values = Object.values(fields);
  Object.defineProperty(fields, Symbol.iterator, { value: () => values[Symbol.iterator](), enumerable: false });
  return fields as T & Iterable<Tensor>;
}

/** namedTuple({ values, indices }). */
export function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return namedTuple({ values, indices });
}
