// Correctness checks of the fast paths in the CPU kernels, beyond what the PyTorch fixture suites
// reach with their small tensors: matmul on both engines (WebAssembly SIMD and the plain-JS
// fallback) with ragged sizes, k > KC, rows > MC, column blocking, strided/transposed/broadcast
// operands and every numeric dtype; float32 exp against Math.exp on many inputs; tiled transposed
// copies. Run by `node bench/run.mjs --quick` (or --check); returns a list of failures.

/** Deterministic values; integers for integer dtypes. */
function fill(n, seed, int) {
  const out = new Float64Array(n);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    out[i] = int ? Math.floor(u * 9) - 4 : u * 2 - 1;
  }
  return out;
}

const ARRAY = {
  float32: Float32Array,
  float16: Float32Array,
  bfloat16: Float32Array,
  float64: Float64Array,
  int64: Float64Array,
  int32: Int32Array,
};

/**
 * One case: [B, M, K, N] and a layout for each operand: "c" contiguous, "t" stored transposed,
 * "b0" batch-broadcast (batch stride 0), "s" every other column of a wider matrix.
 */
function operand(shape, layout, seed, dtype, castScalar) {
  const [B, R, C] = shape;
  const int = dtype === "int32" || dtype === "int64";
  const Arr = ARRAY[dtype];
  const round = (v) => (dtype === "float16" || dtype === "bfloat16" ? castScalar(v, dtype) : v);
  const nb = layout === "b0" ? 1 : B;
  const wide = layout === "s" ? 2 : 1;
  const data = new Arr(nb * R * C * wide + 3);
  const vals = fill(data.length, seed, int);
  for (let i = 0; i < data.length; i++) data[i] = round(vals[i]);
  const off = 3;
  let strides;
  if (layout === "t") strides = [R * C, 1, R];
  else if (layout === "b0") strides = [0, C, 1];
  else if (layout === "s") strides = [R * C * 2, C * 2, 2];
  else strides = [R * C, C, 1];
  return { data, dtype, shape, strides, offset: off };
}

const at = (x, b, i, j) => x.data[x.offset + b * x.strides[0] + i * x.strides[1] + j * x.strides[2]];

export function checkKernels(backend, castScalar, setMatmulEngine, matmulEngine) {
  const failures = [];
  const cases = [
    [1, 1, 1, 1],
    [1, 5, 3, 7],
    [2, 33, 17, 65],
    [3, 4, 300, 9],
    [1, 130, 257, 20],
    [2, 9, 1, 11],
    [1, 0, 4, 3],
    [1, 3, 0, 3],
    // Wider than one column block (the packed B block is capped at 4 MiB: 4096 float32 columns at k = 256).
    [1, 5, 260, 4200, "wide"],
  ];
  const layouts = [
    ["c", "c"],
    ["t", "c"],
    ["c", "t"],
    ["s", "b0"],
    ["c", "b0"],
  ];
  const engines = [];
  for (const which of ["auto", "js"]) {
    setMatmulEngine(which);
    const name = matmulEngine();
    engines.push(name);
    for (const dtype of ["float32", "float64", "float16", "bfloat16", "int32", "int64"]) {
      for (const [B, M, K, N, wide] of cases) {
        if (wide && dtype !== "float32" && dtype !== "float64") continue;
        for (const [la, lb] of wide ? layouts.slice(0, 2) : layouts) {
          const a = operand([B, M, K], la, B + M + K, dtype, castScalar);
          const b = operand([B, K, N], lb, N + 7 * K, dtype, castScalar);
          const out = backend.matmul(a, b, dtype);
          let worst = 0;
          for (let bi = 0; bi < B; bi++) {
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) {
                let s = 0;
                let mag = 0;
                for (let k = 0; k < K; k++) {
                  const p = at(a, bi, i, k) * at(b, bi, k, j);
                  s += p;
                  mag += Math.abs(p);
                }
                const want = dtype === "float32" ? Math.fround(s) : castScalar(s, dtype);
                const got = out[(bi * M + i) * N + j];
                const tol =
                  { float32: 2e-6, float64: 1e-14, float16: 2e-3, bfloat16: 1.6e-2, int32: 0, int64: 0 }[dtype] * Math.max(mag, 1);
                const err = Math.abs(got - want);
                if (!(err <= tol)) worst = Math.max(worst, Number.isNaN(err) ? Number.POSITIVE_INFINITY : err / Math.max(tol, 1e-300));
              }
            }
          }
          if (out.length !== B * M * N || worst > 0)
            failures.push(
              `matmul[${name}] ${dtype} ${[B, M, K, N]} ${la}/${lb}: ${out.length !== B * M * N ? "wrong size" : `error ${worst.toFixed(1)}x tolerance`}`,
            );
          backend.dispose(out);
        }
      }
    }
  }
  setMatmulEngine("auto");
  failures.push(...checkExp(backend), ...checkCopy(backend));
  return { failures, engines };
}

