import { Embedding, load, Module, ModuleDict, save } from "@dl/nn";
import { ArgumentError, arange, cat, DLError, getDefaultDevice, type Tensor } from "@dl/tensor";
import { configFromDict, type PeftConfig, PrefixTuningConfig, type PromptTuningConfig } from "./config.js";
import { type AdapterSource, CONFIG_NAME, readFile, SAFETENSORS_WEIGHTS_NAME, WEIGHTS_NAME, writeFiles } from "./io.js";
import { LoraModel } from "./lora/model.js";
import { PromptEmbedding, type TokenizerLike } from "./prompt-tuning.js";
import { getPeftModelStateDict, setPeftModelStateDict } from "./state-dict.js";

export interface GetPeftModelOptions {
  /** Name of the first adapter (default "default"). */
  adapterName?: string;
  /** Prompt tuning with TEXT init: a tokenizer with encode(text). */
  tokenizer?: TokenizerLike;
  /** Prompt tuning: the word-embedding module (default: model.getInputEmbeddings(), else the first nn.Embedding). */
  wordEmbeddings?: Embedding;
}

interface HFLike {
  config?: Record<string, unknown>;
  getInputEmbeddings?: () => Embedding;
}

/**
 * PEFT's PeftModel: a base model with adapters. For LoRA, `base_model` is a LoraModel holding the
 * model (state-dict keys base_model.model.<path>...); for prompt tuning, `base_model` is the
 * (frozen) model and `prompt_encoder` holds the soft prompts. Call it like the base model.
 */
export class PeftModel<M extends Module = Module> extends Module {
  base_model: Module;
  prompt_encoder: ModuleDict | null = null;
  readonly peftConfig: Record<string, PeftConfig> = {};
  private _activeAdapter: string;
  private _wordEmbeddings: Embedding | null = null;
  private _disabled = false;

  constructor(model: M, config: PeftConfig, options: GetPeftModelOptions = {}) {
    super();
    const name = options.adapterName ?? "default";
    this._activeAdapter = name;
    if (config.peftType === "LORA") {
      this.base_model = new LoraModel(model, config, name);
      this.peftConfig[name] = config;
    } else {
      this.base_model = model;
      this.addPromptAdapter(name, config, options);
    }
  }

  /** The wrapped model (PEFT's get_base_model): adapters stay injected in it. */
  getBaseModel(): M {
    return (this.base_model instanceof LoraModel ? this.base_model.model : this.base_model) as M;
  }

  get activeAdapter(): string {
    return this._activeAdapter;
  }

  get activePeftConfig(): PeftConfig {
    return this.peftConfig[this._activeAdapter] as PeftConfig;
  }

  promptEncoder(name: string): PromptEmbedding | null {
    return this.prompt_encoder?.has(name) ? (this.prompt_encoder.get(name) as PromptEmbedding) : null;
  }

  private lora(op: string): LoraModel {
    if (!(this.base_model instanceof LoraModel))
      throw new DLError(op, `only LoRA adapters support ${op} (this model has ${this.activePeftConfig.peftType})`);
    return this.base_model;
  }

  // ---- adapters ----

  /** Adds another adapter of the same kind (PEFT's add_adapter); it stays inactive until setAdapter. */
  addAdapter(name: string, config: PeftConfig, options: Omit<GetPeftModelOptions, "adapterName"> = {}): void {
    if (name in this.peftConfig) throw new ArgumentError("addAdapter", `an adapter named '${name}' already exists`);
    if (config.peftType !== this.activePeftConfig.peftType) {
      throw new ArgumentError(
        "addAdapter",
        `cannot combine different PEFT types: ${config.peftType} next to ${this.activePeftConfig.peftType}`,
      );
    }
    if (config.peftType === "LORA") {
      this.lora("addAdapter").injectAdapter(name, config);
      this.peftConfig[name] = config;
    } else {
      this.addPromptAdapter(name, config, options);
      (this.prompt_encoder as ModuleDict).get(name).requiresGrad_(false);
    }
  }

