import { noGrad } from "@dl/autograd";
import { loadSafetensors, Module, type Parameter, save } from "@dl/nn";
import { ArgumentError, DLError, fmtShape, ShapeError, type Tensor } from "@dl/tensor";
import type { PretrainedConfig } from "../configuration/configuration-utils.js";
import { type ModelFiles, type PretrainedSource, resolveSource, resolveTarget, type SaveTarget } from "../hub/source.js";

export const CONFIG_NAME = "config.json";
export const SAFE_WEIGHTS_NAME = "model.safetensors";
export const SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json";

export interface FromPretrainedOptions<C extends PretrainedConfig = PretrainedConfig> {
  /** Use this config instead of the source's config.json. */
  config?: C;
  /** Overrides applied to the loaded config (Hugging Face's from_pretrained(..., **kwargs)). */
  configOverrides?: Record<string, unknown>;
  /** Parameter dtype after loading (default: float32, as transformers' default torch_dtype). */
  dtype?: "float32" | "float64";
  /** Device for the model (default: the default device). */
  device?: string;
  /**
   * Keys of the model that the checkpoint lacks are an error, except tied weights and a task head
   * the checkpoint never had (newly initialized, with a warning as transformers gives). With
   * strict false, any missing key only warns.
   */
  strict?: boolean;
  /** Re-initialize (with a warning) weights whose shape differs instead of failing (transformers' option). */
  ignoreMismatchedSizes?: boolean;
  /** Receives the warnings (default console.warn). */
  warn?: (message: string) => void;
}

export interface LoadReport {
  /** Model keys the checkpoint did not have (newly initialized or tied). */
  missingKeys: string[];
  /** Checkpoint keys the model has no use for (dropped). */
  unexpectedKeys: string[];
  /** Keys re-initialized because of ignoreMismatchedSizes. */
  mismatchedKeys: string[];
}

export interface SavePretrainedOptions {
  /** Largest shard in bytes before the weights are split (default 5 GB, as transformers). */
  maxShardSize?: number;
}

/** Subclasses (GPT2LMHeadModel, BertModel, ...) register how they are built. */
export interface PreTrainedModelClass<M extends PreTrainedModel = PreTrainedModel, C extends PretrainedConfig = PretrainedConfig> {
  new (config: C): M;
  configClass: { new (o?: Record<string, unknown>): C; fromDict(d: Record<string, unknown>): C };
  baseModelPrefix: string;
  name: string;
}

/**
 * Base of the Hugging Face models (transformers' PreTrainedModel): a Module with a config,
 * fromPretrained / savePretrained, tied weights and gradient checkpointing.
 */
export abstract class PreTrainedModel extends Module {
  /** The attribute name of the base model in task models ("transformer" for GPT-2, "bert" for BERT). */
  static baseModelPrefix = "";
  /** Checkpoint keys to drop silently (buffers older files carry), as regular expressions. */
  static keysToIgnoreOnLoadUnexpected: RegExp[] = [];
  static configClass: PreTrainedModelClass["configClass"];

  /** Whether blocks recompute their activations in backward (see gradientCheckpointingEnable). */
  gradientCheckpointing = false;

  constructor(readonly config: PretrainedConfig) {
    super();
  }

  /** The input embedding (wte / word_embeddings), for tying. */
  getInputEmbeddings(): Module | null {
    return null;
  }

  /** The output projection (lm_head / decoder), tied to the input embedding when config.tieWordEmbeddings. */
  getOutputEmbeddings(): { weight: Parameter | Tensor } | null {
    return null;
  }

  /** Shares the output projection's weight with the input embedding (transformers' tie_weights). */
  tieWeights(): void {
    const out = this.getOutputEmbeddings();
    const inp = this.getInputEmbeddings() as unknown as { weight: Parameter } | null;
    if (out && inp && this.config.tieWordEmbeddings) (out as { weight: Parameter }).weight = inp.weight;
  }

