import { gradcheck, gradgradcheck } from "@dl/autograd";
import { F, MultiheadAttention, Transformer } from "@dl/nn";
import { type Tensor, add, fromHost, getBackend, lt, manualSeed, matmul, mul, rand, randn, sum } from "@dl/tensor";
import { describe, expect, it, vi } from "vitest";
import { backendSupports, describeEachBackend, onDefaultDevice } from "../helpers/backends.js";
import { type TSpec, expectClose as expectCloseSpec, fromSpec as fromSpecExact, loadFixtures } from "../helpers/fixtures.js";
import { countingCalls, expectClose as expectCloseArrays, fusedTable, outputAndGrads, withoutKernels } from "./fused-helpers.js";

const fx = loadFixtures("nn_attention");

// On a device without float64 (the gpu) the float64 goldens run in float32, at a float32 tolerance.
const fromSpec = (spec: TSpec, options: { requiresGrad?: boolean } = {}): Tensor => fromSpecExact(onDefaultDevice(spec), options);
function expectClose(actual: Tensor, spec: TSpec): void {
  const onDevice = onDefaultDevice(spec);
  expectCloseSpec(actual, onDevice, onDevice === spec ? {} : { rtol: 1e-4, atol: 2e-5 });
}

const KERNELS = ["attention", "attentionBackward"] as const;

interface SdpaCase {
  name: string;
  q: TSpec;
  k: TSpec;
  v: TSpec;
  mask: TSpec | null;
  isCausal: boolean;
  scale: number | null;
  up: TSpec;
  out: TSpec;
  gq: TSpec;
  gk: TSpec;
  gv: TSpec;
  gmask: TSpec | null;
}

function runSdpa(c: SdpaCase, maskGrad: boolean) {
  const q = fromSpec(c.q, { requiresGrad: true });
  const k = fromSpec(c.k, { requiresGrad: true });
  const v = fromSpec(c.v, { requiresGrad: true });
  const mask = c.mask ? fromSpec(c.mask, { requiresGrad: maskGrad && c.mask.dtype !== "bool" }) : null;
  const out = F.scaledDotProductAttention(q, k, v, { attnMask: mask, isCausal: c.isCausal, scale: c.scale });
  sum(mul(out, fromSpec(c.up))).backward();
  return { out, q, k, v, mask };
}