  /** Makes adapter `name` the active one: it alone runs and trains. */
  setAdapter(name: string): void {
    if (!(name in this.peftConfig))
      throw new ArgumentError("setAdapter", `adapter '${name}' not found (have: ${Object.keys(this.peftConfig).join(", ")})`);
    if (this.base_model instanceof LoraModel) this.base_model.setAdapter(name);
    else for (const k of this.prompt_encoder?.keys() ?? []) this.prompt_encoder?.get(k).requiresGrad_(k === name);
    this._activeAdapter = name;
  }

  deleteAdapter(name: string): void {
    if (!(name in this.peftConfig)) throw new ArgumentError("deleteAdapter", `adapter '${name}' does not exist`);
    if (this.base_model instanceof LoraModel) this.base_model.deleteAdapter(name);
    else delete (this.prompt_encoder as unknown as Record<string, unknown>)[name];
    delete this.peftConfig[name];
    if (this._activeAdapter === name) {
      const rest = Object.keys(this.peftConfig);
      this._activeAdapter = rest[rest.length - 1] ?? "";
    }
  }

  /**
   * Runs fn with every adapter switched off, so the model computes the base model's outputs
   * (PEFT's `with model.disable_adapter():`). Adapters come back on when fn returns or throws,
   * or when its promise settles.
   */
  disableAdapter<T>(fn: () => T): T {
    const on = () => {
      if (this.base_model instanceof LoraModel) this.base_model.enableAdapterLayers(true);
      this._disabled = false;
    };
    if (this.base_model instanceof LoraModel) this.base_model.disableAdapterLayers();
    this._disabled = true;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      on();
      throw e;
    }
    if (result instanceof Promise) return result.finally(on) as T;
    on();
    return result;
  }

  // ---- counting ----

  /** [trainable, all] parameter counts (PEFT's get_nb_trainable_parameters). */
  getNbTrainableParameters(): [number, number] {
    let trainable = 0;
    let total = 0;
    for (const p of this.parameters()) {
      const n = p.numel();
      total += n;
      if (p.requiresGrad) trainable += n;
    }
    return [trainable, total];
  }

  /** Prints (and returns) "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7328". */
  printTrainableParameters(): string {
    const [t, a] = this.getNbTrainableParameters();
    const group = (n: number) => n.toLocaleString("en-US", { useGrouping: true, maximumFractionDigits: 0 });
    const line = `trainable params: ${group(t)} || all params: ${group(a)} || trainable%: ${((100 * t) / a).toFixed(4)}`;
    console.log(line);
    return line;
  }

  // ---- merging ----

  /** Adds the active adapter's B·A·scaling into the base weights (PEFT's merge_adapter). */
  mergeAdapter(options: { adapterNames?: readonly string[]; safeMerge?: boolean } = {}): void {
    this.lora("mergeAdapter").mergeAdapter(options);
  }

  /** Undoes mergeAdapter (PEFT's unmerge_adapter). */
  unmergeAdapter(): void {
    this.lora("unmergeAdapter").unmergeAdapter();
  }

  /** Alias of mergeAdapter, as LoRA layers name it. */
  merge(options: { adapterNames?: readonly string[]; safeMerge?: boolean } = {}): void {
    this.mergeAdapter(options);
  }

  unmerge(): void {
    this.unmergeAdapter();
  }

  /** Merges the active adapter into the base weights and returns the plain base model, without LoRA layers. */
  mergeAndUnload(options: { safeMerge?: boolean; adapterNames?: readonly string[] } = {}): M {
    return this.lora("mergeAndUnload").unloadAndOptionallyMerge(true, options) as M;
  }

  /** Removes the LoRA layers without merging and returns the original base model. */
  unload(): M {
    return this.lora("unload").unloadAndOptionallyMerge(false) as M;
  }

  // ---- forward ----

  forward(...args: Parameters<M["forward"]>): ReturnType<M["forward"]> {
    const model = this.getBaseModel();
    const run = () => (model.call as (...a: unknown[]) => unknown)(...args) as ReturnType<M["forward"]>;
    const config = this.activePeftConfig;
    if (!config.isPromptLearning || this._disabled) return run();
    if (config.peftType === "PREFIX_TUNING")
      throw new DLError("PeftModel", "prefix tuning needs a model with a KV-cache path (pastKeyValues), which this model does not offer");
    // Prompt tuning on any module: the word embeddings' output gets the soft prompt prepended
    // along the sequence dim ([B, T, d] -> [B, n + T, d]).
    const enc = this.promptEncoder(this._activeAdapter) as PromptEmbedding;
    const handle = (this._wordEmbeddings as Embedding).registerForwardHook((_m, _a, out) => {
      const e = out as Tensor;
      if (e.ndim !== 3)
        throw new DLError("PeftModel", `prompt tuning expects word embeddings of shape [B, T, d], got [${e.shape.join(",")}]`);
      const b = e.shape[0] as number;
      const n = enc.embedding.weight.shape[0] as number;
      const prompts = enc.call(arange(n, { dtype: "int64", device: e.device }).unsqueeze(0).expand([b, n]));
      return cat([prompts.to({ dtype: e.dtype }), e], 1);
    });
    try {
      return run();
    } finally {
      handle.remove();
    }
  }

  private addPromptAdapter(name: string, config: PromptTuningConfig | PrefixTuningConfig, options: GetPeftModelOptions): void {
    const model = this.base_model;
    const hf = model as unknown as HFLike;
    if (config instanceof PrefixTuningConfig) {
      throw new DLError(
        "getPeftModel",
        "prefix tuning needs @dl/transformers' KV-cache path (pastKeyValues) in the base model; it is not available for this model",
      );
    }
    if (config.modulesToSave?.length) throw new ArgumentError("getPeftModel", "modulesToSave is not supported with prompt tuning in dl");
    const emb =
      options.wordEmbeddings ??
      (typeof hf.getInputEmbeddings === "function"
        ? hf.getInputEmbeddings()
        : [...model.modules()].find((m): m is Embedding => m instanceof Embedding));
    if (!(emb instanceof Embedding))
      throw new ArgumentError(
        "getPeftModel",
        "prompt tuning needs the model's word embeddings (an nn.Embedding); pass them as { wordEmbeddings }",
      );
    this._wordEmbeddings = emb;
    // PEFT's _prepare_prompt_learning_config: fill the sizes from the model.
    const mc = hf.config ?? {};
    config.tokenDim ??= (mc.n_embd ?? mc.nEmbd ?? mc.hidden_size ?? mc.hiddenSize ?? emb.embeddingDim) as number;
    config.numTransformerSubmodules ??= config.taskType === "SEQ_2_SEQ_LM" ? 2 : 1;
    config.numLayers ??= (mc.n_layer ?? mc.nLayer ?? mc.num_hidden_layers ?? mc.numHiddenLayers ?? null) as number | null;
    config.numAttentionHeads ??= (mc.n_head ?? mc.nHead ?? mc.num_attention_heads ?? mc.numAttentionHeads ?? null) as number | null;
    if (config.tokenDim !== emb.embeddingDim) {
      throw new ArgumentError("getPeftModel", `tokenDim ${config.tokenDim} differs from the word embeddings' dim ${emb.embeddingDim}`);
    }
    model.requiresGrad_(false);
    this.prompt_encoder ??= new ModuleDict();
    this.prompt_encoder.set(name, new PromptEmbedding(config, emb, { tokenizer: options.tokenizer }));
    this.peftConfig[name] = config;
  }

  // ---- files ----

  /**
   * Writes the adapter in PEFT's format: adapter_config.json + adapter_model.safetensors (adapters
   * other than "default" in a subfolder named after them, as PEFT). With a directory (Node) the
   * files are written there; the files are also returned (name → contents) for browsers.
   */
  async savePretrained(
    directory?: string,
    options: { selectedAdapters?: readonly string[] } = {},
  ): Promise<Record<string, string | Uint8Array>> {
    const names = options.selectedAdapters ?? Object.keys(this.peftConfig);
    const files: Record<string, string | Uint8Array> = {};
    for (const name of names) {
      const config = this.peftConfig[name];
      if (!config) throw new ArgumentError("savePretrained", `adapter '${name}' does not exist`);
      const sub = name === "default" ? "" : `${name}/`;
      const sd = getPeftModelStateDict(this, name);
      const blob = await save(sd, undefined, { metadata: { format: "pt" } });
      files[`${sub}${SAFETENSORS_WEIGHTS_NAME}`] = new Uint8Array(await blob.arrayBuffer());
      const dict = config.toDict();
      // PEFT saves the config with inference_mode true.
      dict.inference_mode = true;
      files[`${sub}${CONFIG_NAME}`] = `${JSON.stringify(dict, null, 2)}`;
    }
    if (directory !== undefined) await writeFiles("savePretrained", directory, files);
    return files;
  }

  /**
   * Loads an adapter saved in PEFT's format onto `model` (PEFT's PeftModel.from_pretrained). The
   * source is a directory (Node), a URL base, or an object of file name → contents. The config and
   * weights are validated: a missing file, bad JSON, a wrong key or shape is a DLError / ShapeError.
   */
  static async fromPretrained<M extends Module>(model: M, source: AdapterSource, options: LoadAdapterOptions = {}): Promise<PeftModel<M>> {
    const name = options.adapterName ?? "default";
    const config = await readConfig(source, options);
    config.inferenceMode = !(options.isTrainable ?? false);
    const peft = new PeftModel(model, config, { ...options, adapterName: name });
    await loadWeights(peft, source, name, options);
    return peft;
  }

  /** Loads another saved adapter under `adapterName` (PEFT's load_adapter). */
  async loadAdapter(source: AdapterSource, adapterName: string, options: Omit<LoadAdapterOptions, "adapterName"> = {}): Promise<void> {
    const config = await readConfig(source, options);
    config.inferenceMode = !(options.isTrainable ?? false);
    this.addAdapter(adapterName, config, options);
    await loadWeights(this, source, adapterName, options);
  }
}

