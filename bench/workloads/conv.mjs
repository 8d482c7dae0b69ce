// Convolution forward on its own (NCHW in dl, as PyTorch; NHWC in tfjs, its native layout): the
// shapes of a small CNN's first layer (3 input channels) and of a middle layer.
import { numel, values } from "../lib/harness.mjs";

/** [N, C, H, W] -> [N, H, W, C] (inputs) and [O, I, kh, kw] -> [kh, kw, I, O] (filters), outside the timing. */
function permute(data, shape, perm) {
  const out = new Float32Array(data.length);
  const nd = shape.length;
  const strides = new Array(nd).fill(1);
  for (let d = nd - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  const outShape = perm.map((p) => shape[p]);
  const idx = new Array(nd).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < nd; d++) src += idx[d] * strides[perm[d]];
    out[o] = data[src];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

function convRow(xShape, wShape, pad, seed) {
  const [N, C, H, W] = xShape;
  const [O, , KH, KW] = wShape;
  const OH = H + 2 * pad - KH + 1;
  const OW = W + 2 * pad - KW + 1;
  const x = values(numel(xShape), seed);
  const w = values(numel(wShape), seed + 1, 1 / Math.sqrt(C * KH * KW));
  const b = values(O, seed + 2, 1 / Math.sqrt(C * KH * KW));
  const xt = permute(x, xShape, [0, 2, 3, 1]);
  const wt = permute(w, wShape, [2, 3, 1, 0]);
  return {
    section: "kernels",
    name: `conv2d [${xShape}]x[${wShape}] pad ${pad}`,
    flops: 2 * N * O * OH * OW * C * KH * KW,
    // tfjs answers in NHWC: compared in dl's NCHW layout (the permutation is not timed).
    tfToDl: (data) => permute(data, [N, OH, OW, O], [0, 3, 1, 2]).data,
    needs: (dl) => (dl.nn?.F?.conv2d ? [] : ["nn.functional.conv2d"]),
    dl: (dl) => {
      const xs = [dl.fromArray(x, xShape), dl.fromArray(w, wShape), dl.fromArray(b, [O])];
      return {
        run: () => dl.tidy(() => dl.nn.F.conv2d(xs[0], xs[1], xs[2], { padding: pad })),
        dispose: () => xs.forEach((t) => void t.dispose()),
      };
    },
    tf: (tf) => {
      const xs = [tf.tensor(xt.data, xt.shape), tf.tensor(wt.data, wt.shape), tf.tensor(b, [O])];
      // "same" with a 3x3 kernel and stride 1 is padding 1 on every side.
      return {
        run: () => tf.tidy(() => tf.add(tf.conv2d(xs[0], xs[1], 1, pad === 0 ? "valid" : "same"), xs[2])),
        dispose: () => xs.forEach((t) => void t.dispose()),
      };
    },
  };
}

export function convWorkloads(quick) {
  return quick
    ? [convRow([2, 3, 8, 8], [4, 3, 3, 3], 1, 700), convRow([2, 4, 4, 4], [8, 4, 3, 3], 1, 710)]
    : [convRow([32, 3, 32, 32], [32, 3, 3, 3], 1, 700), convRow([32, 32, 16, 16], [64, 32, 3, 3], 1, 710)];
}