describeEachBackend("F.scaledDotProductAttention", (device) => {
  const paths = [
    ["default path", (f: () => void) => f()],
    ["composed path", (f: () => void) => withoutKernels(device, KERNELS, f)],
    ["fused forward, composed backward", (f: () => void) => withoutKernels(device, ["attentionBackward"], f)],
  ] as const;
  for (const c of fx.sdpa as SdpaCase[]) {
    for (const [path, run] of paths) {
      it(`${c.name} (${path}): output and gradients match PyTorch`, () => {
        run(() => {
          const r = runSdpa(c, false);
          expectClose(r.out, c.out);
          expectClose(r.q.grad as Tensor, c.gq);
          expectClose(r.k.grad as Tensor, c.gk);
          expectClose(r.v.grad as Tensor, c.gv);
        });
      }, 120_000);
    }
    if (c.gmask) {
      it(`${c.name}: a float mask that requires grad gets PyTorch's gradient`, () => {
        const r = runSdpa(c, true);
        expectClose(r.out, c.out);
        expectClose(r.mask?.grad as Tensor, c.gmask as TSpec);
      });
    }
  }

  it("uses the backend's fused kernels when it has them, and keeps no [..., L, S] weights", () => {
    manualSeed(0);
    const [B, H, L, E] = [2, 4, 128, 8];
    const q = randn([B, H, L, E]).requiresGrad_();
    const k = randn([B, H, L, E]).requiresGrad_();
    const v = randn([B, H, L, E]).requiresGrad_();
    const has = fusedTable(device).attention !== undefined;
    const backend = getBackend(device);
    const [kept, calls] = countingCalls(device, has ? KERNELS : [], () => {
      const before = backend.memory().bytes;
      const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
      const bytes = backend.memory().bytes - before;
      sum(out).backward();
      return bytes;
    });
    if (has) {
      expect(calls).toEqual({ attention: 1, attentionBackward: 1 });
      // The graph holds q, k, v (the caller's), the output and a [B, H, L] logsumexp: nothing of
      // size L * S (which would be 512 KiB here).
      expect(kept).toBeLessThanOrEqual(B * H * L * (E + 1) * 4);
    }
  });

  it("fused equals composed on larger, strided (permuted) inputs with every mask kind", ({ skip }) => {
    if (fusedTable(device).attention === undefined) skip("no fused attention kernel on this backend");
    manualSeed(5);
    const B = 2;
    const L = 300;
    const S = 260; // L * S > 65,536: the CPU kernel works in two row blocks
    const H = 3;
    const D = 8;
    // [B, L, H, D] permuted to [B, H, L, D]: what MultiheadAttention and GPT-style code pass.
    const perm = (t: Tensor) => t.permute([0, 2, 1, 3]);
    const q = randn([B, L, H, D]);
    const k = randn([B, S, H, D]);
    const v = randn([B, S, H, D]);
    for (const mask of [null, lt(rand([B, 1, L, S]), 0.8), randn([L, S]), "causal"] as const) {
      const f = (a: Tensor, b: Tensor, c: Tensor) =>
        F.scaledDotProductAttention(perm(a), perm(b), perm(c), mask === "causal" ? { isCausal: true } : { attnMask: mask });
      const g = randn([B, H, L, D]);
      const fused = outputAndGrads(f, [q, k, v], g);
      const composed = withoutKernels(device, KERNELS, () => outputAndGrads(f, [q, k, v], g));
      for (let i = 0; i < 4; i++) expectCloseArrays(fused[i] as number[], composed[i] as number[], `${mask === null ? "no mask" : "mask"} ${i}`, 2e-4);
    }
  });

  it("matmul over permuted 4-D views ([B, L, H, D] -> [B, H, L, D]) is one batched product, not one per batch stacked", () => {
    manualSeed(6);
    const q = randn([3, 7, 2, 4]).permute([0, 2, 1, 3]);
    const k = randn([3, 5, 2, 4]).permute([0, 2, 1, 3]);
    const backend = getBackend(device);
    const spy = vi.spyOn(backend, "matmul");
    try {
      const s = matmul(q, k.transpose(-2, -1));
      expect(s.shape).toEqual([3, 2, 7, 5]);
      expect(spy).toHaveBeenCalledTimes(1);
      const want = matmul(q.contiguous(), k.contiguous().transpose(-2, -1));
      expectCloseArrays(Array.from(s.dataSync()), Array.from(want.dataSync()), "scores", 1e-6);
    } finally {
      spy.mockRestore();
    }
  });

  it("fully masked rows give NaN, as PyTorch's math path (softmax over -inf)", () => {
    const q = randn([1, 3, 2]);
    const mask = fromHost([1, 1, 0, 0, 1, 0], [3, 2], { dtype: "bool" });
    const out = F.scaledDotProductAttention(q, randn([1, 2, 2]), randn([1, 2, 2]), { attnMask: mask });
    const d = Array.from(out.dataSync());
    expect(d.slice(0, 2).every(Number.isFinite)).toBe(true);
    expect(d.slice(2, 4).every(Number.isNaN)).toBe(true);
    expect(d.slice(4).every(Number.isFinite)).toBe(true);
  });

  it("dropoutP: p = 1 zeroes the output, p = 0.5 zeroes some weights and rescales the rest", () => {
    manualSeed(1);
    const q = randn([2, 8, 4]);
    const k = randn([2, 8, 4]);
    const v = randn([2, 8, 4]);
    const zero = F.scaledDotProductAttention(q, k, v, { dropoutP: 1 });
    expect(Array.from(zero.dataSync()).every((x) => x === 0)).toBe(true);
    const a = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
    const b = F.scaledDotProductAttention(q, k, v);
    expect(a.shape).toEqual(b.shape);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
  });

  it("rejects mismatched shapes, dtypes and a mask together with isCausal, naming the op", () => {
    const q = randn([2, 5, 4]);
    expect(() => F.scaledDotProductAttention(q, randn([2, 6, 3]), randn([2, 6, 4]))).toThrow(/scaledDotProductAttention.*same last dim/);
    expect(() => F.scaledDotProductAttention(q, randn([2, 6, 4]), randn([2, 7, 4]))).toThrow(/scaledDotProductAttention.*sequence length/);
    expect(() => F.scaledDotProductAttention(q, randn([2, 6, 4]), randn([2, 6, 4]), { attnMask: randn([4, 6]) })).toThrow(
      /scaledDotProductAttention.*cannot broadcast/,
    );
    expect(() => F.scaledDotProductAttention(q, randn([2, 6, 4]), randn([2, 6, 4]), { attnMask: randn([5, 6]), isCausal: true })).toThrow(
      /isCausal/,
    );
    expect(() => F.scaledDotProductAttention(q, randn([3, 6, 4]), randn([3, 6, 4]))).toThrow(/cannot broadcast/);
  });

  describe("gradcheck (float64)", () => {
    for (const causal of [false, true]) {
      it(`first and second order${causal ? ", causal" : ""}`, ({ skip }) => {
        if (!backendSupports(device, "float64")) skip("no float64 on this backend");
        manualSeed(2);
        const ins = [randn([2, 3, 4], { dtype: "float64" }), randn([2, 3, 4], { dtype: "float64" }), randn([2, 3, 2], { dtype: "float64" })].map((t) =>
          t.requiresGrad_(),
        );
        const mask = causal ? null : fromHost([1, 0, 1, 0, 1, 1, 1, 1, 0], [3, 3], { dtype: "bool" });
        const f = (q: Tensor, k: Tensor, v: Tensor) => F.scaledDotProductAttention(q, k, v, causal ? { isCausal: true } : { attnMask: mask });
        expect(gradcheck(f, ins)).toBe(true);
        expect(gradgradcheck(f, ins)).toBe(true);
      });
    }
  });
});

