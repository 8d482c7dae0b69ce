import "@dl/autograd";
import { MSELoss, type Module } from "@dl/nn";
import { LoraConfig, type PeftModel, getPeftModel } from "@dl/peft";
import { AdamW } from "@dl/optim";
import { type Tensor, getBackend, manualSeed, randn, tidy } from "@dl/tensor";
import { afterEach, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { Gpt2Shaped } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

afterEach(() => vi.restoreAllMocks());

/** Bytes held by gradients and optimizer state after a step: what training adds on top of the weights. */
function trainingStateBytes(model: Module, opt: AdamW): number {
  let n = 0;
  for (const p of model.parameters()) if (p.grad) n += p.grad.numel() * p.grad.elementSize();
  for (const s of opt.state.values()) for (const v of Object.values(s)) if (v && typeof v === "object" && "numel" in v) n += (v as Tensor).numel() * (v as Tensor).elementSize();
  return n;
}

describeEachBackend("training a LoRA adapter", (device) => {
  it("only adapter weights get gradients and optimizer state; the base stays as it was; the loss falls", () => {
    manualSeed(0);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const teacher = new Gpt2Shaped(8, 5);
    const student = new Gpt2Shaped(8, 5);
    const peft = getPeftModel(student, new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["c_attn", "c_fc"] }));
    const frozen = Object.fromEntries(Object.entries(student.stateDict()).filter(([k]) => !k.includes("lora_")).map(([k, v]) => [k, v.clone()]));
    const opt = new AdamW(peft.parameters(), { lr: 2e-2 });
    const lossFn = new MSELoss();
    const x = randn(16, 3, 8);
    const y = teacher.call(x).detach();
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      opt.zeroGrad();
      const loss = lossFn.call(peft.call(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expect(losses[39] as number).toBeLessThan((losses[0] as number) * 0.7);
    const adapter = [...peft.namedParameters()].filter(([n]) => n.includes("lora_"));
    expect(adapter.length).toBe(8);
    for (const [n, p] of peft.namedParameters()) expect(p.grad !== null, n).toBe(n.includes("lora_"));
    expect(opt.state.size).toBe(8);
    for (const [, p] of adapter) expect(opt.state.has(p)).toBe(true);
    for (const [k, v] of Object.entries(student.stateDict())) {
      if (!k.includes("lora_")) expect(Array.from(v.dataSync()), k).toEqual(Array.from((frozen[k] as Tensor).dataSync()));
    }
    expect(getBackend(device).name).toBe(device);
  });

  it("a LoRA step holds far less gradient and optimizer memory than full fine-tuning, and leaks nothing", () => {
    manualSeed(1);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const lossFn = new MSELoss();
    const run = (model: Module, params: Iterable<Tensor>) => {
      const opt = new AdamW(params as never, { lr: 1e-3 });
      const x = randn(4, 6, 32);
      const target = randn(4, 6, 11);
      const step = () =>
        tidy(() => {
          opt.zeroGrad({ setToNone: true });
          lossFn.call(model.call(x as never) as Tensor, target).backward();
          opt.step();
        });
      step();
      const backend = getBackend(device);
      const before = backend.memory();
      for (let i = 0; i < 3; i++) step();
      const after = backend.memory();
      return { state: trainingStateBytes(model, opt), leaked: after.bytes - before.bytes };
    };
    const fullModel = new Gpt2Shaped(32, 11);
    const fullRun = run(fullModel, fullModel.parameters());
    const peft: PeftModel = getPeftModel(new Gpt2Shaped(32, 11), new LoraConfig({ r: 4, targetModules: ["c_attn"] }));
    const lora = run(peft, peft.parameters());
    expect(fullRun.leaked).toBe(0);
    expect(lora.leaked).toBe(0);
    // full: grads + 2 Adam moments for every weight; LoRA: only for A [4, 32] and B [96, 4] per layer
    const weights = [...fullModel.parameters()].reduce((s, p) => s + p.numel() * 4, 0);
    expect(fullRun.state).toBe(3 * weights);
    expect(lora.state).toBe(3 * 2 * (4 * 32 + 96 * 4) * 4);
    expect(lora.state).toBeLessThan(fullRun.state / 20);
  });
});

