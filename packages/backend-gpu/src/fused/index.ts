import type { FusedKernels } from "@dl/tensor";
import type { Runtime } from "../runtime.js";
import { col2im, im2col } from "./conv.js";
import { layerNorm, layerNormBackward } from "./norm.js";
import { adamStep, sgdStep } from "./optim.js";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./pool.js";
import { softmax, softmaxBackward } from "./softmax.js";

/** The gpu backend's fused kernels (see FusedKernels in @dl/tensor), one family per file. */
export function gpuFusedKernels(rt: Runtime): FusedKernels {
  return {
    softmax: (x, dim, log) => softmax(rt, x, dim, log),
    softmaxBackward: (y, g, dim, log) => softmaxBackward(rt, y, g, dim, log),
    layerNorm: (x, size, w, b, eps) => layerNorm(rt, x, size, w, b, eps),
    layerNormBackward: (g, x, mean, rstd, w, size, weightGrad) => layerNormBackward(rt, g, x, mean, rstd, w, size, weightGrad),
    im2col: (x, g, order) => im2col(rt, x, g, order),
    col2im: (cols, g) => col2im(rt, cols, g),
    maxPool2d: (x, g) => maxPool2d(rt, x, g),
    maxPool2dBackward: (grad, indices, g) => maxPool2dBackward(rt, grad, indices, g),
    avgPool2d: (x, g, cip, divisor) => avgPool2d(rt, x, g, cip, divisor),
    avgPool2dBackward: (grad, g, cip, divisor) => avgPool2dBackward(rt, grad, g, cip, divisor),
    adamStep: (p, g, m, v, vmax, o) => adamStep(rt, p, g, m, v, vmax, o),
    sgdStep: (p, g, buf, o) => sgdStep(rt, p, g, buf, o),
  };
}