interface MhaCase {
  name: string;
  embedDim: number;
  numHeads: number;
  options: Record<string, unknown>;
  train: boolean;
  mode: "self" | "kv" | "cross";
  forward: { needWeights: boolean; averageAttnWeights: boolean };
  keys: string[];
  state: Record<string, TSpec>;
  inputs: TSpec[];
  attnMask: TSpec | null;
  keyPaddingMask: TSpec | null;
  up: TSpec;
  upWeights: TSpec | null;
  out: TSpec;
  weights: TSpec | null;
  gInputs: TSpec[];
  gparams: Record<string, TSpec>;
}

/** A MultiheadAttention with the fixture's PyTorch state dict loaded unchanged. */
function loadMha(c: MhaCase): MultiheadAttention {
  const m = new MultiheadAttention(c.embedDim, c.numHeads, c.options);
  if (onDefaultDevice(c.out).dtype === "float64") m.double();
  expect([...Object.keys(m.stateDict())]).toEqual(c.keys);
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromSpec(v)])));
  m.train(c.train);
  return m;
}

describeEachBackend("nn.MultiheadAttention", (device) => {
  for (const c of fx.mha as MhaCase[]) {
    for (const [path, run] of [
      ["default path", <T>(f: () => T) => f()],
      ["composed path", <T>(f: () => T) => withoutKernels(device, KERNELS, f)],
    ] as const) {
      if (path === "composed path" && c.forward.needWeights) continue; // weights never use the fused kernel
      it(`${c.name} (${path}): output, weights and gradients w.r.t. inputs and every parameter match PyTorch`, () => {
        run(() => {
          const m = loadMha(c);
          const ins = c.inputs.map((s) => fromSpec(s, { requiresGrad: true }));
          const [q, k, v] = c.mode === "self" ? [ins[0], ins[0], ins[0]] : c.mode === "kv" ? [ins[0], ins[1], ins[1]] : ins;
          const [out, w] = m.forward(q as Tensor, k as Tensor, v as Tensor, {
            ...c.forward,
            attnMask: c.attnMask ? fromSpec(c.attnMask) : null,
            keyPaddingMask: c.keyPaddingMask ? fromSpec(c.keyPaddingMask) : null,
          });
          expectClose(out, c.out);
          let loss = sum(mul(out, fromSpec(c.up)));
          if (c.weights) {
            expectClose(w as Tensor, c.weights);
            loss = add(loss, sum(mul(w as Tensor, fromSpec(c.upWeights as TSpec))));
          } else expect(w).toBeNull();
          loss.backward();
          ins.forEach((t, i) => expectClose(t.grad as Tensor, c.gInputs[i] as TSpec));
          for (const [name, p] of m.namedParameters()) expectClose(p.grad as Tensor, c.gparams[name] as TSpec);
        });
        // The gpu compiles its shaders on the first cases.
      }, 120_000);
    }
  }

  it("isCausal without a mask equals the explicit causal mask, with and without weights", () => {
    manualSeed(4);
    const m = new MultiheadAttention(8, 2, { batchFirst: true });
    const x = randn([2, 5, 8]);
    const mask = Transformer.generateSquareSubsequentMask(5);
    const [want] = m.forward(x, x, x, { attnMask: mask, needWeights: false });
    for (const needWeights of [false, true]) {
      const [got] = m.forward(x, x, x, { isCausal: true, needWeights });
      expectCloseArrays(Array.from(got.dataSync()), Array.from(want.dataSync()), `needWeights ${needWeights}`, 1e-5);
    }
  });

  it("PyTorch's parameter names, shapes and init", () => {
    const m = new MultiheadAttention(8, 2, { kdim: 4, vdim: 6, addBiasKv: true });
    const shapes = Object.fromEntries([...m.namedParameters()].map(([k, p]) => [k, [...p.shape]]));
    expect(shapes).toEqual({
      q_proj_weight: [8, 8],
      k_proj_weight: [8, 4],
      v_proj_weight: [8, 6],
      in_proj_bias: [24],
      bias_k: [1, 1, 8],
      bias_v: [1, 1, 8],
      "out_proj.weight": [8, 8],
      "out_proj.bias": [8],
    });
    expect(Array.from((m.in_proj_bias as Tensor).dataSync()).every((x) => x === 0)).toBe(true);
    expect(String(m)).toBe("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)");
  });

  it("rejects bad sizes and masks with errors that name the rule", () => {
    expect(() => new MultiheadAttention(10, 3)).toThrow(/embed_dim must be divisible by num_heads/);
    const m = new MultiheadAttention(8, 2);
    const x = randn([4, 2, 8]);
    expect(() => m.forward(randn([4, 2, 6]), x, x)).toThrow(/MultiheadAttention: query's last dim must be embed_dim=8/);
    expect(() => m.forward([[1]] as unknown as Tensor, x, x)).toThrow(/MultiheadAttention: argument 'query' must be a Tensor/);
    expect(() => m.forward(x, x, x, { attnMask: randn([3, 4]) })).toThrow(/2D attn_mask is \[3,4\], but should be \[4,4\]/);
    expect(() => m.forward(x, x, x, { keyPaddingMask: fromHost([0, 1], [1, 2], { dtype: "bool" }) })).toThrow(/key_padding_mask of shape \[2,4\]/);
  });
});
