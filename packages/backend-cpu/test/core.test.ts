import { add, DLError, type FusedKernels, mul, randn, registerBackend, relu, softmax, sum, tanh, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import {
  attachKernels,
  binaryKernels,
  convKernels,
  copyKernels,
  gatherKernels,
  layerNormKernels,
  matmulKernels,
  optimizerKernels,
  plainUnaryKernels,
  poolKernels,
  reduceKernels,
  softmaxKernels,
  sortKernels,
  unaryKernels,
  whereKernels,
  attentionKernels,
  rnnKernels,
} from "../src/core.js";

// This file imports only the @dl/backend-cpu/core entry (vitest isolates test files), so the cpu
// backend starts without kernels, as in a bundle that names only the groups it uses.

describe("@dl/backend-cpu/core: kernels attached in groups", () => {
  it("with binaryKernels alone, add runs and sum says which group it needs", () => {
    registerBackend(attachKernels(binaryKernels));
    expect(Array.from(add(tensor([1, 2, 3]), tensor([4, 5, 6])).dataSync())).toEqual([5, 7, 9]);
    expect(String(mul(tensor([1.5, 2]), 2))).toBe("tensor([3., 4.])");
    const attempt = () => sum(tensor([1, 2, 3]));
    expect(attempt).toThrow(DLError);
    expect(attempt).toThrow(/^reduce: the cpu backend has no 'reduce' kernel: .*without reduceKernels \(attachKernels\(reduceKernels\) adds it/);
  });

  it("attaching a group later adds its kernels to the same backend", () => {
    const before = attachKernels();
    expect(attachKernels(reduceKernels)).toBe(before);
    expect(sum(tensor([1, 2, 3])).item()).toBe(6);
  });

  it("softmax takes the composed path until softmaxKernels is attached, with the same values", () => {
    const backend = attachKernels(unaryKernels, whereKernels);
    expect(backend.fused?.softmax).toBeUndefined();
    const x = randn(4, 7);
    const composed = Array.from(softmax(x, -1).dataSync());
    attachKernels(softmaxKernels);
    expect(backend.fused?.softmax).toBeTypeOf("function");
    const fused = Array.from(softmax(x, -1).dataSync());
    for (let i = 0; i < fused.length; i++) expect(fused[i]).toBeCloseTo(composed[i] as number, 6);
  });

  it("plainUnaryKernels runs float32 tanh by the JS loop (Math.tanh rounded) and the rest as unaryKernels", () => {
    const x = mul(randn(5000), 4);
    const reference = Array.from(x.dataSync(), (v) => Math.fround(Math.tanh(v)));
    attachKernels(unaryKernels);
    const simd = Array.from(tanh(x).dataSync());
    const simdRelu = Array.from(relu(x).dataSync());
    attachKernels(plainUnaryKernels);
    expect(Array.from(tanh(x).dataSync())).toEqual(reference);
    expect(Array.from(relu(x).dataSync())).toEqual(simdRelu);
    // Either way within float32 rounding of the reference (the SIMD polynomial is within 1 ulp).
    for (let i = 0; i < simd.length; i++) expect(Math.abs((simd[i] as number) - (reference[i] as number))).toBeLessThanOrEqual(2 ** -23);
    attachKernels(unaryKernels);
  });

  it("the main entry is the same object with every primitive and fused kernel", async () => {
    const core = attachKernels();
    const { cpuBackend } = await import("../src/index.js");
    expect(cpuBackend).toBe(core);
    const groups = [
      copyKernels,
      binaryKernels,
      unaryKernels,
      whereKernels,
      reduceKernels,
      sortKernels,
      matmulKernels,
      gatherKernels,
      softmaxKernels,
      layerNormKernels,
      convKernels,
      poolKernels,
      optimizerKernels,
      attentionKernels,
      rnnKernels,
    ];
    for (const { fused, ...primitives } of groups) {
      for (const [name, kernel] of Object.entries(primitives)) expect((cpuBackend as unknown as Record<string, unknown>)[name], name).toBe(kernel);
      for (const [name, kernel] of Object.entries(fused ?? {})) expect(cpuBackend.fused?.[name as keyof FusedKernels], name).toBe(kernel);
    }
    // Every fused kernel of the full backend belongs to a group (so a modular bundle can attach it).
    const grouped = new Set(groups.flatMap((g) => Object.keys(g.fused ?? {})));
    expect(Object.keys(cpuBackend.fused ?? {}).filter((k) => !grouped.has(k))).toEqual([]);
  });
});
