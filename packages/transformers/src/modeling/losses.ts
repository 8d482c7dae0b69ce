import { F } from "@dl/nn";
import { fmtShape, ShapeError, type Tensor } from "@dl/tensor";

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
