/**
 * The LoRA fine-tune of examples/lora-gpt, browser-safe (no Node imports): a character-level
 * GPT2LMHeadModel, LoRA r 8 on c_attn, AdamW steps on random windows of a text, greedy samples, and
 * the adapter as PEFT's two files. Used by the page (src/page.ts) and by the Chromium test.
 */
import "@dl/autograd";
import { noGrad } from "@dl/autograd";
import { createGpuBackend } from "@dl/backend-gpu";
import { AdamW } from "@dl/optim";
import { getPeftModel, LoraConfig, type PeftModel } from "@dl/peft";
import { Generator, hasBackend, manualSeed, registerBackend, stack, type Tensor, tensor, tidy } from "@dl/tensor";
import { GPT2Config, GPT2LMHeadModel } from "@dl/transformers";
import "@dl/backend-cpu/register";

/** The character vocabulary of examples/lora-gpt (so its base checkpoint loads here). */
export const CHARS = "\n abcdefghijklmnopqrstuvwxyz.,;:'!?-";
const stoi = new Map([...CHARS].map((c, i) => [c, i]));
export const encode = (s: string): number[] => [...s.toLowerCase()].map((c) => stoi.get(c) ?? 1);
export const decode = (ids: readonly number[]): string => ids.map((i) => CHARS[i] ?? "?").join("");

export function useDevice(device: string): void {
  if (device === "gpu" && !hasBackend("gpu")) registerBackend(createGpuBackend());
}

/** A seeded tiny GPT-2 (the same weights on every device and in Node), when no checkpoint is served. */
export function seededBase(seed = 0): GPT2LMHeadModel {
  manualSeed(seed);
  const config = new GPT2Config({ vocabSize: CHARS.length, nPositions: 128, nEmbd: 32, nLayer: 2, nHead: 4, bosTokenId: 0, eosTokenId: 0 });
  return new GPT2LMHeadModel(config).eval();
}

export interface FineTuneOptions {
  base: GPT2LMHeadModel;
  text: string;
  device: string;
  steps: number;
  batchSize?: number;
  seqLen?: number;
  lr?: number;
  seed?: number;
  /** Called after every step (the page plots the loss). */
  onStep?: (step: number, loss: number) => void | Promise<void>;
}

export interface FineTuneResult {
  peft: PeftModel<GPT2LMHeadModel>;
  losses: number[];
  trainableLine: string;
}

/** LoRA (r 8, alpha 16, c_attn) on `base`, moved to `device`, trained `steps` AdamW steps on `text`. */
export async function fineTune(o: FineTuneOptions): Promise<FineTuneResult> {
  useDevice(o.device);
  const B = o.batchSize ?? 8;
  const T = o.seqLen ?? 32;
  const ids = Int32Array.from(encode(o.text));
  if (ids.length < T + 2) throw new Error(`the text is too short for windows of ${T + 1} characters`);
  const model = o.base.to(o.device);
  const peft = getPeftModel(
    model,
    new LoraConfig({ r: 8, loraAlpha: 16, targetModules: ["c_attn"], fanInFanOut: true, taskType: "CAUSAL_LM" }),
  );
  const trainableLine = peft.printTrainableParameters(() => {});
  const opt = new AdamW(peft.parameters(), { lr: o.lr ?? 1e-2, weightDecay: 0 });
  const gen = new Generator().manualSeed(o.seed ?? 0);
  const losses: number[] = [];
  peft.train();
  for (let step = 1; step <= o.steps; step++) {
    // Window starts from a seeded generator of their own, so every device sees the same batches.
    const starts = Array.from({ length: B }, () => Math.floor(gen.random() * (ids.length - T - 1)));
    const lossT = tidy(() => {
      const x = stack(starts.map((s) => tensor(Array.from(ids.subarray(s, s + T + 1)), { dtype: "int64", device: o.device })));
      opt.zeroGrad({ setToNone: true });
      const loss = peft.call(x, { labels: x }).loss as Tensor;
      loss.backward();
      opt.step();
      return loss.detach();
    });
    const loss = Number((await lossT.data())[0]);
    lossT.dispose();
    losses.push(loss);
    await o.onStep?.(step, loss);
  }
  peft.eval();
  return { peft, losses, trainableLine };
}

/** Greedy continuation of `prompt` (n characters). */
export async function sample(model: GPT2LMHeadModel, prompt: string, n: number, device: string): Promise<string> {
  const out = await noGrad(() =>
    model.generate(tensor([encode(prompt)], { dtype: "int64", device }), {
      maxNewTokens: n,
      doSample: false,
      eosTokenId: null,
      padTokenId: 0,
    }),
  );
  return decode(Array.from(await out.data(), Number));
}

/** The logits of a fixed probe sequence (the test compares the page's with Node's after reloading). */
export async function probeLogits(model: PeftModel<GPT2LMHeadModel> | GPT2LMHeadModel, device: string): Promise<number[]> {
  const x = tensor([encode("she said it was ")], { dtype: "int64", device });
  const logits = noGrad(() => model.call(x).logits);
  return Array.from(await logits.data(), Number);
}
