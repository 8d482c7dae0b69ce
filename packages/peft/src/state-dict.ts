import { noGrad } from "@dl/autograd";
import type { Module } from "@dl/nn";
import { DLError, fmtShape, ShapeError, type Tensor } from "@dl/tensor";
import type { PeftConfig } from "./config.js";
import { LoraLayer } from "./lora/layer.js";
import { ModulesToSaveWrapper } from "./modules-to-save.js";
import type { PrefixEncoder } from "./prefix-tuning.js";
import type { PromptEmbedding } from "./prompt-tuning.js";

/** What the state-dict functions need from a PeftModel. */
export interface PeftModelLike extends Module {
  readonly peftConfig: Readonly<Record<string, PeftConfig>>;
  promptEncoder(name: string): PromptEmbedding | PrefixEncoder | null;
}

/**
 * PEFT's _remove_adapter_name_from_state_dict_key: "x.lora_A.default.weight" → "x.lora_A.weight"
 * (only the segment right before the last one, so a module that happens to be called "default" is kept).
 */
export function removeAdapterName(key: string, adapterName: string): string {
  if (!key.includes(".")) return key;
  if (key.endsWith(`.${adapterName}`)) return key.slice(0, -adapterName.length - 1);
  const at = key.lastIndexOf(".");
  const head = key.slice(0, at);
  const stripped = head.endsWith(`.${adapterName}`) ? head.slice(0, -adapterName.length - 1) : head;
  return `${stripped}${key.slice(at)}`;
}

/** Model key → checkpoint key for every tensor adapter `name` saves (LoRA and modulesToSave). */
function adapterKeyMap(model: PeftModelLike, name: string): Map<string, string> {
  const config = model.peftConfig[name];
  if (!config) throw new DLError("getPeftModelStateDict", `adapter '${name}' does not exist`);
  const full = model.stateDict({ keepVars: true });
  const others = Object.keys(model.peftConfig).filter((n) => n !== name);
  const unwanted = (k: string) => others.some((o) => k.includes(`.${o}.`) || k.endsWith(`.${o}`));
  const map = new Map<string, string>(); // model key -> checkpoint key
  for (const [path, m] of model.namedModules()) {
    if (m instanceof LoraLayer) {
      for (const part of ["lora_A", "lora_B"]) {
        const prefix = `${path}.${part}.${name}.`;
        for (const k of Object.keys(full)) if (k.startsWith(prefix)) map.set(k, removeAdapterName(k, name));
      }
      if (config.peftType === "LORA" && config.bias === "lora_only" && `${path}.base_layer.bias` in full) {
        map.set(`${path}.base_layer.bias`, `${path}.base_layer.bias`);
      }
    } else if (m instanceof ModulesToSaveWrapper && m.adapterNames.includes(name)) {
      for (const k of Object.keys(m.modules_to_save.get(name).stateDict())) map.set(`${path}.modules_to_save.${name}.${k}`, `${path}.${k}`);
    }
  }
  if (config.peftType === "LORA" && config.bias === "all") {
    for (const k of Object.keys(full))
      if ((k === "bias" || k.endsWith(".bias")) && !unwanted(k) && !map.has(k)) map.set(k, removeAdapterName(k, name));
  }
  return map;
}

/**
 * The tensors an adapter saves, under PEFT's file keys (get_peft_model_state_dict):
 * `base_model.model.<path>.lora_A.weight` [r, in], `...lora_B.weight` [out, r], modulesToSave as
 * `<path>.<param>`, biases per the bias mode; prompt tuning's `prompt_embeddings`.
 */
export function getPeftModelStateDict(model: PeftModelLike, adapterName = "default"): Record<string, Tensor> {
  const config = model.peftConfig[adapterName];
  if (!config)
    throw new DLError(
      "getPeftModelStateDict",
      `adapter '${adapterName}' does not exist (have: ${Object.keys(model.peftConfig).join(", ")})`,
    );
  if (config.isPromptLearning) {
    const enc = model.promptEncoder(adapterName) as PromptEmbedding | PrefixEncoder;
    return { prompt_embeddings: enc.promptEmbeddings() };
  }
  const full = model.stateDict();
  const out: Record<string, Tensor> = {};
  for (const [mk, ck] of adapterKeyMap(model, adapterName)) out[ck] = full[mk] as Tensor;
  return out;
}

export interface SetStateDictOptions {
  /** Refuse missing and unexpected keys (default true); shape mismatches are always refused. */
  strict?: boolean;
}

/**
 * Loads adapter tensors saved under PEFT's keys into adapter `adapterName` (set_peft_model_state_dict),
 * inserting the adapter name back. Everything is checked before anything is written.
 */
export function setPeftModelStateDict(
  model: PeftModelLike,
  stateDict: Record<string, Tensor>,
  adapterName = "default",
  options: SetStateDictOptions = {},
): { missingKeys: string[]; unexpectedKeys: string[] } {
  const op = "setPeftModelStateDict";
  const config = model.peftConfig[adapterName];
  if (!config) throw new DLError(op, `adapter '${adapterName}' does not exist`);
  const strict = options.strict ?? true;
  const targets = new Map<string, Tensor>(); // checkpoint key -> tensor to fill
  if (config.isPromptLearning) {
    // PEFT loads prompt_embeddings into the encoder's embedding (a projected prefix loads for inference only).
    const enc = model.promptEncoder(adapterName) as PromptEmbedding | PrefixEncoder;
    targets.set("prompt_embeddings", enc.embedding.weight);
  } else {
    const own = model.stateDict({ keepVars: true });
    for (const [mk, ck] of adapterKeyMap(model, adapterName)) targets.set(ck, own[mk] as Tensor);
  }
  const missingKeys = [...targets.keys()].filter((k) => !(k in stateDict));
  const unexpectedKeys = Object.keys(stateDict).filter((k) => !targets.has(k));
  const problems: string[] = [];
  if (strict && missingKeys.length) problems.push(`missing adapter key(s): ${missingKeys.join(", ")}`);
  if (strict && unexpectedKeys.length)
    problems.push(`unexpected key(s) (not part of this ${config.peftType} adapter): ${unexpectedKeys.join(", ")}`);
  if (problems.length) throw new DLError(op, `the adapter weights do not fit the model:\n\t${problems.join("\n\t")}`);
  const shapes: string[] = [];
  for (const [k, t] of targets) {
    const v = stateDict[k];
    if (v && (v.shape.length !== t.shape.length || v.shape.some((s, i) => s !== t.shape[i]))) {
      shapes.push(`${k}: the file has ${fmtShape(v.shape)}, the model expects ${fmtShape(t.shape)}`);
    }
  }
  if (shapes.length)
    throw new ShapeError(op, `size mismatch (is r, the target list or the base model different?):\n\t${shapes.join("\n\t")}`);
  noGrad(() => {
    for (const [k, t] of targets) {
      const v = stateDict[k];
      if (v) t.copy_(v);
    }
  });
  return { missingKeys, unexpectedKeys };
}
