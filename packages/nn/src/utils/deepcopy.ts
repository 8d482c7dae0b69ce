import { keep, Tensor } from "@dl/tensor";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";

/**
 * Python's copy.deepcopy for modules (what PyTorch's _get_clones and PEFT's modules_to_save use):
 * the same classes and settings, every Parameter and buffer cloned into new storage; modules and
 * tensors shared inside the original stay shared inside the copy. A module copy is callable, as
 * every module is (see Module's constructor).
 */
export function deepcopy<T>(value: T): T {
  return copyValue(value, new Map());
}

function copyValue<T>(value: T, memo: Map<unknown, unknown>): T {
  if (value instanceof Module) {
    if (memo.has(value)) return memo.get(value) as T;
    const m = ((...args: unknown[]) => Reflect.apply(m.call, m, args)) as unknown as Module & Record<string, unknown>;
    delete (m as { name?: string }).name;
    delete (m as { length?: number }).length;
    Object.setPrototypeOf(m, Object.getPrototypeOf(value));
    memo.set(value, m);
    for (const [k, v] of Object.entries(value)) m[k] = copyValue(v, memo);
    return m as T;
  }
  if (value === null || typeof value !== "object") return value;
  if (memo.has(value)) return memo.get(value) as T;
  let copy: unknown;
  if (value instanceof Parameter) copy = new Parameter(value.detach().clone(), value.requiresGrad);
  else if (value instanceof Tensor) copy = keep(value.detach().clone());
  else if (Array.isArray(value)) copy = value.map((v) => copyValue(v, memo));
  else if (value instanceof Set) copy = new Set([...value].map((v) => copyValue(v, memo)));
  else if (value instanceof Map) copy = new Map([...value].map(([k, v]) => [k, copyValue(v, memo)]));
  else copy = value;
  memo.set(value, copy);
  return copy as T;
}
