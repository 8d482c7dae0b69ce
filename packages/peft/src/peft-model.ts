import { Embedding, load, Module, ModuleDict, save } from "@dl/nn";
import { ArgumentError, add, arange, cat, DLError, fmtShape, full, getDefaultDevice, ones, ShapeError, type Tensor } from "@dl/tensor";
import { type CausalLM, type GenerateOptions, type GenerateOutput, generate, type PretrainedConfig } from "@dl/transformers";
import { configFromDict, type PeftConfig, PrefixTuningConfig, type PromptTuningConfig } from "./config.js";
import { type AdapterSource, CONFIG_NAME, readFile, SAFETENSORS_WEIGHTS_NAME, WEIGHTS_NAME, writeFiles } from "./io.js";
import { LoraModel } from "./lora/model.js";
import { PrefixEncoder, prefixPastKeyValues } from "./prefix-tuning.js";
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

/** Options of a Hugging Face-style forward(inputIds, options) (@dl/transformers' models). */
interface HFForwardOptions {
  attentionMask?: Tensor | null;
  positionIds?: Tensor | null;
  labels?: Tensor | null;
  inputsEmbeds?: Tensor | null;
  pastKeyValues?: unknown;
  [k: string]: unknown;
}

const isHF = (m: Module) => typeof (m as unknown as HFLike).getInputEmbeddings === "function";

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

  promptEncoder(name: string): PromptEmbedding | PrefixEncoder | null {
    return this.prompt_encoder?.has(name) ? (this.prompt_encoder.get(name) as PromptEmbedding | PrefixEncoder) : null;
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

  /**
   * Prints (and returns) PEFT's line "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7328"
   * (to console.log, or to `print`).
   */
  printTrainableParameters(print: (line: string) => void = console.log): string {
    const [t, a] = this.getNbTrainableParameters();
    const group = (n: number) => n.toLocaleString("en-US", { useGrouping: true, maximumFractionDigits: 0 });
    const line = `trainable params: ${group(t)} || all params: ${group(a)} || trainable%: ${((100 * t) / a).toFixed(4)}`;
    print(line);
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
    const run = (...a: unknown[]) => (model.call as (...x: unknown[]) => unknown)(...a) as ReturnType<M["forward"]>;
    const config = this.activePeftConfig;
    if (!config.isPromptLearning || this._disabled) return run(...args);
    const enc = this.promptEncoder(this._activeAdapter);
    if (isHF(model)) return this.forwardHF(run, args as unknown[], config as PromptTuningConfig | PrefixTuningConfig, enc);
    // Prompt tuning on any module: the word embeddings' output gets the soft prompt prepended
    // along the sequence dim ([B, T, d] -> [B, n + T, d]).
    const prompt = enc as PromptEmbedding;
    const handle = (this._wordEmbeddings as Embedding).registerForwardHook((_m, _a, out) => {
      const e = out as Tensor;
      if (e.ndim !== 3)
        throw new DLError("PeftModel", `prompt tuning expects word embeddings of shape [B, T, d], got [${e.shape.join(",")}]`);
      return cat([this.prompts(prompt, e.shape[0] as number).to({ dtype: e.dtype }), e], 1);
    });
    try {
      return run(...args);
    } finally {
      handle.remove();
    }
  }

  /**
   * Greedy or sampled continuation of inputIds (PEFT's PeftModelForCausalLM.generate), with
   * @dl/transformers' generate and its options (KV cache, left padding, sampling, beams, EOS). LoRA (or a
   * disabled adapter) runs the base model's generate, whose layers are wrapped in place. Prompt
   * tuning feeds [prompt; wte(prompt ids)] on the first step, prefix tuning starts from the
   * per-layer prefix as the cache; later steps feed one token against the cache. The attention mask
   * gets n leading ones and the real tokens' positions start at n: cumsum(mask) - 1 + n, so a
   * left-padded row continues as it would alone. Returns [B, T + new] int64 (no virtual tokens).
   */
  generate(inputIds: Tensor, options: GenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
  generate(inputIds: Tensor, options?: GenerateOptions): Promise<Tensor>;
  generate(inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor | GenerateOutput> {
    const op = "PeftModel.generate";
    const base = this.getBaseModel() as unknown as HFLike & { generate?: unknown; config?: unknown };
    if (typeof base.generate !== "function") {
      return Promise.reject(
        new DLError(
          op,
          `the base model (${this.getBaseModel().constructor.name}) has no generate(): generation needs a causal LM such as @dl/transformers' GPT2LMHeadModel`,
        ),
      );
    }
    const config = this.activePeftConfig;
    if (!config.isPromptLearning || this._disabled)
      return (base.generate as (i: Tensor, o: GenerateOptions) => Promise<Tensor | GenerateOutput>)(inputIds, options);
    if (!isHF(this.getBaseModel()) || typeof base.config !== "object" || base.config === null) {
      return Promise.reject(
        new DLError(
          op,
          `${config.peftType} generation needs a @dl/transformers-style model (config, getInputEmbeddings() and forward(inputIds, { inputsEmbeds, pastKeyValues, attentionMask, positionIds })), got ${this.getBaseModel().constructor.name}`,
        ),
      );
    }
    const submodules = (config as PromptTuningConfig | PrefixTuningConfig).numTransformerSubmodules ?? 1;
    if (submodules !== 1) {
      return Promise.reject(
        new DLError(op, `numTransformerSubmodules ${submodules} (encoder-decoder prompts) is not supported; decoder-only models use 1`),
      );
    }
    // generate drives this PeftModel through the CausalLM seam: each call goes through forwardHF.
    const self = this;
    const lm: CausalLM = {
      config: base.config as unknown as PretrainedConfig,
      get training() {
        return self.training;
      },
      set training(mode: boolean) {
        self.training = mode;
      },
      call: (ids, opts) => this.forwardCall(ids, opts) as { logits: Tensor; pastKeyValues: [Tensor, Tensor][] | null },
    };
    return generate(lm, inputIds, options);
  }

  /** this.call with Hugging Face-style arguments (the generic M's forward signature is unknown here). */
  private forwardCall(...args: unknown[]): unknown {
    return (this.call as (...a: unknown[]) => unknown)(...args);
  }

  /** [B, n, d]: the soft prompt for each batch row. */
  private prompts(enc: PromptEmbedding, batch: number): Tensor {
    const n = enc.embedding.weight.shape[0] as number;
    return enc.call(arange(n, { dtype: "int64", device: enc.embedding.weight.device }).unsqueeze(0).expand([batch, n]));
  }

  /**
   * PEFT's PeftModelForCausalLM.forward for prompt learning on a Hugging Face-style model
   * forward(inputIds, { attentionMask, positionIds, labels, inputsEmbeds, pastKeyValues }): the
   * attention mask gets n ones in front; prompt tuning feeds inputsEmbeds = [prompt; wte(ids)] and
   * labels with n ignored (-100) positions; prefix tuning feeds its per-layer keys/values as
   * pastKeyValues. positionIds count the real tokens from 0 and are shifted by n (the virtual tokens
   * take 0 ... n-1), as PEFT's prepare_inputs_for_generation does for a prefix.
   *
   * With pastKeyValues (a cache returned by an earlier call, which already holds the prompt or the
   * prefix) nothing is injected: only the mask and the positions are shifted, so generation's
   * later steps continue the cache (PEFT's prepare_inputs_for_generation once the cache is filled).
   */
  private forwardHF<R>(
    run: (...a: unknown[]) => R,
    args: unknown[],
    config: PromptTuningConfig | PrefixTuningConfig,
    enc: PromptEmbedding | PrefixEncoder | null,
  ): R {
    const inputIds = (args[0] ?? null) as Tensor | null;
    const opts = { ...((args[1] ?? {}) as HFForwardOptions) };
    const embeds = opts.inputsEmbeds ?? null;
    const batch = (inputIds ?? embeds)?.shape[0];
    if (batch === undefined) throw new ArgumentError("PeftModel", "give inputIds or inputsEmbeds");
    const n = config.numVirtualTokens;
    if (opts.attentionMask) {
      const m = opts.attentionMask;
      opts.attentionMask = cat([ones([batch, n], { dtype: m.dtype, device: m.device }), m], 1);
    }
    const past = opts.pastKeyValues as [Tensor, Tensor][] | null | undefined;
    const pos = opts.positionIds ?? null;
    if (pos) {
      if (pos.ndim !== 2) throw new ShapeError("PeftModel", `positionIds must be [batch, seq], got ${fmtShape(pos.shape)}`);
      const shifted = add(pos, n);
      // Prompt tuning (no cache yet) feeds the n virtual tokens too: they sit at 0 ... n-1.
      opts.positionIds =
        past || config instanceof PrefixTuningConfig
          ? shifted
          : cat(
              [
                arange(n, { dtype: pos.dtype, device: pos.device })
                  .unsqueeze(0)
                  .expand([pos.shape[0] as number, n]),
                shifted,
              ],
              1,
            );
    }
    if (past) {
      const pastLen = past[0]?.[0]?.shape[2] ?? 0;
      if (pastLen < n) {
        throw new DLError(
          "PeftModel",
          `pastKeyValues of length ${pastLen} cannot hold the ${n} virtual tokens: pass the cache returned by an earlier call of this PeftModel`,
        );
      }
      return run(inputIds, opts);
    }
    if (config instanceof PrefixTuningConfig) {
      return run(inputIds, { ...opts, pastKeyValues: prefixPastKeyValues(enc as PrefixEncoder, config, batch) });
    }
    const words = embeds ?? (this._wordEmbeddings as Embedding).call(inputIds as Tensor);
    if (opts.labels) {
      const l = opts.labels;
      opts.labels = cat([full([batch, n], -100, { dtype: l.dtype, device: l.device }), l], 1);
    }
    const inputsEmbeds = cat([this.prompts(enc as PromptEmbedding, batch).to({ dtype: words.dtype }), words], 1);
    return run(null, { ...opts, inputsEmbeds });
  }

  private addPromptAdapter(name: string, config: PromptTuningConfig | PrefixTuningConfig, options: GetPeftModelOptions): void {
    const model = this.base_model;
    const hf = model as unknown as HFLike;
    if (config.modulesToSave?.length) throw new ArgumentError("getPeftModel", "modulesToSave is not supported with prompt learning in dl");
    const emb =
      options.wordEmbeddings ??
      (isHF(model) ? hf.getInputEmbeddings?.() : [...model.modules()].find((m): m is Embedding => m instanceof Embedding));
    if (!(emb instanceof Embedding))
      throw new ArgumentError(
        "getPeftModel",
        "prompt learning needs the model's word embeddings (an nn.Embedding); pass them as { wordEmbeddings }",
      );
    this._wordEmbeddings = emb;
    // PEFT's _prepare_prompt_learning_config: fill the sizes from the model's config.
    const mc = (hf.config ?? {}) as Record<string, unknown>;
    const pick = (...keys: string[]) => keys.map((k) => mc[k]).find((v) => typeof v === "number") as number | undefined;
    config.tokenDim ??= pick("n_embd", "nEmbd", "hidden_size", "hiddenSize", "d_model", "dModel") ?? emb.embeddingDim;
    config.numTransformerSubmodules ??= config.taskType === "SEQ_2_SEQ_LM" ? 2 : 1;
    config.numLayers ??= pick("n_layer", "nLayer", "num_hidden_layers", "numHiddenLayers", "num_layers", "numLayers") ?? null;
    config.numAttentionHeads ??= pick("n_head", "nHead", "num_attention_heads", "numAttentionHeads", "num_heads", "numHeads") ?? null;
    if (config.tokenDim !== emb.embeddingDim) {
      throw new ArgumentError("getPeftModel", `tokenDim ${config.tokenDim} differs from the word embeddings' dim ${emb.embeddingDim}`);
    }
    const w = emb.weight;
    const where = { dtype: w.dtype as "float32" | "float64", device: w.device };
    let enc: Module;
    if (config instanceof PrefixTuningConfig) {
      if (!isHF(model)) {
        throw new DLError(
          "getPeftModel",
          "prefix tuning needs a model whose forward(inputIds, { pastKeyValues, attentionMask }) takes a KV cache (a @dl/transformers model)",
        );
      }
      if (config.numLayers === null || config.numAttentionHeads === null) {
        throw new ArgumentError("getPeftModel", "prefix tuning needs numLayers and numAttentionHeads (the model's config has neither)");
      }
      if (config.tokenDim % config.numAttentionHeads !== 0) {
        throw new ArgumentError(
          "getPeftModel",
          `tokenDim ${config.tokenDim} is not divisible by numAttentionHeads ${config.numAttentionHeads}`,
        );
      }
      enc = new PrefixEncoder(config, where);
    } else {
      enc = new PromptEmbedding(config, emb, { tokenizer: options.tokenizer });
    }
    model.requiresGrad_(false);
    this.prompt_encoder ??= new ModuleDict();
    this.prompt_encoder.set(name, enc);
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
    if (!(options.isTrainable ?? false)) {
      // PEFT's inference mode: nothing trains, dropout is off.
      for (const p of peft.parameters()) p.requiresGrad_(false);
      peft.eval();
    }
    return peft;
  }

  /** Loads another saved adapter under `adapterName` (PEFT's load_adapter). */
  async loadAdapter(source: AdapterSource, adapterName: string, options: Omit<LoadAdapterOptions, "adapterName"> = {}): Promise<void> {
    const config = await readConfig(source, options);
    config.inferenceMode = !(options.isTrainable ?? false);
    this.addAdapter(adapterName, config, options);
    // The new adapter is inactive (frozen) until setAdapter, as PEFT's load_adapter leaves it.
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