  /** Turns on activation checkpointing in the blocks (training recomputes them in backward). */
  gradientCheckpointingEnable(): this {
    this.gradientCheckpointing = true;
    for (const m of this.modules()) if (m instanceof PreTrainedModel) m.gradientCheckpointing = true;
    return this;
  }

  gradientCheckpointingDisable(): this {
    for (const m of this.modules()) if (m instanceof PreTrainedModel) m.gradientCheckpointing = false;
    return this;
  }

  /**
   * Loads a model from Hugging Face files: config.json and model.safetensors (or a sharded
   * model.safetensors.index.json). `source` is a directory path (Node), a URL base, or an object of
   * { fileName: contents }.
   */
  static async fromPretrained<M extends PreTrainedModel, C extends PretrainedConfig>(
    this: PreTrainedModelClass<M, C>,
    source: PretrainedSource | ModelFiles,
    options: FromPretrainedOptions<C> = {},
  ): Promise<M> {
    const files = resolveSource("fromPretrained", source);
    let config = options.config;
    if (!config) {
      const dict = (await files.json(CONFIG_NAME)) as Record<string, unknown> | null;
      if (dict === null) throw new DLError("fromPretrained", `no ${CONFIG_NAME} in ${files.description}`);
      // biome-ignore lint/complexity/noThisInStatic: the subclass's config class
      config = this.configClass.fromDict({ ...dict, ...(options.configOverrides ?? {}) });
    }
    const model = new this(config);
    if (options.dtype === "float64") model.to("float64");
    if (options.device) model.to({ device: options.device });
    const weights = await readWeights(files);
    try {
      loadPretrainedWeights(model, weights, options);
    } finally {
      // The checkpoint's tensors were copied into the parameters: free them now, not at GC time.
      for (const t of weights.tensors.values()) t.dispose();
    }
    model.eval();
    return model;
  }

