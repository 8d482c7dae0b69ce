/**
 * Strided addressing for kernels. A kernel computes output element `i` (row-major over the
 * output shape) and reads each operand at offset + sum(coord[d] * stride[d]). Dims that are
 * contiguous for every operand are merged first (and size-1 dims dropped), so most views reach
 * a kernel with rank 1 or 2 and kernels are compiled per merged rank, not per shape: shapes,
 * strides and offsets are int uniforms.
 */
export interface Walk {
  shape: number[];
  /** One strides array per operand, over the merged shape. */
  strides: number[][];
}

export function coalesce(shape: readonly number[], stridesList: readonly (readonly number[])[]): Walk {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d] as number;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && stridesList.every((s, k) => (outStrides[k] as number[])[last] === (s[d] as number) * size)) {
      outShape[last] = (outShape[last] as number) * size;
      for (let k = 0; k < stridesList.length; k++) (outStrides[k] as number[])[last] = (stridesList[k] as readonly number[])[d] as number;
      continue;
    }
    outShape.push(size);
    for (let k = 0; k < stridesList.length; k++) (outStrides[k] as number[]).push((stridesList[k] as readonly number[])[d] as number);
  }
  return { shape: outShape, strides: outStrides };
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i] as number;
  }
  return s;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

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
