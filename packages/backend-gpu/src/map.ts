import type { DType, StridedRef } from "@dl/tensor";
import { fetch, fetch4 } from "./program.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { type Walk, coalesce, numel, walkCode, walkUniforms } from "./strided.js";

/**
 * The generic elementwise kernel: output element i (row-major over `shape`) is `expr` of the
 * operands read at their strided positions. Operands arrive broadcast to `shape` (stride 0), so
 * copy, casts, unary, binary and where ops are all this one kernel with a different expression.
 * One program per (key, merged rank).
 */
export function mapKernel(
  rt: Runtime,
  key: string,
  shape: readonly number[],
  operands: readonly StridedRef[],
  expr: (values: string[]) => string,
  outDtype: DType,
  floats: readonly { name: string; value: number }[] = [],
): GpuStorage {
  const n = numel(shape);
  if (n === 0) return rt.wrap(null, 0, outDtype);
  const names = operands.map((_, k) => `x${k}`);
  const vars = names.map((nm) => `p${nm}`);
  const walk = coalesce(
    shape,
    operands.map((o) => o.strides),
  );
  const rank = walk.shape.length;
  const wu = walkUniforms("w", walk, vars);
  // Expressions that read the output index itself (`i`) are computed one output at a time.
  const reads = /\bi\b/.test(expr(names.map((_, k) => `v${k}`))) ? null : quadReads(walk, operands);
  // With `reads`, four outputs per texel are computed together: each operand's four values are one
  // texel read ("t": a contiguous aligned run) or one value for all four ("b": broadcast along it).
  const compute =
    reads === null
      ? [...names.map((nm, k) => `float v${k} = ${fetch(nm, `p${nm}`)};`), `return ${expr(names.map((_, k) => `v${k}`))};`]
      : [
          ...names.map((nm, k) => (reads[k] === "t" ? `vec4 v${k} = ${fetch4(nm, `p${nm}`)};` : `float v${k} = ${fetch(nm, `p${nm}`)};`)),
          `DL_QUAD = vec4(${["x", "y", "z", "w"].map((l) => expr(names.map((_, k) => (reads[k] === "t" ? `v${k}.${l}` : `v${k}`)))).join(", ")});`,
          "return DL_QUAD.r;",
        ];
  const program = rt.programs.get(`map|${key}|r${rank}${reads === null ? "" : `|q${reads.join("")}`}`, () => ({
    textures: names,
    ints: [...wu.names, ...names.map((nm) => `${nm}off`)],
    floats: floats.map((f) => f.name),
    body: [
      ...(reads === null
        ? []
        : ["int lane = i - (i / 4) * 4;", "if (lane != 0) return lane == 1 ? DL_QUAD.g : (lane == 2 ? DL_QUAD.b : DL_QUAD.a);"]),
      ...names.map((nm) => `int p${nm} = user_${nm}off;`),
      walkCode("w", rank, vars, "i"),
      ...compute,
    ].join("\n"),
  }));
  const texture = program.run(
    n,
    operands.map((o) => rt.tex(o)),
    [...wu.values, ...operands.map((o) => o.offset)],
    floats.map((f) => f.value),
  );
  return rt.wrap(texture, n, outDtype);
}

/**
 * How each operand can supply four consecutive outputs at once, or null when some cannot: the
 * innermost walked dim must be a multiple of 4 long, and each operand either contiguous along it
 * with every stride and its offset a multiple of 4 (its four values are one texel), or constant
 * along it (stride 0).
 */
function quadReads(walk: Walk, operands: readonly StridedRef[]): ("t" | "b")[] | null {
  const rank = walk.shape.length;
  if (rank === 0 || (walk.shape[rank - 1] as number) % 4 !== 0) return null;
  const reads: ("t" | "b")[] = [];
  for (let k = 0; k < operands.length; k++) {
    const strides = walk.strides[k] as number[];
    const inner = strides[rank - 1] as number;
    if (inner === 0) reads.push("b");
    else if (inner === 1 && (operands[k] as StridedRef).offset % 4 === 0 && strides.every((st, d) => d === rank - 1 || st % 4 === 0))
      reads.push("t");
    else return null;
  }
  return reads;
}

/** GLSL that rounds a computed value to what `dtype` holds. */
export function finalize(dtype: DType, v: string): string {
  switch (dtype) {
    case "float32":
    case "float64":
      return v;
    case "float16":
      return `dl_f16(${v})`;
    case "bfloat16":
      return `dl_bf16(${v})`;
    case "int32":
    case "int64":
      return `dl_int(${v})`;
    case "bool":
      return `dl_boolv(${v})`;
  }
}

/** GLSL converting a value of `from` into `to` (castScalar: truthiness for bool, truncation for ints). */
export function cast(from: DType, to: DType, v: string): string {
  if (from === to) return v;
  if (to === "bool") return `dl_bool(${v} != 0.0)`;
  if (to === "float32") return v;
  if ((to === "int32" || to === "int64") && (from === "int32" || from === "int64" || from === "bool")) return v;
  return finalize(to, v);
}
