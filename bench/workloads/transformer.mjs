// A Transformer encoder layer (post-norm, relu, dropout 0, batch-first), forward and forward + backward:
// dl's nn.TransformerEncoderLayer against the same layer written with tfjs ops (tfjs has no
// multi-head attention layer in core), on the same input and weights.
import { values } from "../lib/harness.mjs";

export function transformerWorkloads(quick) {
  const C = quick ? { batch: 2, seq: 8, d: 16, heads: 2, ff: 32 } : { batch: 8, seq: 128, d: 256, heads: 4, ff: 1024 };
  const { batch: B, seq: S, d: D, heads: H, ff: F } = C;
  const hd = D / H;
  const spec = (shape, seed, fanIn) => ({
    shape,
    data: values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      1 / Math.sqrt(fanIn),
    ),
  });
  // PyTorch layouts: Linear weights [out, in].
  const P = {
    "self_attn.in_proj_weight": spec([3 * D, D], 501, D),
    "self_attn.in_proj_bias": spec([3 * D], 502, D),
    "self_attn.out_proj.weight": spec([D, D], 503, D),
    "self_attn.out_proj.bias": spec([D], 504, D),
    "linear1.weight": spec([F, D], 505, D),
    "linear1.bias": spec([F], 506, D),
    "linear2.weight": spec([D, F], 507, F),
    "linear2.bias": spec([D], 508, F),
  };
  const names = Object.keys(P);
  const xData = values(B * S * D, 509);
  const rData = values(B * S * D, 510); // upstream gradient of the fwd+bwd rows
  const name = `encoder layer b${B} s${S} d${D} h${H} ff${F}`;

  const dlLayer = (dl) => {
    const layer = new dl.nn.TransformerEncoderLayer(D, H, { dimFeedforward: F, dropout: 0, batchFirst: true });
    dl.noGrad(() => {
      for (const [k, p] of layer.namedParameters()) if (P[k]) p.copy_(dl.fromArray(P[k].data, P[k].shape));
    });
    return layer;
  };

  const layerNorm = (tf, x) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  };
  const dense = (tf, x, w, b) => tf.add(tf.matMul(x, w, false, true), b);
  /** The encoder layer on [B*S, D] rows; ws in the order of `names`. */
  const tfLayer = (tf, x, [wqkv, bqkv, wo, bo, w1, b1, w2, b2]) => {
    const qkv = dense(tf, x, wqkv, bqkv);
    const heads = (t) => tf.transpose(tf.reshape(t, [B, S, H, hd]), [0, 2, 1, 3]);
    const [q, k, v] = tf.split(qkv, 3, -1).map(heads);
    const p = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)));
    const ctx = tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [B * S, D]);
    const h = layerNorm(tf, tf.add(x, dense(tf, ctx, wo, bo)));
    return layerNorm(tf, tf.add(h, dense(tf, tf.relu(dense(tf, h, w1, b1)), w2, b2)));
  };
  const needs = (dl) => (dl.nn?.TransformerEncoderLayer ? [] : ["nn.TransformerEncoderLayer"]);

  return [
    {
      section: "layers",
      name: `${name} fwd`,
      rtol: 1e-4,
      needs,
      dl: (dl) => {
        const layer = dlLayer(dl).eval();
        const x = dl.fromArray(xData, [B, S, D]);
        return { run: () => dl.noGrad(() => [layer.forward(x)]), dispose: () => x.dispose() };
      },
      tf: (tf) => {
        const x = tf.tensor(xData, [B * S, D]);
        const ws = names.map((k) => tf.tensor(P[k].data, P[k].shape));
        return { run: () => tf.tidy(() => [tfLayer(tf, x, ws)]), dispose: () => [x, ...ws].forEach((t) => void t.dispose()) };
      },
    },
    {
      section: "layers",
      name: `${name} fwd+bwd`,
      // A pre-activation within float32 rounding of 0 takes the other side of relu's kink in one
      // library (one such element moves a weight gradient by ~3e-3 of the gradients' scale).
      rtol: 1e-2,
      needs,
      dl: (dl) => {
        const layer = dlLayer(dl);
        const ps = names.map((k) => layer.getParameter?.(k) ?? [...layer.namedParameters()].find(([n]) => n === k)[1]);
        const x = dl.fromArray(xData, [B, S, D]);
        const r = dl.fromArray(rData, [B, S, D]);
        return {
          run: () =>
            dl.tidy(() => {
              // Only the gradients are compared: the loss is a sum of 262k cancelling terms, whose float32
              // rounding differs between libraries by more than the tolerance.
              const loss = dl.sum(dl.mul(layer.forward(x), r));
              return dl.grad(loss, ps);
            }),
          dispose: () => [x, r].forEach((t) => void t.dispose()),
        };
      },
      tf: (tf) => {
        const x = tf.tensor(xData, [B * S, D]);
        const r = tf.tensor(rData, [B * S, D]);
        const ws = names.map((k) => tf.tensor(P[k].data, P[k].shape));
        const f = tf.valueAndGrads((...args) => tf.sum(tf.mul(tfLayer(tf, x, args), r)));
        return {
          run: () =>
            tf.tidy(() => {
              const { grads } = f(ws);
              return grads;
            }),
          dispose: () => [x, r, ...ws].forEach((t) => void t.dispose()),
        };
      },
    },
  ];
}