const ref1 = (data, dtype) => ({ data, dtype, shape: [data.length], strides: [1], offset: 0 });

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);
/** Distance of two float32 values in ulps (units of the float32 spacing, subnormals included). */
function ulps(a, b) {
  const ord = (v) => {
    f32[0] = v;
    return bits[0] < 0 ? -(bits[0] & 0x7fffffff) : bits[0];
  };
  return Math.abs(ord(a) - ord(b));
}

/** float32 exp (a polynomial, not Math.exp) must round to Math.exp's float32 result within 1 ulp. */
function checkExp(backend) {
  const x = new Float32Array(400000);
  const u = fill(x.length, 11, false);
  for (let i = 0; i < x.length; i++) x[i] = u[i] * [1, 10, 110, 1e-6][i % 4];
  x.set([0, -0, 88.72, 88.73, -87.3, -103.97, -104, 104, -1e30, 1e30, Infinity, -Infinity, Number.NaN, 3.4e38, -3.4e38]);
  const out = backend.unary("exp", ref1(x, "float32"), "float32");
  let bad = 0;
  let first = "";
  for (let i = 0; i < x.length; i++) {
    const want = Math.fround(Math.exp(x[i]));
    const got = out[i];
    const ok = Number.isNaN(want) ? Number.isNaN(got) : got === want || ulps(got, want) <= 1;
    if (!ok && bad++ === 0) first = `exp(${x[i]}) = ${got}, want ${want}`;
  }
  backend.dispose(out);
  return bad ? [`exp float32: ${bad} values off by > 1 ulp, e.g. ${first}`] : [];
}

/** Transposed and permuted copies (the tiled path) against direct indexing. */
function checkCopy(backend) {
  const failures = [];
  for (const [shape, perm] of [
    [
      [37, 53],
      [1, 0],
    ],
    [
      [3, 17, 9],
      [0, 2, 1],
    ],
    [
      [4, 5, 6],
      [2, 1, 0],
    ],
    [
      [64, 1, 32],
      [2, 1, 0],
    ],
  ]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n).map((_, i) => i);
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const view = { data, dtype: "float32", shape: perm.map((d) => shape[d]), strides: perm.map((d) => strides[d]), offset: 0 };
    for (const dtype of ["float32", "float64", "int32"]) {
      const out = backend.copy(view, dtype);
      const idx = view.shape.map(() => 0);
      for (let i = 0; i < n; i++) {
        const want = idx.reduce((p, v, d) => p + v * view.strides[d], 0);
        if (out[i] !== want) {
          failures.push(`copy ${dtype} of [${shape}] permuted [${perm}]: element ${i} is ${out[i]}, want ${want}`);
          break;
        }
        for (let d = idx.length - 1; d >= 0 && ++idx[d] === view.shape[d]; d--) idx[d] = 0;
      }
      backend.dispose(out);
    }
  }
  return failures;
}
