import { defineFunction } from "@dl/autograd";
import { fusedKernel, isGradEnabled, matmul, sum, type Tensor } from "@dl/tensor";
import { col2im, fromKernel, type Geometry, im2col } from "./im2col.js";

/**
 * conv2d (no groups) through the backend's fused conv2d kernel (implicit GEMM on the CPU: no
 * im2col matrix, NCHW written directly). Its backward is the generic path's gradient composed
 * from recorded ops (matmul, im2col, col2im), so higher derivatives work as before; where the
 * backward is not recorded, the gradients have their own fused kernels (conv2dInputGrad,
 * conv2dWeightGrad).
 */
const FusedConv2d = defineFunction("Conv2d", {
  forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry, data: unknown) {
    ctx.data.g = g;
    ctx.data.hasBias = bias !== null;
    ctx.saveForBackward(x, weight);
    return fromKernel(x, data, [g.n, weight.shape[0] as number, g.ho, g.wo]);
  },
  backward(ctx, gy) {
    const [x, weight] = ctx.savedTensors as [Tensor, Tensor];
    const g = ctx.data.g as Geometry;
    const o = weight.shape[0] as number;
    const k = g.c * g.kh * g.kw;
    // gy as [O, N*L], the matmul's output layout in the generic path (a copy: made only if used).
    const gyM = () => gy.permute(1, 0, 2, 3).reshape(o, g.n * g.ho * g.wo);
    const need = ctx.needsInputGrad;
    // The gradients' own fused kernels, unless this backward is itself recorded (createGraph).
    const recorded = isGradEnabled();
    const xk = need[0] && !recorded ? fusedKernel(x, "conv2dInputGrad") : undefined;
    const gxData = xk ? xk(gy.ref, weight.ref, g) : undefined;
    let gx: Tensor | null = null;
    if (gxData !== undefined) gx = fromKernel(x, gxData, [g.n, g.c, g.h, g.w]);
    else if (need[0]) {
      const cols = matmul(weight.reshape(o, k).t(), gyM());
      gx = col2im(cols.view(g.c, g.kh, g.kw, g.n, g.ho, g.wo).permute(3, 0, 1, 2, 4, 5), g, [1, 2, 3, 0, 4, 5]);
    }
    const wk = need[1] && !recorded ? fusedKernel(x, "conv2dWeightGrad") : undefined;
    const gwData = wk ? wk(gy.ref, x.ref, g) : undefined;
    let gw: Tensor | null = null;
    if (gwData !== undefined) gw = fromKernel(x, gwData, weight.shape);
    else if (need[1]) {
      const cols = im2col(x, g, [1, 2, 3, 0, 4, 5]).view(k, g.n * g.ho * g.wo);
      gw = matmul(gyM(), cols.t()).view(weight.shape);
    }
    const grads = [gx, gw];
    if (ctx.data.hasBias) grads.push(need[2] ? sum(gy, [0, 2, 3]) : null);
    return grads;
  },
});

/** The fused conv2d of x's backend for groups 1, or undefined (no kernel, or a case it does not cover). */
export function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry): Tensor | undefined {
  const kernel = fusedKernel(x, "conv2d");
  if (!kernel || weight.shape[1] !== g.c) return undefined;
  const data = kernel(x.ref, weight.ref, bias ? bias.ref : null, g);
  return data === undefined ? undefined : FusedConv2d(x, weight, bias, g, data);
}
