import { init, Linear } from "@dl/nn";
import { ArgumentError, arange, argmax, full, gather, mul, ne, type Tensor } from "@dl/tensor";
import { GPT2Config } from "../configuration/gpt2.js";
import type { SequenceClassifierOutput } from "./bert.js";
import { type GPT2ForwardOptions, GPT2Model, GPT2PreTrainedModel, type PastKeyValues } from "./gpt2.js";
import { sequenceClassificationLoss } from "./losses.js";
import { checkConfig } from "./modeling-utils.js";

export interface GPT2ClassificationOptions extends GPT2ForwardOptions {
  /** [B] class indices (int), [B] targets (regression, numLabels 1) or [B, numLabels] floats (multi-label). */
  labels?: Tensor | null;
}

/** transformers' SequenceClassifierOutputWithPast: the pooled logits [B, numLabels] and the cache. */
export interface SequenceClassifierOutputWithPast extends SequenceClassifierOutput {
  pastKeyValues: PastKeyValues | null;
}

/**
 * GPT-2 with a linear head `score` (no bias) read at each row's last token, as transformers'
 * GPT2ForSequenceClassification: a causal model has seen the whole sequence only there. The last
 * token is the last one whose id is not config.padTokenId (left or right padding), or the last
 * position when there is no pad token (then the batch must be 1) or inputsEmbeds are given.
 */
export class GPT2ForSequenceClassification extends GPT2PreTrainedModel {
  transformer: GPT2Model;
  score: Linear;

  constructor(config: GPT2Config) {
    super(checkConfig("GPT2ForSequenceClassification", config, GPT2Config));
    this.transformer = new GPT2Model(config);
    this.score = new Linear(config.nEmbd, config.numLabels, { bias: false });
    init.normal_(this.score.weight, 0, config.initializerRange);
  }

  override getInputEmbeddings() {
    return this.transformer.wte;
  }

  forward(inputIds: Tensor | null, options: GPT2ClassificationOptions = {}): SequenceClassifierOutputWithPast {
    const op = "GPT2ForSequenceClassification";
    const out = this.transformer.call(inputIds, options);
    const logits = this.score.call(out.lastHiddenState);
    const [B, T, n] = logits.shape as [number, number, number];
    const pad = this.config.padTokenId;
    if (pad === null && B !== 1) {
      throw new ArgumentError(
        op,
        `cannot find each row's last token of a batch of ${B} without a padding token: set config.pad_token_id (e.g. to the EOS id) or classify one sequence at a time`,
      );
    }
    // transformers' rule: argmax(arange(T) * (ids != pad)) is the rightmost non-pad position (0 if none).
    const last =
      pad !== null && inputIds
        ? argmax(mul(ne(inputIds, pad).to({ dtype: "int64" }), arange(T, { dtype: "int64", device: inputIds.device })), -1)
        : full([B], T - 1, { dtype: "int64", device: logits.device });
    const index = last.to({ device: logits.device }).reshape(B, 1, 1).expand(B, 1, n);
    const pooled = gather(logits, 1, index).reshape(B, n);
    const loss = options.labels ? sequenceClassificationLoss(pooled, options.labels, this.config) : null;
    return { loss, logits: pooled, pastKeyValues: out.pastKeyValues, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
}