  /**
   * Writes config.json and model.safetensors (metadata {"format": "pt"}, tied weights stored once)
   * that transformers' from_pretrained loads; large models are sharded with an index as transformers does.
   */
  async savePretrained(target: SaveTarget, options: SavePretrainedOptions = {}): Promise<void> {
    const write = resolveTarget("savePretrained", target);
    const config = this.config;
    if (!config.architectures || config.architectures.length === 0 || config.architectures[0] !== this.constructor.name) {
      config.architectures = [this.constructor.name];
    }
    if (config.torchDtype === null) config.torchDtype = this.dtypeName();
    await write(CONFIG_NAME, config.toJsonString());
    const sd = this.stateDict();
    const seen = new Set<unknown>();
    const own = this.stateDict({ keepVars: true });
    const tensors: [string, Tensor][] = [];
    for (const [k, t] of Object.entries(sd)) {
      // Shared (tied) tensors are stored once, under their first name, as safetensors requires.
      const id = own[k];
      if (seen.has(id)) continue;
      seen.add(id);
      tensors.push([k, t]);
    }
    const maxShard = options.maxShardSize ?? 5e9;
    const shards: [string, Tensor][][] = [[]];
    let size = 0;
    for (const e of tensors) {
      const bytes = e[1].numel() * e[1].elementSize();
      if (size > 0 && size + bytes > maxShard) {
        shards.push([]);
        size = 0;
      }
      (shards[shards.length - 1] as [string, Tensor][]).push(e);
      size += bytes;
    }
    const metadata = { format: "pt" };
    const toBytes = async (entries: [string, Tensor][]) =>
      new Uint8Array(await (await save(new Map(entries), undefined, { metadata })).arrayBuffer());
    if (shards.length === 1) {
      await write(SAFE_WEIGHTS_NAME, await toBytes(shards[0] as [string, Tensor][]));
      return;
    }
    const weightMap: Record<string, string> = {};
    let total = 0;
    for (const [i, shard] of shards.entries()) {
      const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
      for (const [k, t] of shard) {
        weightMap[k] = name;
        total += t.numel() * t.elementSize();
      }
      await write(name, await toBytes(shard));
    }
    await write(SAFE_WEIGHTS_INDEX_NAME, `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  }

  private dtypeName(): string {
    for (const p of this.parameters()) return p.dtype;
    return "float32";
  }
}

/** The checkpoint's tensors and the file each came from. */
export interface Weights {
  tensors: Map<string, Tensor>;
  fileOf: Map<string, string>;
}

/** Reads model.safetensors, or the shards a model.safetensors.index.json names. */
export async function readWeights(files: ModelFiles): Promise<Weights> {
  const tensors = new Map<string, Tensor>();
  const fileOf = new Map<string, string>();
  const readFile = async (name: string) => {
    const bytes = await files.bytes(name);
    if (bytes === null) throw new DLError("fromPretrained", `${files.location(name)} does not exist`);
    let loaded: Record<string, Tensor>;
    try {
      loaded = loadSafetensors(bytes).tensors;
    } catch (e) {
      throw new DLError("fromPretrained", `${files.location(name)}: ${(e as Error).message}`);
    }
    for (const [k, t] of Object.entries(loaded)) {
      tensors.set(k, t);
      fileOf.set(k, files.location(name));
    }
  };
  const single = await files.bytes(SAFE_WEIGHTS_NAME);
  if (single !== null) {
    const { tensors: t } = (() => {
      try {
        return loadSafetensors(single);
      } catch (e) {
        throw new DLError("fromPretrained", `${files.location(SAFE_WEIGHTS_NAME)}: ${(e as Error).message}`);
      }
    })();
    for (const [k, v] of Object.entries(t)) {
      tensors.set(k, v);
      fileOf.set(k, files.location(SAFE_WEIGHTS_NAME));
    }
    return { tensors, fileOf };
  }
  const index = (await files.json(SAFE_WEIGHTS_INDEX_NAME)) as { weight_map?: Record<string, string> } | null;
  if (index === null) {
    const bin = (await files.bytes("pytorch_model.bin")) !== null;
    throw new DLError(
      "fromPretrained",
      `no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME} in ${files.description}` +
        (bin
          ? " (only pytorch_model.bin, a pickle: convert it to safetensors in Python with model.save_pretrained(dir, safe_serialization=True))"
          : ""),
    );
  }
  if (typeof index.weight_map !== "object" || index.weight_map === null) {
    throw new DLError("fromPretrained", `${files.location(SAFE_WEIGHTS_INDEX_NAME)} has no "weight_map" object`);
  }
  for (const shard of new Set(Object.values(index.weight_map))) await readFile(shard);
  for (const [k, f] of Object.entries(index.weight_map)) {
    if (!tensors.has(k))
      throw new DLError("fromPretrained", `${files.location(SAFE_WEIGHTS_INDEX_NAME)} maps '${k}' to ${f}, which has no such tensor`);
  }
  return { tensors, fileOf };
}

/** Renames legacy keys: LayerNorm.gamma/.beta (TF-converted BERT files) -> weight/bias. */
function renameLegacy(key: string): string {
  return key.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}

/**
 * Copies checkpoint tensors into the model, Hugging Face's way: legacy names renamed, the base
 * model prefix added or removed as the checkpoint needs, known buffers dropped, tied weights allowed
 * missing. Every key is checked before anything is copied.
 */
export function loadPretrainedWeights(model: PreTrainedModel, weights: Weights, options: FromPretrainedOptions = {}): LoadReport {
  const op = "fromPretrained";
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const ctor = model.constructor as typeof PreTrainedModel;
  const prefix = ctor.baseModelPrefix;
  const own = model.stateDict({ keepVars: true });
  const expected = new Set(Object.keys(own));
  const modelHasPrefix = prefix !== "" && [...expected].some((k) => k.startsWith(`${prefix}.`));
  const given = new Map<string, { tensor: Tensor; file: string; original: string }>();
  const unexpectedKeys: string[] = [];
  for (const [raw, tensor] of weights.tensors) {
    let k = renameLegacy(raw);
    if (!expected.has(k) && prefix) {
      if (modelHasPrefix && expected.has(`${prefix}.${k}`)) k = `${prefix}.${k}`;
      else if (!modelHasPrefix && k.startsWith(`${prefix}.`) && expected.has(k.slice(prefix.length + 1))) k = k.slice(prefix.length + 1);
    }
    if (!expected.has(k)) {
      if (!ctor.keysToIgnoreOnLoadUnexpected.some((re) => re.test(raw))) unexpectedKeys.push(raw);
      continue;
    }
    given.set(k, { tensor, file: weights.fileOf.get(raw) ?? "?", original: raw });
  }
  // A parameter shared by several keys (tied embeddings) is loaded when any of its keys is.
  const loadedObjects = new Set<unknown>([...given.keys()].map((k) => own[k]));
  const missingKeys = [...expected].filter((k) => !given.has(k));
  const untied = missingKeys.filter((k) => !loadedObjects.has(own[k]));
  const mismatchedKeys: string[] = [];
  const mismatches: string[] = [];
  for (const [k, { tensor, file, original }] of given) {
    const target = own[k] as Tensor;
    const same = tensor.ndim === target.ndim && tensor.shape.every((s, i) => s === target.shape[i]);
    if (same) continue;
    mismatches.push(
      `'${original}'${original !== k ? ` (the model's '${k}')` : ""} in ${file} has shape ${fmtShape(tensor.shape)}, the model's is ${fmtShape(target.shape)}`,
    );
    mismatchedKeys.push(k);
  }
  if (mismatches.length && !options.ignoreMismatchedSizes) {
    throw new ShapeError(
      op,
      `${model.constructor.name}: size mismatch for ${mismatches.join("; ")} (is the config.json right? ignoreMismatchedSizes: true re-initializes them)`,
    );
  }
  for (const m of mismatches) warn(`${model.constructor.name}: ${m}; newly initialized`);
  // A task head the checkpoint never had (a base-model checkpoint) is newly initialized, as in transformers.
  const isHead = (k: string) => modelHasPrefix && !k.startsWith(`${prefix}.`);
  const fatal = untied.filter((k) => !isHead(k));
  if (fatal.length && options.strict !== false) {
    const files = [...new Set(weights.fileOf.values())].join(", ");
    throw new DLError(
      op,
      `${model.constructor.name}: key(s) missing from ${files}: ${fatal.map((k) => `'${k}' ${fmtShape((own[k] as Tensor).shape)}`).join(", ")}` +
        (unexpectedKeys.length
          ? `; the file has unused keys: ${unexpectedKeys.slice(0, 8).join(", ")}${unexpectedKeys.length > 8 ? ", ..." : ""}`
          : ""),
    );
  }
  const fresh = untied.filter((k) => isHead(k) || options.strict === false);
  if (fresh.length) {
    warn(
      `Some weights of ${model.constructor.name} were not initialized from the checkpoint and are newly initialized: ${fresh.join(", ")}. Train the model before using it for predictions.`,
    );
  }
  if (unexpectedKeys.length)
    warn(`Some weights of the checkpoint were not used when initializing ${model.constructor.name}: ${unexpectedKeys.join(", ")}`);
  noGrad(() => {
    for (const [k, { tensor }] of given) if (!mismatchedKeys.includes(k)) (own[k] as Tensor).copy_(tensor);
  });
  return { missingKeys, unexpectedKeys, mismatchedKeys };
}

export function checkConfig<C extends PretrainedConfig>(op: string, config: C, cls: new (...a: never[]) => C): C {
  if (!(config instanceof cls))
    throw new ArgumentError(op, `expected a ${cls.name}, got ${(config as object)?.constructor?.name ?? typeof config}`);
  return config;
}
