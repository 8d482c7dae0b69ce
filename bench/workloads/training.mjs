// Training steps: dl's @dl/nn modules + @dl/optim Adam vs the same model written with tfjs ops and
// tf.train.adam, from the same initial weights and data. One timed call = one step (zero grads,
// forward, loss, backward, Adam update) inside tidy(), returning the loss.
import { numel, values } from "../lib/harness.mjs";

const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** A parameter in PyTorch's layout, uniform in +-bound (PyTorch's default init bound, 1/sqrt(fanIn)). */
function param(shape, seed, fanIn) {
  return { shape, data: values(numel(shape), seed, 1 / Math.sqrt(fanIn)) };
}

function linearParams(inF, outF, seed) {
  return [param([outF, inF], seed, inF), param([outF], seed + 1, inF)];
}

/** [O, I, kh, kw] (PyTorch) -> [kh, kw, I, O] (tfjs conv2d filter). */
function convToTf({ shape: [O, I, KH, KW], data }) {
  const out = new Float32Array(data.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let h = 0; h < KH; h++) for (let w = 0; w < KW; w++) out[((h * KW + w) * I + i) * O + o] = data[((o * I + i) * KH + h) * KW + w];
  return { shape: [KH, KW, I, O], data: out };
}

/** Linear weight [out, C*H*W] taking NCHW-flattened input -> columns for NHWC-flattened input. */
function chwToHwcColumns({ shape: [O, F], data }, C, H, W) {
  const out = new Float32Array(data.length);
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[o * F + (h * W + w) * C + c] = data[o * F + (c * H + h) * W + w];
  return { shape: [O, F], data: out };
}

const labels = (batch, classes) => Float32Array.from({ length: batch }, (_, i) => i % classes);

function oneHot(batch, classes) {
  const out = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) out[i * classes + (i % classes)] = 1;
  return out;
}

/** Names (like "nn.Conv2d") that dl does not export (yet). */
const missingIn = (dl, names) =>
  names.filter((n) => {
    const [ns, cls] = n.split(".");
    return typeof dl[ns]?.[cls] !== "function";
  });

/** Copies the specs' values into the model's parameters (in registration order, shapes checked). */
function setParams(dl, model, specs) {
  const ps = [...model.parameters()];
  const fmt = (s) => `[${s.join(",")}]`;
  const got = ps.map((p) => fmt(p.shape)).join(" ");
  const want = specs.map((s) => fmt(s.shape)).join(" ");
  if (got !== want) throw new Error(`model parameters are ${got}, expected ${want} (PyTorch's order and layout)`);
  dl.noGrad(() =>
    ps.forEach((p, i) => {
      const v = dl.fromArray(specs[i].data, specs[i].shape);
      p.copy_(v);
      v.dispose();
    }),
  );
}

/**
 * dl side of a training workload: `build(dl)` returns { model, forward(x) -> logits or output,
 * loss(out, target) }. Each step runs in tidy() and returns the loss.
 */
function dlTrainer(build, specs, makeInputs) {
  return (dl) => {
    const { model, forward, loss } = build(dl);
    setParams(dl, model, specs);
    const opt = new dl.optim.Adam(model.parameters(), { lr: ADAM.lr, betas: [ADAM.beta1, ADAM.beta2], eps: ADAM.eps });
    const { x, target } = makeInputs(dl);
    return {
      run: () =>
        dl.tidy(() => {
          // PyTorch 1.13's default: zero the .grad tensors (owned by their leaves, not by this tidy) in place.
          opt.zeroGrad();
          const l = loss(forward(x), target);
          l.backward();
          opt.step();
          return l.detach();
        }),
      liveCount: () => dl.cpuBackend.memory().storages,
      dispose: () => {
        for (const t of [x, target]) t?.dispose();
      },
    };
  };
}

/** tfjs side: variables from tfjs-layout specs; `lossFn(vars)` computes the loss from them. */
function tfTrainer(tfSpecs, makeInputs, lossFn) {
  return (tf) => {
    const vars = tfSpecs.map((s) => tf.variable(tf.tensor(s.data, s.shape)));
    const opt = tf.train.adam(ADAM.lr, ADAM.beta1, ADAM.beta2, ADAM.eps);
    const inputs = makeInputs(tf);
    return {
      run: () => tf.tidy(() => opt.minimize(() => lossFn(tf, vars, inputs), true, vars)),
      dispose: () => {
        for (const v of vars) v.dispose();
        for (const t of Object.values(inputs)) t.dispose();
        opt.dispose();
      },
    };
  };
}

