import { F } from "@dl/nn";
import { fmtShape, isFloating, ShapeError, type Tensor } from "@dl/tensor";
import type { PretrainedConfig } from "../configuration/configuration-utils.js";

/**
 * Hugging Face's causal LM loss: cross-entropy of logits[:, :-1] against labels[:, 1:] (the model
 * predicts the next token), mean over the tokens whose label is not -100.
 */
export function causalLmLoss(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
    throw new ShapeError(
      "causalLmLoss",
      `labels must be [batch, seq] = [${B}, ${T}] like the logits ${fmtShape(logits.shape)}, got ${fmtShape(labels.shape)}`,
    );
  }
  const shiftLogits = logits.narrow(1, 0, T - 1).reshape(-1, V);
  const shiftLabels = labels
    .narrow(1, 1, T - 1)
    .reshape(-1)
    .to({ dtype: "int64", device: logits.device });
  return F.crossEntropy(shiftLogits, shiftLabels, { ignoreIndex });
}

/** Masked-LM / token-classification loss: cross-entropy over every position, ignoring -100. */
export function tokenLoss(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const V = logits.shape[logits.ndim - 1] as number;
  if (labels.numel() * V !== logits.numel()) {
    throw new ShapeError(
      "tokenLoss",
      `labels ${fmtShape(labels.shape)} do not match the logits ${fmtShape(logits.shape)} (one label per position)`,
    );
  }
  return F.crossEntropy(logits.reshape(-1, V), labels.reshape(-1).to({ dtype: "int64", device: logits.device }), { ignoreIndex });
}

/**
 * transformers' sequence-classification loss (ForSequenceClassificationLoss) on logits [B, numLabels]:
 * problem_type is inferred once from the labels and stored in the config (regression for one label,
 * single-label for integer labels, multi-label otherwise), then MSE, cross-entropy or BCE-with-logits.
 */
export function sequenceClassificationLoss(logits: Tensor, labels: Tensor, config: PretrainedConfig): Tensor {
  const n = config.numLabels;
  if (config.problemType === null) {
    config.problemType = n === 1 ? "regression" : !isFloating(labels.dtype) ? "single_label_classification" : "multi_label_classification";
  }
  const y = labels.to({ device: logits.device });
  if (config.problemType === "regression") {
    return F.mseLoss(n === 1 ? logits.reshape(-1) : logits, (n === 1 ? y.reshape(-1) : y).to({ dtype: logits.dtype }));
  }
  if (config.problemType === "single_label_classification") {
    return F.crossEntropy(logits.reshape(-1, n), y.reshape(-1).to({ dtype: "int64" }));
  }
  return F.binaryCrossEntropyWithLogits(logits, y.to({ dtype: logits.dtype }));
}
