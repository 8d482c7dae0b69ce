// Size budgets (size-limit 12 + @size-limit/esbuild + @size-limit/file). Run `pnpm build` first, then `pnpm size`.
// Each entry under tooling/size/ is bundled with esbuild (minified, tree-shaken) and measured gzipped.
// @dl/* imports resolve through the workspace packages' built dist (their exports' "default" condition),
// so the budget measures what a user of the published packages gets.
//
// The limits are the measured sizes plus a small margin, so that growth is noticed. They are above
// the goals (one op + cpu: 8 kB; the MLP training stack: 30 kB; tfjs-core + cpu: 77 / 89 kB): the
// Tensor class (views, indexing, conversion, printing) and the CPU backend's full kernel set, which
// cannot be tree-shaken because a backend is one object, take ~17 kB before any op. The CPU
// backend's fused softmax, layer norm and optimizer-step kernels (part of that object) added
// 1.32 / 1.34 / 1.39 kB, and their dispatch in @dl/nn and @dl/optim 0.40 kB to the training stack;
// its fused im2col, col2im, max- and average-pooling kernels 1.39 / 1.37 / 1.48 kB; its fused
// attention kernels (forward and backward) 1.23 / 1.24 / 1.26 kB; its WebAssembly SIMD transcendentals
// (exp, sigmoid, tanh, erf, softmax rows) and implicit-GEMM convolution kernels (forward, weight and
// input gradients) 4.45 / 4.50 / 4.54 / 4.53 kB (one op / its gradient / MLP / MultiheadAttention, measured
// by bundling the sources with and without them). The first three entries already exceeded their
// limits by 1.3-2.0 kB before those kernels (the argument checks); the limits are re-measured sizes.
// F and init accepting PyTorch's positional arguments or an options object added ~30-90 B to the
// entries that use them (MultiheadAttention, the MLP training stack).
import { sizeLimitWorkspace } from "./tooling/size/resolve-workspace.js";

export default [
  {
    name: "@dl/tensor one op + cpu core with the binary-op kernels only (@dl/backend-cpu/core)",
    path: "tooling/size/tensor-one-op.js",
    limit: "14 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor one op + the full cpu backend (registerBackend(cpuBackend): every kernel)",
    path: "tooling/size/tensor-one-op-full-cpu.js",
    limit: "34 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor + cpu + @dl/autograd: one op and its gradient",
    path: "tooling/size/autograd-backward.js",
    limit: "36.87 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "training stack: tensor + autograd + nn + optim + cpu, a 2-layer MLP with Adam",
    path: "tooling/size/train-mlp-adam.js",
    limit: "48.7 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "training stack as above on the cpu core with the kernel groups an MLP uses (no conv, pool, attention, sort kernels)",
    path: "tooling/size/train-mlp-adam-core.js",
    limit: "47 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "MultiheadAttention forward alone: tensor + autograd + nn (no RNN, conv or loss layers) + cpu",
    path: "tooling/size/mha-forward.js",
    limit: "48.4 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "GPT-2 inference: @dl/transformers (AutoTokenizer, GPT2LMHeadModel.fromPretrained, generate) + cpu",
    path: "tooling/size/gpt2-inference.js",
    // 98.1 kB measured; @huggingface/tokenizers (all its normalizers, pre-tokenizers, models, decoders) is part of it.
    limit: "101 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/nn/functional: one activation (gelu) + cpu, without the rest of F",
    path: "tooling/size/nn-functional-relu.js",
    limit: "30.5 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
];