export interface LoadAdapterOptions extends GetPeftModelOptions {
  /** Train the loaded adapter (default false: it is loaded frozen, for inference). */
  isTrainable?: boolean;
  /** Device for the loaded tensors before they are copied in (default: the default device). */
  device?: string;
  /** Receives warnings such as dropped config keys (default console.warn). */
  warn?: (message: string) => void;
}

async function readConfig(source: AdapterSource, options: LoadAdapterOptions): Promise<PeftConfig> {
  const op = "PeftModel.fromPretrained";
  const raw = await readFile(op, source, CONFIG_NAME);
  if (raw === null) throw new DLError(op, `${CONFIG_NAME} not found in ${describe(source)}`);
  let dict: unknown = raw;
  if (raw instanceof Uint8Array) {
    const text = new TextDecoder().decode(raw);
    try {
      dict = JSON.parse(text);
    } catch (e) {
      throw new DLError(op, `${CONFIG_NAME} is not valid JSON: ${(e as Error).message}`);
    }
  }
  return configFromDict(dict, { warn: options.warn });
}

async function loadWeights(peft: PeftModel, source: AdapterSource, name: string, options: LoadAdapterOptions): Promise<void> {
  const op = "PeftModel.fromPretrained";
  const bytes = await readFile(op, source, SAFETENSORS_WEIGHTS_NAME);
  if (bytes === null) {
    const bin = await readFile(op, source, WEIGHTS_NAME).catch(() => null);
    throw new DLError(
      op,
      bin !== null
        ? `${describe(source)} has only ${WEIGHTS_NAME} (a PyTorch pickle), which dl cannot read; save the adapter with safe_serialization=True`
        : `${SAFETENSORS_WEIGHTS_NAME} not found in ${describe(source)}`,
    );
  }
  if (!(bytes instanceof Uint8Array)) throw new DLError(op, `${SAFETENSORS_WEIGHTS_NAME} must be bytes, got a parsed object`);
  const tensors = await load(bytes, { device: options.device ?? getDefaultDevice() });
  setPeftModelStateDict(peft, tensors, name);
  if (!(options.isTrainable ?? false)) {
    for (const p of peft.parameters()) p.requiresGrad_(false);
    peft.eval();
  }
}

function describe(source: AdapterSource): string {
  if (typeof source === "string") return `'${source}'`;
  if (source instanceof URL) return `'${source.href}'`;
  return `the given files (${Object.keys(source).join(", ") || "none"})`;
}

/**
 * Wraps `model` for parameter-efficient fine-tuning (peft.get_peft_model): LoRA replaces the
 * targeted Linear / Conv1D layers and freezes everything else; prompt tuning adds a soft prompt.
 */
export function getPeftModel<M extends Module>(model: M, config: PeftConfig, options: GetPeftModelOptions = {}): PeftModel<M> {
  return new PeftModel(model, config, options);
}
