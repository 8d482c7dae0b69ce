// Size budgets (size-limit 12 + @size-limit/esbuild + @size-limit/file). Run `pnpm build` first, then `pnpm size`.
// Each entry under tooling/size/ is bundled with esbuild (minified, tree-shaken) and measured gzipped.
// @dl/* imports resolve through the workspace packages' built dist (their exports' "default" condition),
// so the budget measures what a user of the published packages gets.
//
// The limits are the measured sizes plus a small margin, so that growth is noticed. Goals: one op +
// cpu 8 kB; the MLP training stack 30 kB (tfjs-core + cpu: 77 / 89 kB).
//
// Kernels: a backend is one object, so a bundler keeps every kernel it references. The CPU backend
// is the backend object without kernels plus groups attached to it (@dl/backend-cpu/core:
// attachKernels(binaryKernels, ...); docs/architecture.md). `cpuBackend` from @dl/backend-cpu attaches
// every group (what the READMEs use); the "core" entries attach only what their program runs.
// Attribution (`node tooling/size/attribute.mjs <entry>` lists bytes per package and file; the
// group numbers are exact, bundling the sources with and without, gzipped):
// - one op on the core with binaryKernels, 13.5 kB: @dl/tensor ~11.5 kB (the Tensor class ~4.4:
//   metadata, views, basic indexing, conversion, data access, autograd slots, disposal; view layouts
//   1.4; printing 1.5 (toString/inspect, so console.log(t) prints); dispatch (checks, promotion,
//   broadcasting, in-place writes) 1.4; dtypes and half rounding 0.8; tensor() 0.8; shapes and
//   broadcasting ~0.9; the backend registry 0.4; add with its alpha argument 0.6; errors, Size,
//   Storage, scope ~0.4) and @dl/backend-cpu ~2.0 kB (binary loops and op table ~1.0, storage pool
//   0.5, the backend object and attachKernels 0.35, the strided row walk 0.15). Every Tensor method is reachable from the
//   class, so moving its code to other modules would not take it out: only fewer methods would.
// - the full cpu backend adds 22.8 kB to that (36.3 kB): the WebAssembly SIMD math shared by
//   unaryKernels, softmaxKernels and rnnKernels 8.5 kB (each alone on the core: +7.3 / +7.0 / +8.7);
//   the blocked GEMM, its WebAssembly micro-kernels and the kernels built on them (matmulKernels,
//   convKernels: implicit-GEMM conv2d and its gradients, im2col/col2im; attentionKernels) 8.9 kB
//   (alone: +2.8 / +6.2 / +4.1); reduceKernels 1.5; poolKernels 0.7; layerNormKernels 0.5;
//   sortKernels 0.45; gatherKernels 0.43; optimizerKernels 0.4; copyKernels 0.2 (alone 0.6: row-major
//   copies are shared); whereKernels 0.1; ~1.2 kB shared between groups.
// - entries built on the full backend (one op's gradient, the MLP stack, MultiheadAttention, gelu,
//   GPT-2) carry every kernel too; the MLP stack on its seven groups (unary ops by plainUnaryKernels,
//   without the SIMD math: ReLU needs none) is 16.0 kB smaller.
// - @dl/tensor/methods (every op PyTorch also has as a Tensor method, installed on the prototype) adds
//   24.1 kB to the one-op core entry: the method table reaches every op in @dl/tensor, which is why
//   it is an opt-in import.
// - re-measured after the fused LSTM/GRU cells, the relaxed-SIMD rewrite sites, branch-free
//   elementwise kernels and the matrix-vector kernels (wasm/gemv.wat): +0.16 to +0.52 kB on the
//   full-backend entries; the one-op core entry is unchanged (13.56 kB).
import { sizeLimitWorkspace } from "./tooling/size/resolve-workspace.js";

export default [
  {
    name: "@dl/tensor one op + cpu core with the binary-op kernels only (@dl/backend-cpu/core)",
    path: "tooling/size/tensor-one-op.js",
    limit: "13.8 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor one op + the full cpu backend (registerBackend(cpuBackend): every kernel)",
    path: "tooling/size/tensor-one-op-full-cpu.js",
    limit: "37.2 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor/methods: one op as a method (every op installed on Tensor) + cpu core with the binary-op kernels",
    path: "tooling/size/tensor-methods.js",
    limit: "37.7 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor + cpu + @dl/autograd: one op and its gradient",
    path: "tooling/size/autograd-backward.js",
    limit: "45.7 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "training stack: tensor + autograd + nn + optim + cpu, a 2-layer MLP with Adam",
    path: "tooling/size/train-mlp-adam.js",
    limit: "57.6 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "training stack as above on the cpu core with the kernel groups an MLP uses (no conv, pool, attention, sort or SIMD math kernels)",
    path: "tooling/size/train-mlp-adam-core.js",
    limit: "41.6 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "MultiheadAttention forward alone: tensor + autograd + nn (no RNN, conv or loss layers) + cpu",
    path: "tooling/size/mha-forward.js",
    limit: "57.1 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "GPT-2 inference: @dl/transformers (AutoTokenizer, GPT2LMHeadModel.fromPretrained, generate) + cpu",
    path: "tooling/size/gpt2-inference.js",
    // 108.4 kB measured; @huggingface/tokenizers (all its normalizers, pre-tokenizers, models, decoders) is part of it.
    // 111.1 kB with beam search in generate (generation/beam-search.ts, +1.8 kB).
    limit: "111.5 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/nn/functional: one activation (gelu) + cpu, without the rest of F",
    path: "tooling/size/nn-functional-relu.js",
    limit: "38.9 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
];
