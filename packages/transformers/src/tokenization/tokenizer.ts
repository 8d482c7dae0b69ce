import { ArgumentError, DLError, fromHost, type Tensor } from "@dl/tensor";
import { Tokenizer } from "@huggingface/tokenizers";
import { type ModelFiles, type PretrainedSource, resolveSource, resolveTarget, type SaveTarget } from "../hub/source.js";

export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
export const SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json";

const SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;
type SpecialKey = (typeof SPECIAL_KEYS)[number];

/** Padding strategy: true / "longest" pads to the longest in the batch, "max_length" to maxLength. */
export type PaddingStrategy = boolean | "longest" | "max_length" | "do_not_pad";
/** Truncation strategy: true / "longest_first" trims the longer of a pair first. */
export type TruncationStrategy = boolean | "longest_first" | "only_first" | "only_second" | "do_not_truncate";

export interface TokenizerCallOptions {
  /** Second sequences (sentence pairs), one per text. */
  textPair?: string | string[] | null;
  /** Add [CLS]/[SEP] and the like (default true). */
  addSpecialTokens?: boolean;
  padding?: PaddingStrategy;
  truncation?: TruncationStrategy;
  /** Length for truncation and padding="max_length" (default modelMaxLength). */
  maxLength?: number;
  /** Pad to a multiple of this length. */
  padToMultipleOf?: number;
  /** "dl": int64 tensors [B, T]; otherwise number arrays. */
  returnTensors?: "dl" | null;
  /** Include tokenTypeIds (default: when the model takes them, as BERT does). */
  returnTokenTypeIds?: boolean;
  /** Include attentionMask (default true). */
  returnAttentionMask?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  cleanUpTokenizationSpaces?: boolean;
}

/** What a tokenizer call returns (transformers' BatchEncoding, camelCase). */
export interface BatchEncoding<T = Tensor | number[][] | number[]> {
  inputIds: T;
  attentionMask?: T;
  tokenTypeIds?: T;
}

const tokenContent = (v: unknown): string | null =>
  typeof v === "string"
    ? v
    : v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string"
      ? (v as { content: string }).content
      : null;

interface PostProcessed {
  tokens: string[];
  tokens_pair?: string[];
  token_type_ids?: number[];
}
type PostProcessorFn = (a: string[], b: string[] | null, addSpecial: boolean) => PostProcessed;

/**
 * A Hugging Face tokenizer (transformers' PreTrainedTokenizerFast) over @huggingface/tokenizers,
 * which runs tokenizer.json's normalizer, pre-tokenizer, model (byte-level BPE, WordPiece, ...) and
 * decoder. This class adds transformers' calling convention: batches, pairs, padding (either side),
 * truncation, special tokens, and int64 tensors for the model.
 */