const dense = (tf, h, W, b) => tf.add(tf.matMul(h, W, false, true), b);

export function trainingWorkloads(quick) {
  const common = { section: "training", target: 5, rtol: 1e-4 };

  // ---- MLP ----
  const mlp = quick ? { batch: 4, dims: [16, 8, 4] } : { batch: 64, dims: [784, 256, 10] };
  const [mIn, mHid, mOut] = mlp.dims;
  const mlpSpecs = [...linearParams(mIn, mHid, 200), ...linearParams(mHid, mOut, 202)];
  const mlpX = values(mlp.batch * mIn, 41);

  // ---- CNN ----
  const cnn = quick
    ? { batch: 2, img: 8, c1: 2, c2: 4, hidden: 8, classes: 10 }
    : { batch: 64, img: 28, c1: 16, c2: 32, hidden: 128, classes: 10 };
  const s4 = cnn.img / 4;
  const flat = cnn.c2 * s4 * s4;
  const cnnSpecs = [
    param([cnn.c1, 1, 3, 3], 300, 9),
    param([cnn.c1], 301, 9),
    param([cnn.c2, cnn.c1, 3, 3], 302, cnn.c1 * 9),
    param([cnn.c2], 303, cnn.c1 * 9),
    ...linearParams(flat, cnn.hidden, 304),
    ...linearParams(cnn.hidden, cnn.classes, 306),
  ];
  const cnnTfSpecs = [
    convToTf(cnnSpecs[0]),
    cnnSpecs[1],
    convToTf(cnnSpecs[2]),
    cnnSpecs[3],
    chwToHwcColumns(cnnSpecs[4], cnn.c2, s4, s4),
    ...cnnSpecs.slice(5),
  ];
  const cnnX = values(cnn.batch * cnn.img * cnn.img, 51);

  // ---- LSTM ----
  const lstm = quick ? { batch: 2, seq: 3, input: 4, hidden: 5 } : { batch: 32, seq: 50, input: 64, hidden: 128 };
  const H = lstm.hidden;
  const lstmSpecs = [param([4 * H, lstm.input], 400, H), param([4 * H, H], 401, H), param([4 * H], 402, H), param([4 * H], 403, H)];
  const lstmX = values(lstm.batch * lstm.seq * lstm.input, 61);

  return [
    {
      ...common,
      name: `MLP ${mlp.dims.join("-")} batch ${mlp.batch}, Adam`,
      needs: (dl) => missingIn(dl, ["nn.Module", "nn.Linear", "nn.CrossEntropyLoss", "optim.Adam"]),
      dl: dlTrainer(
        (dl) => {
          class Mlp extends dl.nn.Module {
            constructor() {
              super();
              this.fc1 = new dl.nn.Linear(mIn, mHid);
              this.fc2 = new dl.nn.Linear(mHid, mOut);
            }
            forward(x) {
              return this.fc2.call(dl.relu(this.fc1.call(x)));
            }
          }
          const model = new Mlp();
          const ce = new dl.nn.CrossEntropyLoss();
          return { model, forward: (x) => model.call(x), loss: (z, y) => ce.call(z, y) };
        },
        mlpSpecs,
        (dl) => ({
          x: dl.fromArray(mlpX, [mlp.batch, mIn]),
          target: dl.fromArray(labels(mlp.batch, mOut), [mlp.batch], { dtype: "int64" }),
        }),
      ),
      tf: tfTrainer(
        mlpSpecs,
        (tf) => ({ x: tf.tensor(mlpX, [mlp.batch, mIn]), y: tf.tensor(oneHot(mlp.batch, mOut), [mlp.batch, mOut]) }),
        (tf, [w1, b1, w2, b2], { x, y }) => tf.losses.softmaxCrossEntropy(y, dense(tf, tf.relu(dense(tf, x, w1, b1)), w2, b2)),
      ),
    },
    {
      ...common,
      name: `CNN ${cnn.img}x${cnn.img} conv${cnn.c1}-conv${cnn.c2}-fc${cnn.hidden} batch ${cnn.batch}, Adam`,
      needs: (dl) => missingIn(dl, ["nn.Module", "nn.Conv2d", "nn.MaxPool2d", "nn.Linear", "nn.CrossEntropyLoss", "optim.Adam"]),
      dl: dlTrainer(
        (dl) => {
          class MnistCnn extends dl.nn.Module {
            constructor() {
              super();
              this.conv1 = new dl.nn.Conv2d(1, cnn.c1, 3, { padding: 1 });
              this.conv2 = new dl.nn.Conv2d(cnn.c1, cnn.c2, 3, { padding: 1 });
              this.pool = new dl.nn.MaxPool2d(2);
              this.fc1 = new dl.nn.Linear(flat, cnn.hidden);
              this.fc2 = new dl.nn.Linear(cnn.hidden, cnn.classes);
            }
            forward(x) {
              let h = this.pool.call(dl.relu(this.conv1.call(x)));
              h = this.pool.call(dl.relu(this.conv2.call(h)));
              h = h.reshape([h.shape[0], flat]);
              return this.fc2.call(dl.relu(this.fc1.call(h)));
            }
          }
          const model = new MnistCnn();
          const ce = new dl.nn.CrossEntropyLoss();
          return { model, forward: (x) => model.call(x), loss: (z, y) => ce.call(z, y) };
        },
        cnnSpecs,
        (dl) => ({
          x: dl.fromArray(cnnX, [cnn.batch, 1, cnn.img, cnn.img]),
          target: dl.fromArray(labels(cnn.batch, cnn.classes), [cnn.batch], { dtype: "int64" }),
        }),
      ),
      tf: tfTrainer(
        cnnTfSpecs,
        // One channel: NCHW and NHWC are the same bytes.
        (tf) => ({
          x: tf.tensor(cnnX, [cnn.batch, cnn.img, cnn.img, 1]),
          y: tf.tensor(oneHot(cnn.batch, cnn.classes), [cnn.batch, cnn.classes]),
        }),
        (tf, [k1, c1, k2, c2, w1, b1, w2, b2], { x, y }) => {
          let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, k1, 1, "same"), c1)), 2, 2, "valid");
          h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k2, 1, "same"), c2)), 2, 2, "valid");
          h = tf.reshape(h, [cnn.batch, flat]);
          return tf.losses.softmaxCrossEntropy(y, dense(tf, tf.relu(dense(tf, h, w1, b1)), w2, b2));
        },
      ),
    },
    {
      ...common,
      name: `LSTM ${lstm.input}->${H} batch ${lstm.batch} seq ${lstm.seq}, Adam`,
      needs: (dl) => missingIn(dl, ["nn.LSTM", "optim.Adam"]),
      dl: dlTrainer(
        (dl) => {
          const model = new dl.nn.LSTM(lstm.input, H, { batchFirst: true });
          // PyTorch returns (output, (h_n, c_n)).
          const output = (r) => (Array.isArray(r) ? r[0] : (r.output ?? r));
          return { model, forward: (x) => output(model.call(x)), loss: (out) => dl.mean(dl.square(out)) };
        },
        lstmSpecs,
        (dl) => ({ x: dl.fromArray(lstmX, [lstm.batch, lstm.seq, lstm.input]) }),
      ),
      tf: tfTrainer(
        lstmSpecs,
        (tf) => ({ x: tf.tensor(lstmX, [lstm.batch, lstm.seq, lstm.input]) }),
        (tf, [wih, whh, bih, bhh], { x }) => {
          // PyTorch's LSTM: gates i, f, g, o; c = f*c + i*g; h = o*tanh(c). Input projection for all steps at once.
          const { batch: B, seq: T, input: I } = lstm;
          const xp = tf.reshape(dense(tf, tf.reshape(x, [B * T, I]), wih, tf.add(bih, bhh)), [B, T, 4 * H]);
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
          return tf.mean(tf.square(tf.stack(hs, 1)));
        },
      ),
    },
  ];
}
