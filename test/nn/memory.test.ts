import "@dl/autograd";
import { CrossEntropyLoss, LSTM, Linear } from "@dl/nn";
import { getBackend, manualSeed, randint, randn, tidy } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

describeEachBackend("training loops do not leak storage", (device) => {
  it("LSTM + Linear + cross-entropy steps leave memory() flat", () => {
    manualSeed(0);
    const lstm = new LSTM(8, 16, { batchFirst: true, numLayers: 2 });
    const head = new Linear(16, 3);
    const lossFn = new CrossEntropyLoss();
    const params = [...lstm.parameters(), ...head.parameters()];
    const step = () =>
      tidy(() => {
        const x = randn(4, 6, 8);
        const y = randint(0, 3, [4]);
        const [out] = lstm.call(x);
        const logits = head.call((out as ReturnType<typeof randn>).select(1, -1));
        lossFn.call(logits, y).backward();
        for (const p of params) p.grad = null;
      });
    for (let i = 0; i < 3; i++) step();
    const backend = getBackend(device);
    const before = backend.memory();
    for (let i = 0; i < 20; i++) step();
    const after = backend.memory();
    expect(after.storages).toBe(before.storages);
    expect(after.bytes).toBe(before.bytes);
  });
});

describe("module state and scopes", () => {
  it("a model built inside tidy() keeps its parameters and buffers", async () => {
    const { BatchNorm1d } = await import("@dl/nn");
    const bn = tidy(() => new BatchNorm1d(3));
    expect(bn.running_mean?.isDisposed).toBe(false);
    expect(bn.weight?.isDisposed).toBe(false);
    tidy(() => bn.call(randn(4, 3)));
    expect(bn.running_mean?.tolist()).toHaveLength(3);
  });
});
