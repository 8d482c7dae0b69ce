import { noGrad } from "@dl/autograd";
import { Embedding, Module } from "@dl/nn";
import { ArgumentError, arange, indexSelect, randint, type Tensor, tensor } from "@dl/tensor";
import type { PromptTuningConfig } from "./config.js";

/** Anything with encode(text): an @huggingface/tokenizers Tokenizer, or a function-like wrapper. */
export interface TokenizerLike {
  encode(text: string): number[] | { ids: number[] } | { input_ids: number[] } | { inputIds: number[] };
}

export function tokenIds(tokenizer: TokenizerLike, text: string): number[] {
  const r = tokenizer.encode(text) as unknown;
  if (Array.isArray(r)) return r as number[];
  const o = r as Record<string, unknown>;
  const ids = o.ids ?? o.input_ids ?? o.inputIds;
  if (!Array.isArray(ids)) throw new ArgumentError("PromptEmbedding", "tokenizer.encode(text) must return token ids (number[] or { ids })");
  return ids as number[];
}

/**
 * PEFT's PromptEmbedding: `embedding` [numVirtualTokens · numTransformerSubmodules, tokenDim], the
 * trainable soft prompt. RANDOM keeps nn.Embedding's N(0, 1) init; TEXT copies the word embeddings
 * of the init text's tokens (cut, or repeated, to the prompt length); SAMPLE_VOCAB of random tokens.
 */
export class PromptEmbedding extends Module {
  embedding: Embedding;

  constructor(config: PromptTuningConfig, wordEmbeddings: Embedding, options: { tokenizer?: TokenizerLike } = {}) {
    super();
    const total = config.numVirtualTokens * (config.numTransformerSubmodules ?? 1);
    const w = wordEmbeddings.weight;
    this.embedding = new Embedding(total, config.tokenDim ?? (w.shape[1] as number), {
      dtype: w.dtype as "float32" | "float64",
      device: w.device,
    });
    let ids: number[] | null = null;
    if (config.promptTuningInit === "TEXT" && !config.inferenceMode) {
      if (!options.tokenizer) {
        throw new ArgumentError("PromptEmbedding", "promptTuningInit TEXT needs a tokenizer: getPeftModel(model, config, { tokenizer })");
      }
      const text = tokenIds(options.tokenizer, config.promptTuningInitText as string);
      if (text.length === 0) throw new ArgumentError("PromptEmbedding", "promptTuningInitText encodes to no tokens");
      ids = [];
      while (ids.length < total) ids.push(...text);
      ids = ids.slice(0, total);
    } else if (config.promptTuningInit === "SAMPLE_VOCAB" && !config.inferenceMode) {
      ids = Array.from(randint(0, w.shape[0] as number, [total]).dataSync(), Number);
    }
    if (ids) {
      const vocab = w.shape[0] as number;
      const bad = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= vocab);
      if (bad !== undefined) throw new ArgumentError("PromptEmbedding", `token id ${bad} is outside the word embeddings' ${vocab} rows`);
      const rows = indexSelect(wordEmbeddings.weight.detach(), 0, tensor(ids, { dtype: "int64", device: w.device }));
      noGrad(() => this.embedding.weight.copy_(rows));
    }
  }

  forward(indices: Tensor): Tensor {
    return this.embedding.call(indices);
  }

  /** The soft prompt as saved (`prompt_embeddings`): every virtual token's embedding. */
  promptEmbeddings(): Tensor {
    const n = this.embedding.weight.shape[0] as number;
    return this.forward(arange(n, { dtype: "int64", device: this.embedding.weight.device })).detach();
  }
}
