// Forward + backward through the tape: dl's grad() vs tfjs's valueAndGrads(), same ops and data.
import { values } from "../lib/harness.mjs";

/**
 * n elementwise ops cycling mul, add, sin with constants near 1 and 0 (alternating up/down), so
 * that values stay in [-1, 1] and the gradient stays within ~1e-4..1 over 1000 ops (no float32
 * denormals, which would measure the FPU's slow path instead of the tape).
 */
function chain(y, n, mul, add, sin) {
  for (let i = 0; i < n; i++) {
    const up = Math.floor(i / 3) % 2 === 0;
    const op = i % 3;
    y = op === 0 ? mul(y, up ? 1.01 : 0.99) : op === 1 ? add(y, up ? -0.01 : 0.01) : sin(y);
  }
  return y;
}

/** Parameters of a [in, out]-layout MLP (x @ W + b), uniform in +-1/sqrt(in) as PyTorch's Linear. */
function mlpParams(dims) {
  const specs = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const bound = 1 / Math.sqrt(dims[l]);
    specs.push({ shape: [dims[l], dims[l + 1]], data: values(dims[l] * dims[l + 1], 100 + 2 * l, bound) });
    specs.push({ shape: [dims[l + 1]], data: values(dims[l + 1], 101 + 2 * l, bound) });
  }
  return specs;
}

function oneHot(batch, classes) {
  const out = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) out[i * classes + (i % classes)] = 1;
  return out;
}

export function autogradWorkloads(quick) {
  const M = quick
    ? { batch: 4, dims: [16, 8, 8, 4], chainLen: 20, chainN: 10, tapeLen: 50 }
    : { batch: 64, dims: [784, 256, 256, 10], chainLen: 200, chainN: 1000, tapeLen: 1000 };
  const classes = M.dims[M.dims.length - 1];
  const params = mlpParams(M.dims);
  const xData = values(M.batch * M.dims[0], 11);
  const yData = oneHot(M.batch, classes);

  /** relu MLP, then softmax cross-entropy written with ops: mean(logsumexp(z) - sum(z * onehot)). */
  const mlpDl = (dl, x, onehot, ps) => {
    let h = x;
    for (let l = 0; l < ps.length; l += 2) {
      h = dl.add(dl.matmul(h, ps[l]), ps[l + 1]);
      if (l + 2 < ps.length) h = dl.relu(h);
    }
    return dl.mean(dl.sub(dl.logsumexp(h, -1), dl.sum(dl.mul(h, onehot), -1)));
  };
  const mlpTf = (tf, x, onehot, ps) => {
    let h = x;
    for (let l = 0; l < ps.length; l += 2) {
      h = tf.add(tf.matMul(h, ps[l]), ps[l + 1]);
      if (l + 2 < ps.length) h = tf.relu(h);
    }
    return tf.mean(tf.sub(tf.logSumExp(h, -1), tf.sum(tf.mul(h, onehot), -1)));
  };

  const dlChain = (dl, y, n) => chain(y, n, dl.mul, dl.add, dl.sin);
  const tfChain = (tf, y, n) => chain(y, n, tf.mul, tf.add, tf.sin);

  return [
    {
      section: "autograd",
      name: `MLP ${M.dims.join("-")} batch ${M.batch} fwd+bwd`,
      target: 3,
      rtol: 1e-4,
      dl: (dl) => {
        const x = dl.fromArray(xData, [M.batch, M.dims[0]]);
        const onehot = dl.fromArray(yData, [M.batch, classes]);
        const ps = params.map((p) => dl.fromArray(p.data, p.shape).requiresGrad_());
        return {
          run: () =>
            dl.tidy(() => {
              const loss = mlpDl(dl, x, onehot, ps);
              return [loss, ...dl.grad(loss, ps)];
            }),
          dispose: () => [x, onehot, ...ps].forEach((t) => void t.dispose()),
        };
      },
      tf: (tf) => {
        const x = tf.tensor(xData, [M.batch, M.dims[0]]);
        const onehot = tf.tensor(yData, [M.batch, classes]);
        const ps = params.map((p) => tf.tensor(p.data, p.shape));
        const f = tf.valueAndGrads((...args) => mlpTf(tf, x, onehot, args));
        return {
          run: () =>
            tf.tidy(() => {
              const { value, grads } = f(ps);
              return [value, ...grads];
            }),
          dispose: () => [x, onehot, ...ps].forEach((t) => void t.dispose()),
        };
      },
    },
    {
      section: "autograd",
      name: `${M.chainLen} elementwise ops on [${M.chainN}] fwd+bwd`,
      target: 3,
      rtol: 1e-3,
      dl: (dl) => {
        const x = dl.fromArray(values(M.chainN, 21), [M.chainN]).requiresGrad_();
        return {
          run: () =>
            dl.tidy(() => {
              const loss = dl.sum(dlChain(dl, x, M.chainLen));
              return [loss, ...dl.grad(loss, [x])];
            }),
          dispose: () => x.dispose(),
        };
      },
      tf: (tf) => {
        const x = tf.tensor(values(M.chainN, 21), [M.chainN]);
        const f = tf.valueAndGrads((t) => tf.sum(tfChain(tf, t, M.chainLen)));
        return {
          run: () =>
            tf.tidy(() => {
              const { value, grads } = f([x]);
              return [value, ...grads];
            }),
          dispose: () => x.dispose(),
        };
      },
    },
    {
      section: "autograd",
      name: `tape: ${M.tapeLen} ops on [1] fwd+bwd`,
      perOp: M.tapeLen,
      target: 1,
      rtol: 1e-3,
      dl: (dl) => {
        const x = dl.fromArray(values(1, 31), [1]).requiresGrad_();
        return {
          run: () =>
            dl.tidy(() => {
              const y = dlChain(dl, x, M.tapeLen);
              return [y, ...dl.grad(y, [x])];
            }),
          dispose: () => x.dispose(),
        };
      },
      tf: (tf) => {
        const x = tf.tensor(values(1, 31), [1]);
        const f = tf.valueAndGrads((t) => tfChain(tf, t, M.tapeLen));
        return {
          run: () =>
            tf.tidy(() => {
              const { value, grads } = f([x]);
              return [value, ...grads];
            }),
          dispose: () => x.dispose(),
        };
      },
    },
  ];
}
