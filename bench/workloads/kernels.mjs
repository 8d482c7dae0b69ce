// Single tensor kernels: matmul, elementwise, reductions, softmax, transposed copies.
import { numel, values } from "../lib/harness.mjs";

/**
 * A kernel workload: `inputs` are [shape, seed] pairs made into each library's float32 tensors
 * outside the timing; `dl`/`tf` compute the result from them (inside tidy).
 */
function kernel({ name, flops, inputs, dl: dlFn, tf: tfFn }) {
  return {
    section: "kernels",
    name,
    flops,
    dl: (dl) => {
      const xs = inputs.map(([shape, seed]) => dl.fromArray(values(numel(shape), seed), shape, { dtype: "float32" }));
      return { run: () => dl.tidy(() => dlFn(dl, ...xs)), dispose: () => xs.forEach((x) => void x.dispose()) };
    },
    tf: (tf) => {
      const xs = inputs.map(([shape, seed]) => tf.tensor(values(numel(shape), seed), shape, "float32"));
      return { run: () => tf.tidy(() => tfFn(tf, ...xs)), dispose: () => xs.forEach((x) => void x.dispose()) };
    },
  };
}

export function kernelWorkloads(quick) {
  const S = quick ? { mm: [16, 48, 64], n: 64 } : { mm: [128, 512, 1024], n: 1024 };
  const N = S.n;
  return [
    ...S.mm.map((n) =>
      kernel({
        name: `matmul ${n}x${n}`,
        flops: 2 * n ** 3,
        inputs: [
          [[n, n], 1],
          [[n, n], 2],
        ],
        dl: (dl, a, b) => dl.matmul(a, b),
        tf: (tf, a, b) => tf.matMul(a, b),
      }),
    ),
    kernel({
      name: `add [${N},${N}] + [${N}]`,
      inputs: [
        [[N, N], 3],
        [[N], 4],
      ],
      dl: (dl, a, b) => dl.add(a, b),
      tf: (tf, a, b) => tf.add(a, b),
    }),
    kernel({
      name: `exp [${N},${N}]`,
      inputs: [[[N, N], 5]],
      dl: (dl, x) => dl.exp(x),
      tf: (tf, x) => tf.exp(x),
    }),
    kernel({
      name: `sum rows [${N},${N}] (dim -1)`,
      inputs: [[[N, N], 6]],
      dl: (dl, x) => dl.sum(x, -1),
      tf: (tf, x) => tf.sum(x, -1),
    }),
    kernel({
      name: `softmax rows [${N},${N}]`,
      inputs: [[[N, N], 7]],
      // F.softmax (the backend's fused kernel when it has one); composed from primitives,
      // exp(x - amax(x)) / sum(...), when @dl/nn is not loaded.
      dl: (dl, x) => {
        if (dl.nn?.F) return dl.nn.F.softmax(x, -1);
        const e = dl.exp(dl.sub(x, dl.amax(x, -1, { keepdim: true })));
        return dl.div(e, dl.sum(e, -1, { keepdim: true }));
      },
      tf: (tf, x) => tf.softmax(x),
    }),
    kernel({
      name: `logSoftmax rows [${N},${N}]`,
      inputs: [[[N, N], 9]],
      // F.logSoftmax (the fused kernel); composed x - amax - log(sum(exp(x - amax))) without @dl/nn.
      dl: (dl, x) => {
        if (dl.nn?.F) return dl.nn.F.logSoftmax(x, -1);
        const s = dl.sub(x, dl.amax(x, -1, { keepdim: true }));
        return dl.sub(s, dl.log(dl.sum(dl.exp(s), -1, { keepdim: true })));
      },
      tf: (tf, x) => tf.logSoftmax(x),
    }),
    kernel({
      name: `transpose+contiguous [${N},${N}]`,
      inputs: [[[N, N], 8]],
      dl: (_dl, x) => x.t().contiguous(),
      tf: (tf, x) => tf.transpose(x),
    }),
  ];
}
