// LSTM and GRU forward passes (inference, no gradients): dl's nn.LSTM / nn.GRU against the same
// recurrence written with tfjs ops (PyTorch's gate orders i, f, g, o and r, z, n), on the same input and weights.
import { numel, values } from "../lib/harness.mjs";

export function lstmWorkloads(quick) {
  const C = quick ? { batch: 2, seq: 3, input: 4, hidden: 5 } : { batch: 32, seq: 50, input: 64, hidden: 128 };
  const { batch: B, seq: T, input: I, hidden: H } = C;
  const bound = 1 / Math.sqrt(H);
  const P = [
    ["weight_ih_l0", [4 * H, I], 801],
    ["weight_hh_l0", [4 * H, H], 802],
    ["bias_ih_l0", [4 * H], 803],
    ["bias_hh_l0", [4 * H], 804],
  ].map(([name, shape, seed]) => ({ name, shape, data: values(numel(shape), seed, bound) }));
  const xData = values(B * T * I, 805);
  const G = [
    ["weight_ih_l0", [3 * H, I], 811],
    ["weight_hh_l0", [3 * H, H], 812],
    ["bias_ih_l0", [3 * H], 813],
    ["bias_hh_l0", [3 * H], 814],
  ].map(([name, shape, seed]) => ({ name, shape, data: values(numel(shape), seed, bound) }));
  return [
    {
      section: "layers",
      name: `LSTM fwd b${B} s${T} ${I}->${H}`,
      rtol: 1e-4,
      needs: (dl) => (dl.nn?.LSTM ? [] : ["nn.LSTM"]),
      dl: (dl) => {
        const lstm = new dl.nn.LSTM(I, H, { batchFirst: true }).eval();
        const params = new Map(lstm.namedParameters());
        dl.noGrad(() => {
          for (const p of P) params.get(p.name).copy_(dl.fromArray(p.data, p.shape));
        });
        const x = dl.fromArray(xData, [B, T, I]);
        // PyTorch returns (output, (h_n, c_n)): the output sequence is compared.
        const output = (r) => (Array.isArray(r) ? r[0] : (r.output ?? r));
        return { run: () => dl.tidy(() => dl.noGrad(() => output(lstm.call(x)))), dispose: () => x.dispose() };
      },
      tf: (tf) => {
        const [wih, whh, bih, bhh] = P.map((p) => tf.tensor(p.data, p.shape));
        const x = tf.tensor(xData, [B, T, I]);
        const run = () =>
          tf.tidy(() => {
            const xp = tf.reshape(tf.add(tf.matMul(tf.reshape(x, [B * T, I]), wih, false, true), tf.add(bih, bhh)), [B, T, 4 * H]);
            const steps = tf.unstack(xp, 1);
            let h = tf.zeros([B, H]);
            let c = tf.zeros([B, H]);
            const hs = [];
            for (let t = 0; t < T; t++) {
              const [i, f, g, o] = tf.split(tf.add(steps[t], tf.matMul(h, whh, false, true)), 4, 1);
              c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
              h = tf.mul(tf.sigmoid(o), tf.tanh(c));
              hs.push(h);
            }
            return tf.stack(hs, 1);
          });
        return { run, dispose: () => [wih, whh, bih, bhh, x].forEach((t) => void t.dispose()) };
      },
    },
    {
      section: "layers",
      name: `GRU fwd b${B} s${T} ${I}->${H}`,
      rtol: 1e-4,
      needs: (dl) => (dl.nn?.GRU ? [] : ["nn.GRU"]),
      dl: (dl) => {
        const gru = new dl.nn.GRU(I, H, { batchFirst: true }).eval();
        const params = new Map(gru.namedParameters());
        dl.noGrad(() => {
          for (const p of G) params.get(p.name).copy_(dl.fromArray(p.data, p.shape));
        });
        const x = dl.fromArray(xData, [B, T, I]);
        const output = (r) => (Array.isArray(r) ? r[0] : (r.output ?? r));
        return { run: () => dl.tidy(() => dl.noGrad(() => output(gru.call(x)))), dispose: () => x.dispose() };
      },
      tf: (tf) => {
        const [wih, whh, bih, bhh, x] = [...G.map((p) => tf.tensor(p.data, p.shape)), tf.tensor(xData, [B, T, I])];
        // PyTorch's GRU, gates r, z, n: n = tanh(x_n + r (h W_hn^T + b_hn)), h' = (1 - z) n + z h.
        const run = () =>
          tf.tidy(() => {
            const xp = tf.reshape(tf.add(tf.matMul(tf.reshape(x, [B * T, I]), wih, false, true), bih), [B, T, 3 * H]);
            const steps = tf.unstack(xp, 1);
            let h = tf.zeros([B, H]);
            const hs = [];
            for (let t = 0; t < T; t++) {
              const [xr, xz, xn] = tf.split(steps[t], 3, 1);
              const [hr, hz, hn] = tf.split(tf.add(tf.matMul(h, whh, false, true), bhh), 3, 1);
              const r = tf.sigmoid(tf.add(xr, hr));
              const z = tf.sigmoid(tf.add(xz, hz));
              const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
              h = tf.add(n, tf.mul(z, tf.sub(h, n)));
              hs.push(h);
            }
            return tf.stack(hs, 1);
          });
        return { run, dispose: () => [wih, whh, bih, bhh, x].forEach((t) => void t.dispose()) };
      },
    },
  ];
}
