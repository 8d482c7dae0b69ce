import { coalesceDims, type MergedDims } from "@dl/tensor";

export { contiguousStrides, numel } from "@dl/tensor";
/**
 * Strided addressing for kernels. A kernel computes output element `i` (row-major over the
 * output shape) and reads each operand at offset + sum(coord[d] * stride[d]). Dims that are
 * contiguous for every operand are merged first (and size-1 dims dropped), so most views reach
 * a kernel with rank 1 or 2 and kernels are compiled per merged rank, not per shape: shapes,
 * strides and offsets are int uniforms.
 */
/** Dims merged for iteration: the shared definition lives in @dl/tensor. */
export type Walk = MergedDims;
export const coalesce = coalesceDims;

/** The uniforms describing one walk: `${p}n${d}` sizes and, per operand name, `${name}s${d}` strides. */
export interface WalkUniforms {
  names: string[];
  values: number[];
}

/**
 * GLSL that splits flat index `idx` over a walk of `rank` dims named with prefix `p` and adds each
 * operand's stride-weighted coordinate to the int variable named after the operand (declared by
 * the caller). Innermost dim first; the outermost needs no division.
 */
export function walkCode(p: string, rank: number, operands: readonly string[], idx: string): string {
  if (rank === 0) return "";
  const lines: string[] = [`int ${p}q = ${idx};`, `int ${p}c;`];
  for (let d = rank - 1; d >= 0; d--) {
    if (d > 0) {
      lines.push(`${p}c = ${p}q - (${p}q / user_${p}n${d}) * user_${p}n${d};`, `${p}q = ${p}q / user_${p}n${d};`);
    } else {
      lines.push(`${p}c = ${p}q;`);
    }
    for (const o of operands) lines.push(`${o} += ${p}c * user_${o}s${d};`);
  }
  return lines.join("\n");
}

/** Int uniform names and values for walkCode's variables. */
export function walkUniforms(p: string, walk: Walk, operands: readonly string[]): WalkUniforms {
  const names: string[] = [];
  const values: number[] = [];
  const rank = walk.shape.length;
  // n0 is never read (the outermost coordinate is what remains), but keeps names regular.
  for (let d = 1; d < rank; d++) {
    names.push(`${p}n${d}`);
    values.push(walk.shape[d] as number);
  }
  operands.forEach((o, k) => {
    for (let d = 0; d < rank; d++) {
      names.push(`${o}s${d}`);
      values.push((walk.strides[k] as number[])[d] as number);
    }
  });
  return { names, values };
}