export class PreTrainedTokenizer {
  // Private: the published .d.ts then never loads @huggingface/tokenizers' own types, whose
  // extensionless relative imports fail to check under moduleResolution NodeNext.
  private readonly tokenizer: Tokenizer;
  /** tokenizer_config.json (kept and written back). */
  readonly config: Record<string, unknown>;
  /** Which side padding goes ("right"; "left" for batched generation with a decoder). */
  paddingSide: "left" | "right";
  truncationSide: "left" | "right";
  /** Longest input the model takes (tokenizer_config.json's model_max_length). */
  modelMaxLength: number;
  /** The model's input names, deciding whether token type ids are returned. */
  modelInputNames: string[];
  private readonly special: Partial<Record<SpecialKey, string | null>> = {};

  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
  ) {
    this.config = { ...tokenizerConfig };
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, this.config);
    } catch (e) {
      throw new DLError("PreTrainedTokenizer", `tokenizer.json could not be loaded: ${(e as Error).message}`);
    }
    for (const k of SPECIAL_KEYS) this.special[k] = tokenContent(this.config[k]);
    const side = (v: unknown, name: string): "left" | "right" => {
      if (v === undefined || v === null) return "right";
      if (v !== "left" && v !== "right")
        throw new ArgumentError("PreTrainedTokenizer", `${name} must be "left" or "right", got ${JSON.stringify(v)}`);
      return v;
    };
    this.paddingSide = side(this.config.padding_side, "padding_side");
    this.truncationSide = side(this.config.truncation_side, "truncation_side");
    const mml = Number(this.config.model_max_length);
    // transformers writes a huge sentinel (1e30) when there is no limit.
    this.modelMaxLength = Number.isFinite(mml) && mml > 0 && mml < 1e12 ? mml : Number.MAX_SAFE_INTEGER;
    const names = this.config.model_input_names;
    if (Array.isArray(names)) this.modelInputNames = names.map(String);
    else {
      const cls = String(this.config.tokenizer_class ?? "");
      const post = (tokenizerJson.post_processor as { type?: string } | null)?.type;
      const bertLike =
        /^(Bert|DistilBert|Electra|MobileBert|Funnel|Layoutlm)/i.test(cls) ||
        (cls === "" && (post === "BertProcessing" || post === "TemplateProcessing"));
      this.modelInputNames = bertLike ? ["input_ids", "token_type_ids", "attention_mask"] : ["input_ids", "attention_mask"];
    }
  }

  /**
   * Loads tokenizer.json (required), tokenizer_config.json and special_tokens_map.json from a
   * directory path, a URL base, or an object of { fileName: contents }.
   */
  static async fromPretrained(
    source: PretrainedSource | ModelFiles,
    overrides: Record<string, unknown> = {},
  ): Promise<PreTrainedTokenizer> {
    const files = resolveSource("AutoTokenizer.fromPretrained", source);
    const json = (await files.json(TOKENIZER_FILE)) as Record<string, unknown> | null;
    if (json === null) {
      const vocab = (await files.bytes("vocab.txt")) ?? (await files.bytes("vocab.json"));
      throw new DLError(
        "AutoTokenizer.fromPretrained",
        `no ${TOKENIZER_FILE} in ${files.description}${vocab ? " (only a slow tokenizer's vocabulary: save the fast tokenizer in Python with AutoTokenizer.from_pretrained(name).save_pretrained(dir))" : ""}`,
      );
    }
    const config = ((await files.json(TOKENIZER_CONFIG_FILE)) as Record<string, unknown> | null) ?? {};
    const map = ((await files.json(SPECIAL_TOKENS_MAP_FILE)) as Record<string, unknown> | null) ?? {};
    return new PreTrainedTokenizer(json, { ...map, ...config, ...overrides });
  }

  // ---- special tokens ----

  private specialToken(k: SpecialKey): string | null {
    return this.special[k] ?? null;
  }
  private setSpecial(k: SpecialKey, v: string | null): void {
    this.special[k] = v;
    this.config[k] = v;
  }
  private idOf(t: string | null): number | null {
    return t === null ? null : (this.tokenizer.token_to_id(t) ?? null);
  }

  get bosToken(): string | null {
    return this.specialToken("bos_token");
  }
  set bosToken(v: string | null) {
    this.setSpecial("bos_token", v);
  }
  get eosToken(): string | null {
    return this.specialToken("eos_token");
  }
  set eosToken(v: string | null) {
    this.setSpecial("eos_token", v);
  }
  get unkToken(): string | null {
    return this.specialToken("unk_token");
  }
  set unkToken(v: string | null) {
    this.setSpecial("unk_token", v);
  }
  get sepToken(): string | null {
    return this.specialToken("sep_token");
  }
  set sepToken(v: string | null) {
    this.setSpecial("sep_token", v);
  }
  /** The padding token (GPT-2 has none: set padToken = eosToken to pad, as with transformers). */
  get padToken(): string | null {
    return this.specialToken("pad_token");
  }
  set padToken(v: string | null) {
    this.setSpecial("pad_token", v);
  }
  get clsToken(): string | null {
    return this.specialToken("cls_token");
  }
  set clsToken(v: string | null) {
    this.setSpecial("cls_token", v);
  }
  get maskToken(): string | null {
    return this.specialToken("mask_token");
  }
  set maskToken(v: string | null) {
    this.setSpecial("mask_token", v);
  }
  get bosTokenId(): number | null {
    return this.idOf(this.bosToken);
  }
  get eosTokenId(): number | null {
    return this.idOf(this.eosToken);
  }
  get unkTokenId(): number | null {
    return this.idOf(this.unkToken);
  }
  get sepTokenId(): number | null {
    return this.idOf(this.sepToken);
  }
  get padTokenId(): number | null {
    return this.idOf(this.padToken);
  }
  get clsTokenId(): number | null {
    return this.idOf(this.clsToken);
  }
  get maskTokenId(): number | null {
    return this.idOf(this.maskToken);
  }

  /** Ids of every special token (added tokens marked special and the configured ones). */
  get allSpecialIds(): number[] {
    const ids = new Set<number>();
    for (const [id, t] of this.tokenizer.get_added_tokens_decoder()) if (t.special) ids.add(id);
    for (const k of SPECIAL_KEYS) {
      const id = this.idOf(this.specialToken(k));
      if (id !== null) ids.add(id);
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** Vocabulary size with the added tokens (len(tokenizer)). */
  get length(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  getVocab(): Map<string, number> {
    return this.tokenizer.get_vocab(true);
  }

  // ---- encoding ----

  /** The tokens of a text, without special tokens. */
  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text, { add_special_tokens: false });
  }

  convertTokensToIds(tokens: string[]): number[] {
    const unk = this.unkTokenId;
    return tokens.map((t) => {
      const id = this.tokenizer.token_to_id(t) ?? unk;
      if (id === null || id === undefined)
        throw new ArgumentError("convertTokensToIds", `token "${t}" is not in the vocabulary and there is no unk token`);
      return id;
    });
  }

  convertIdsToTokens(ids: number[]): string[] {
    return ids.map((i) => this.tokenizer.id_to_token(i) ?? this.unkToken ?? "");
  }

  private postProcess(a: string[], b: string[] | null, addSpecial: boolean): { tokens: string[]; typeIds: number[] } {
    const pp = this.tokenizer.post_processor as unknown as PostProcessorFn | null;
    if (!pp) {
      const tokens = [...a, ...(b ?? [])];
      return { tokens, typeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
    }
    const r = pp(a, b, addSpecial);
    const tokens = b && r.tokens_pair ? [...r.tokens, ...r.tokens_pair] : r.tokens;
    const typeIds = r.token_type_ids ?? tokens.map(() => 0);
    return { tokens, typeIds };
  }

  /** How many special tokens addSpecialTokens adds to a single text or a pair. */
  numSpecialTokensToAdd(pair = false): number {
    return this.postProcess([], pair ? [] : null, true).tokens.length;
  }

  private encodeOne(
    text: string,
    pair: string | null,
    o: Required<Pick<TokenizerCallOptions, "addSpecialTokens">> & { truncate: TruncationStrategy; maxLength: number },
  ): { ids: number[]; typeIds: number[] } {
    let a = this.tokenize(text);
    let b = pair === null ? null : this.tokenize(pair);
    if (o.truncate !== false && o.truncate !== "do_not_truncate") {
      const budget = o.maxLength - (o.addSpecialTokens ? this.numSpecialTokensToAdd(b !== null) : 0);
      [a, b] = truncatePair(a, b, budget, o.truncate, this.truncationSide);
    }
    const { tokens, typeIds } = this.postProcess(a, b, o.addSpecialTokens);
    return { ids: this.convertTokensToIds(tokens), typeIds };
  }

  /** Token ids of one text (or pair), with special tokens unless told otherwise (tokenizer.encode). */
  encode(
    text: string,
    options: { textPair?: string | null; addSpecialTokens?: boolean; truncation?: TruncationStrategy; maxLength?: number } = {},
  ): number[] {
    const truncate = options.truncation ?? options.maxLength !== undefined;
    return this.encodeOne(text, options.textPair ?? null, {
      addSpecialTokens: options.addSpecialTokens ?? true,
      truncate,
      maxLength: options.maxLength ?? this.modelMaxLength,
    }).ids;
  }

  /**
   * Tokenizes a text or a batch (transformers' tokenizer(...)): `{ inputIds, attentionMask,
   * tokenTypeIds }`, padded and truncated as asked, as int64 tensors with returnTensors: "dl".
   */
  call(text: string, options: TokenizerCallOptions & { returnTensors: "dl" }): BatchEncoding<Tensor>;
  call(text: string[], options: TokenizerCallOptions & { returnTensors: "dl" }): BatchEncoding<Tensor>;
  call(text: string, options?: TokenizerCallOptions): BatchEncoding<number[]>;
  call(text: string[], options?: TokenizerCallOptions): BatchEncoding<number[][]>;
  call(text: string | string[], options?: TokenizerCallOptions): BatchEncoding;
  call(text: string | string[], options: TokenizerCallOptions = {}): BatchEncoding {
    const op = "tokenizer";
    const single = typeof text === "string";
    const texts = single ? [text] : text;
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
      throw new ArgumentError(op, "text must be a string or an array of strings");
    const pairsRaw = options.textPair ?? null;
    const pairs = pairsRaw === null ? null : typeof pairsRaw === "string" ? [pairsRaw] : pairsRaw;
    if (pairs && pairs.length !== texts.length) throw new ArgumentError(op, `got ${texts.length} texts and ${pairs.length} text pairs`);
    const padding: PaddingStrategy = options.padding ?? false;
    const truncation: TruncationStrategy = options.truncation ?? false;
    const maxLength = options.maxLength ?? this.modelMaxLength;
    if (options.maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0))
      throw new ArgumentError(op, `maxLength must be a positive integer, got ${maxLength}`);
    const encoded = texts.map((t, i) =>
      this.encodeOne(t, pairs ? (pairs[i] as string) : null, {
        addSpecialTokens: options.addSpecialTokens ?? true,
        truncate: truncation,
        maxLength,
      }),
    );
    let target = -1;
    if (padding === true || padding === "longest") target = Math.max(0, ...encoded.map((e) => e.ids.length));
    else if (padding === "max_length") {
      if (maxLength === Number.MAX_SAFE_INTEGER)
        throw new ArgumentError(op, 'padding "max_length" needs maxLength (the tokenizer has no model_max_length)');
      target = maxLength;
    }
    if (target >= 0 && options.padToMultipleOf) target = Math.ceil(target / options.padToMultipleOf) * options.padToMultipleOf;
    const masks = encoded.map((e) => e.ids.map(() => 1));
    const types = encoded.map((e) => e.typeIds);
    let ids = encoded.map((e) => e.ids);
    if (target >= 0 && ids.some((r) => r.length < target)) {
      const pad = this.padTokenId;
      if (pad === null) {
        throw new ArgumentError(
          op,
          "asking to pad but the tokenizer has no padding token: set tokenizer.padToken (e.g. = tokenizer.eosToken) first",
        );
      }
      const padRow = (row: number[], v: number) => {
        const fill = new Array<number>(Math.max(0, target - row.length)).fill(v);
        return this.paddingSide === "left" ? [...fill, ...row] : [...row, ...fill];
      };
      ids = ids.map((r) => padRow(r, pad));
      for (let i = 0; i < masks.length; i++) {
        masks[i] = padRow(masks[i] as number[], 0);
        types[i] = padRow(types[i] as number[], 0);
      }
    }
    const withTypes = options.returnTokenTypeIds ?? this.modelInputNames.includes("token_type_ids");
    const withMask = options.returnAttentionMask ?? true;
    if (options.returnTensors === "dl") {
      const L = ids[0]?.length ?? 0;
      if (ids.some((r) => r.length !== L)) {
        throw new ArgumentError(
          op,
          `the sequences have different lengths (${ids.map((r) => r.length).join(", ")}); use padding: true (or "max_length") and truncation: true to make a tensor`,
        );
      }
      const t = (rows: number[][]) => fromHost(rows.flat(), [rows.length, L], { dtype: "int64" });
      return { inputIds: t(ids), ...(withMask ? { attentionMask: t(masks) } : {}), ...(withTypes ? { tokenTypeIds: t(types) } : {}) };
    }
    const pick = <T>(rows: T[]) => (single ? (rows[0] as T) : rows);
    return {
      inputIds: pick(ids) as number[] | number[][],
      ...(withMask ? { attentionMask: pick(masks) as number[] | number[][] } : {}),
      ...(withTypes ? { tokenTypeIds: pick(types) as number[] | number[][] } : {}),
    };
  }

  // ---- decoding ----

  /** Text of a sequence of ids (a number array, or a 1-D tensor). */
  decode(ids: number[] | Tensor, options: DecodeOptions = {}): string {
    const list = Array.isArray(ids) ? ids : Array.from(ids.dataSync(), Number);
    if (list.length === 0) return "";
    return this.tokenizer.decode(list, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces ?? null,
    });
  }

  /** Texts of a batch: number[][] or a [B, T] tensor. */
  batchDecode(batch: number[][] | Tensor, options: DecodeOptions = {}): string[] {
    if (Array.isArray(batch)) return batch.map((r) => this.decode(r, options));
    if (batch.ndim !== 2) throw new ArgumentError("batchDecode", `expected a [batch, seq] tensor, got ${batch.ndim} dims`);
    const [B, T] = batch.shape as [number, number];
    const v = Array.from(batch.dataSync(), Number);
    return Array.from({ length: B }, (_, b) => this.decode(v.slice(b * T, (b + 1) * T), options));
  }

  /** Writes tokenizer.json and tokenizer_config.json (the padding side and special tokens as set now). */
  async savePretrained(target: SaveTarget): Promise<void> {
    const write = resolveTarget("savePretrained", target);
    await write(TOKENIZER_FILE, JSON.stringify(this.tokenizerJson));
    const cfg: Record<string, unknown> = { ...this.config, padding_side: this.paddingSide, truncation_side: this.truncationSide };
    if (this.modelMaxLength !== Number.MAX_SAFE_INTEGER) cfg.model_max_length = this.modelMaxLength;
    await write(TOKENIZER_CONFIG_FILE, `${JSON.stringify(cfg, null, 2)}\n`);
  }
}

