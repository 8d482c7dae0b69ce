import { ArgumentError } from "@dl/tensor";

/** A config field: its Hugging Face (config.json) key and the default Hugging Face gives it. */
export interface FieldSpec {
  key: string;
  default: unknown;
}

export const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * The keys every Hugging Face config has (transformers' PretrainedConfig.__init__), with its
 * defaults. They are written back to config.json only when the source file had them or they differ
 * from the default, as save_pretrained's to_diff_dict does.
 */
export const COMMON_FIELDS: FieldSpec[] = [
  ["return_dict", true],
  ["output_hidden_states", false],
  ["output_attentions", false],
  ["torchscript", false],
  ["torch_dtype", null],
  ["use_bfloat16", false],
  ["tf_legacy_loss", false],
  ["pruned_heads", {}],
  ["tie_word_embeddings", true],
  ["chunk_size_feed_forward", 0],
  ["is_encoder_decoder", false],
  ["is_decoder", false],
  ["cross_attention_hidden_size", null],
  ["add_cross_attention", false],
  ["tie_encoder_decoder", false],
  ["max_length", 20],
  ["min_length", 0],
  ["do_sample", false],
  ["early_stopping", false],
  ["num_beams", 1],
  ["num_beam_groups", 1],
  ["diversity_penalty", 0.0],
  ["temperature", 1.0],
  ["top_k", 50],
  ["top_p", 1.0],
  ["typical_p", 1.0],
  ["repetition_penalty", 1.0],
  ["length_penalty", 1.0],
  ["no_repeat_ngram_size", 0],
  ["encoder_no_repeat_ngram_size", 0],
  ["bad_words_ids", null],
  ["num_return_sequences", 1],
  ["output_scores", false],
  ["return_dict_in_generate", false],
  ["forced_bos_token_id", null],
  ["forced_eos_token_id", null],
  ["remove_invalid_values", false],
  ["exponential_decay_length_penalty", null],
  ["suppress_tokens", null],
  ["begin_suppress_tokens", null],
  ["architectures", null],
  ["finetuning_task", null],
  ["tokenizer_class", null],
  ["prefix", null],
  ["bos_token_id", null],
  ["pad_token_id", null],
  ["eos_token_id", null],
  ["sep_token_id", null],
  ["decoder_start_token_id", null],
  ["task_specific_params", null],
  ["problem_type", null],
].map(([key, d]) => ({ key: key as string, default: d }));

const clone = <T>(v: T): T => (v !== null && typeof v === "object" ? (JSON.parse(JSON.stringify(v)) as T) : v);

const eq = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Base of the model configs (transformers' PretrainedConfig). Fields are camelCase properties
 * (`config.nEmbd`); the constructor and fromDict take Hugging Face's snake_case keys, camelCase
 * names and the model's aliases (`hidden_size` for GPT-2's `n_embd`). Keys it does not know are
 * kept in `extra` and written back by toDict(), so a config.json round-trips.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every field from the field table
export class PretrainedConfig {
  /** Hugging Face's model_type ("gpt2", "bert"); subclasses set it. */
  static modelType = "";
  /** The model's own fields (snake_case keys, defaults). */
  static fields: FieldSpec[] = [];
  /** Hugging Face's attribute_map: alias key -> field key. */
  static attributeMap: Record<string, string> = {};

  /** Keys this config does not know, kept verbatim for config.json. */
  extra: Record<string, unknown> = {};
  /** id -> label name (Hugging Face's id2label), also defining numLabels. */
  id2label: Record<number, string> = { 0: "LABEL_0", 1: "LABEL_1" };
  label2id: Record<string, number> = { LABEL_0: 0, LABEL_1: 1 };
  /** transformers_version of the file this config came from. */
  transformersVersion: string | null = null;
  /** Where the config was loaded from (Hugging Face's _name_or_path). */
  nameOrPath = "";
  // Which common keys the source had, so that they are written back even when default.
  private readonly _given = new Set<string>();

  constructor(options: Record<string, unknown> = {}) {
    const ctor = this.constructor as typeof PretrainedConfig;
    const all = [...COMMON_FIELDS, ...ctor.fields];
    const byCamel = new Map(all.map((f) => [toCamel(f.key), f.key]));
    const byKey = new Map(all.map((f) => [f.key, f]));
    const aliases = new Map<string, string>();
    for (const [a, k] of Object.entries(ctor.attributeMap)) {
      aliases.set(a, k);
      aliases.set(toCamel(a), k);
    }
    const values = new Map<string, unknown>();
    let numLabels: number | undefined;
    for (const [rawKey, v] of Object.entries(options)) {
      if (v === undefined) continue;
      if (rawKey === "model_type" || rawKey === "modelType") {
        if (ctor.modelType && v !== ctor.modelType) {
          throw new ArgumentError(`${ctor.name}`, `config.json has model_type "${String(v)}", this config is for "${ctor.modelType}"`);
        }
        continue;
      }
      if (rawKey === "transformers_version" || rawKey === "transformersVersion") {
        this.transformersVersion = String(v);
        continue;
      }
      if (rawKey === "_name_or_path" || rawKey === "nameOrPath") {
        this.nameOrPath = String(v);
        continue;
      }
      if (rawKey === "num_labels" || rawKey === "numLabels") {
        numLabels = Number(v);
        continue;
      }
      if (rawKey === "id2label") {
        this.id2label = Object.fromEntries(Object.entries(v as Record<string, string>).map(([i, l]) => [Number(i), l]));
        this._given.add("id2label");
        continue;
      }
      if (rawKey === "label2id") {
        this.label2id = { ...(v as Record<string, number>) };
        this._given.add("label2id");
        continue;
      }
      const key = aliases.get(rawKey) ?? byCamel.get(rawKey) ?? rawKey;
      if (byKey.has(key)) {
        values.set(key, v);
        this._given.add(key);
      } else this.extra[rawKey] = clone(v);
    }
    for (const f of all)
      (this as Record<string, unknown>)[toCamel(f.key)] = values.has(f.key) ? clone(values.get(f.key)) : clone(f.default);
    if (numLabels !== undefined && numLabels !== Object.keys(this.id2label).length) this.numLabels = numLabels;
  }

  /** Number of labels of a classification head (the size of id2label). */
  get numLabels(): number {
    return Object.keys(this.id2label).length;
  }

  set numLabels(n: number) {
    if (!Number.isInteger(n) || n < 1)
      throw new ArgumentError("PretrainedConfig.numLabels", `num_labels must be a positive integer, got ${n}`);
    this.id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
    this.label2id = Object.fromEntries(Array.from({ length: n }, (_, i) => [`LABEL_${i}`, i]));
    this._given.add("id2label");
    this._given.add("label2id");
  }

  get modelType(): string {
    return (this.constructor as typeof PretrainedConfig).modelType;
  }

  /** A config from a parsed config.json. */
  static fromDict<T extends PretrainedConfig>(this: new (o: Record<string, unknown>) => T, dict: Record<string, unknown>): T {
    return new this(dict);
  }

  /**
   * The config.json object, with Hugging Face's keys: the model's fields always, the common fields
   * when given or not default, unknown keys as they came, model_type and transformers_version.
   */
  toDict(): Record<string, unknown> {
    const ctor = this.constructor as typeof PretrainedConfig;
    const me = this as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of COMMON_FIELDS) {
      const v = me[toCamel(f.key)];
      if (this._given.has(f.key) || !eq(v, f.default)) out[f.key] = clone(v);
    }
    const defaultLabels = eq(this.id2label, { 0: "LABEL_0", 1: "LABEL_1" });
    if (this._given.has("id2label") || !defaultLabels) {
      out.id2label = Object.fromEntries(Object.entries(this.id2label).map(([i, l]) => [String(i), l]));
      out.label2id = clone(this.label2id);
    }
    for (const f of ctor.fields) out[f.key] = clone(me[toCamel(f.key)]);
    Object.assign(out, clone(this.extra));
    out.model_type = ctor.modelType;
    out.transformers_version = this.transformersVersion ?? "4.46.0";
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** config.json text (sorted keys, two-space indent, as save_pretrained writes it). */
  toJsonString(): string {
    return `${JSON.stringify(this.toDict(), null, 2)}\n`;
  }
}

// The common fields as typed properties on every config.
export interface PretrainedConfig {
  returnDict: boolean;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  torchDtype: string | null;
  tieWordEmbeddings: boolean;
  isEncoderDecoder: boolean;
  isDecoder: boolean;
  addCrossAttention: boolean;
  maxLength: number;
  minLength: number;
  doSample: boolean;
  numBeams: number;
  earlyStopping: boolean | "never";
  lengthPenalty: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  numReturnSequences: number;
  architectures: string[] | null;
  finetuningTask: string | null;
  tokenizerClass: string | null;
  bosTokenId: number | null;
  padTokenId: number | null;
  eosTokenId: number | number[] | null;
  sepTokenId: number | null;
  decoderStartTokenId: number | null;
  taskSpecificParams: Record<string, unknown> | null;
  problemType: "regression" | "single_label_classification" | "multi_label_classification" | null;
  prunedHeads: Record<string, number[]>;
  chunkSizeFeedForward: number;
}
