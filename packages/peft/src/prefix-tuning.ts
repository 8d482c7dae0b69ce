import { Embedding, Linear, Module, Sequential, Tanh } from "@dl/nn";
import { ArgumentError, arange, type Tensor } from "@dl/tensor";
import type { PrefixTuningConfig } from "./config.js";

/**
 * PEFT's PrefixEncoder: the trainable key/value prefix of every layer. `embedding` is
 * [numVirtualTokens, numLayers·2·tokenDim]; with prefixProjection (while training) it is
 * [numVirtualTokens, tokenDim] followed by `transform` = Linear(tokenDim, encoderHiddenSize), Tanh,
 * Linear(encoderHiddenSize, numLayers·2·tokenDim).
 */
export class PrefixEncoder extends Module {
  embedding: Embedding;
  transform: Sequential | null = null;
  readonly prefixProjection: boolean;

  constructor(config: PrefixTuningConfig, options: { dtype?: "float32" | "float64"; device?: string } = {}) {
    super();
    const { numVirtualTokens: n, tokenDim: d, numLayers: L } = config;
    if (d === null || L === null)
      throw new ArgumentError(
        "PrefixEncoder",
        "prefix tuning needs tokenDim and numLayers (taken from the model's config when it has one)",
      );
    this.prefixProjection = config.prefixProjection && !config.inferenceMode;
    if (this.prefixProjection) {
      const h = config.encoderHiddenSize ?? d;
      this.embedding = new Embedding(n, d, options);
      this.transform = new Sequential(new Linear(d, h, options), new Tanh(), new Linear(h, L * 2 * d, options));
    } else {
      this.embedding = new Embedding(n, L * 2 * d, options);
    }
  }

  forward(prefix: Tensor): Tensor {
    const e = this.embedding.call(prefix);
    return this.transform ? (this.transform.call(e) as Tensor) : e;
  }

  /** The prefix as saved (`prompt_embeddings` [numVirtualTokens, numLayers·2·tokenDim]). */
  promptEmbeddings(): Tensor {
    const n = this.embedding.weight.shape[0] as number;
    return this.forward(arange(n, { dtype: "int64", device: this.embedding.weight.device })).detach();
  }

  /** The weight that `prompt_embeddings` loads into (the projection is not saved, as in PEFT). */
  get savedWeight(): Tensor {
    return this.embedding.weight;
  }
}

/**
 * PEFT's get_prompt for prefix tuning: [B, n, L·2·d] viewed [B, n, 2L, H, d/H], permuted to
 * [2L, B, H, n, d/H], split in pairs: per layer a (key, value) of [B, H, n, headDim], the
 * Hugging Face KV-cache layout.
 */
export function prefixPastKeyValues(enc: PrefixEncoder, config: PrefixTuningConfig, batch: number): [Tensor, Tensor][] {
  const n = config.numVirtualTokens;
  const L = config.numLayers as number;
  const H = config.numAttentionHeads as number;
  const d = config.tokenDim as number;
  const w = enc.embedding.weight;
  const ids = arange(n, { dtype: "int64", device: w.device }).unsqueeze(0).expand([batch, n]);
  const kv = enc
    .call(ids)
    .view(batch, n, L * 2, H, d / H)
    .permute(2, 0, 3, 1, 4);
  const out: [Tensor, Tensor][] = [];
  for (let i = 0; i < L; i++) out.push([kv.select(0, 2 * i), kv.select(0, 2 * i + 1)]);
  return out;
}