/** The fast tokenizers' truncation of a text (or pair) to `budget` tokens (tokenizers' truncate_encodings). */
function truncatePair(
  a: string[],
  b: string[] | null,
  budget: number,
  strategy: TruncationStrategy,
  side: "left" | "right",
): [string[], string[] | null] {
  const max = Math.max(0, budget);
  const keep = (x: string[], n: number) => (n >= x.length ? x : side === "right" ? x.slice(0, n) : x.slice(x.length - n));
  const total = a.length + (b?.length ?? 0);
  if (total <= max) return [a, b];
  const over = total - max;
  if (b === null || strategy === "only_first") return [keep(a, Math.max(0, a.length - over)), b];
  if (strategy === "only_second") return [a, keep(b, Math.max(0, b.length - over))];
  // longest_first: the shorter keeps what it can, at least half the budget goes to each.
  let n1 = a.length;
  let n2 = b.length;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > max ? n1 : Math.max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = Math.floor(max / 2);
    n2 = n1 + (max % 2);
  }
  if (swap) [n1, n2] = [n2, n1];
  return [keep(a, n1), keep(b, n2)];
}

/** transformers' AutoTokenizer: every tokenizer.json loads through PreTrainedTokenizer. */
export const AutoTokenizer = {
  fromPretrained: (source: PretrainedSource | ModelFiles, overrides: Record<string, unknown> = {}) =>
    PreTrainedTokenizer.fromPretrained(source, overrides),
};
