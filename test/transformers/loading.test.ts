import "@dl/autograd";
import "../helpers/backends.js";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSafetensors } from "@dl/nn";
import { ShapeError, randn } from "@dl/tensor";
import {
  AutoConfig,
  AutoModel,
  AutoModelForCausalLM,
  AutoModelForMaskedLM,
  AutoModelForSequenceClassification,
  BertForMaskedLM,
  BertForSequenceClassification,
  GPT2Config,
  GPT2LMHeadModel,
  GPT2Model,
} from "@dl/transformers";
import { afterAll, describe, expect, it } from "vitest";
import { expectClose, fromSpec } from "../helpers/fixtures.js";
import { TOL, expected, filesOf, fixtureDir, model } from "./helpers.js";

const g = expected.gpt2;
const quiet = { warn: () => {} };
const tmp = mkdtempSync(join(tmpdir(), "dl-transformers-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("fromPretrained: sources and the real files' traps", () => {
  it("a GPT2Model file (no transformer. prefix, attn.bias / attn.masked_bias buffers, no lm_head) loads into GPT2LMHeadModel", async () => {
    const warnings: string[] = [];
    const m = await GPT2LMHeadModel.fromPretrained(model("gpt2-base"), { warn: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expectClose(m.call(fromSpec(g.input_ids)).logits, g.logits, TOL);
    expect(m.lm_head.weight).toBe(m.transformer.wte.weight);
  });

  it("a sharded checkpoint (model.safetensors.index.json)", async () => {
    const m = await GPT2LMHeadModel.fromPretrained(model("gpt2-sharded"), quiet);
    expectClose(m.call(fromSpec(g.input_ids)).logits, g.logits, TOL);
  });

  it("an object of { fileName: contents } (what a browser app passes)", async () => {
    const m = await GPT2LMHeadModel.fromPretrained(filesOf("gpt2"), quiet);
    expectClose(m.call(fromSpec(g.input_ids)).logits, g.logits, TOL);
  });

  it("a URL base, fetched", async () => {
    const server = createServer((req, res) => {
      try {
        const body = readFileSync(join(fixtureDir, decodeURIComponent(req.url ?? "")));
        res.writeHead(200).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as { port: number };
      const m = await AutoModelForCausalLM.fromPretrained(`http://127.0.0.1:${port}/gpt2-sharded`, quiet);
      expect(m).toBeInstanceOf(GPT2LMHeadModel);
      expectClose(m.call(fromSpec(g.input_ids)).logits, g.logits, TOL);
    } finally {
      server.close();
    }
  });

  it("a shape mismatch names the key, both shapes and the file", async () => {
    const p = fromPretrainedError(GPT2LMHeadModel.fromPretrained(filesOf("gpt2", { n_inner: 32 }), quiet));
    await expect(p).rejects.toThrow(ShapeError);
    await expect(p).rejects.toThrow(/transformer\.h\.0\.mlp\.c_fc\.weight' in files\["model\.safetensors"\] has shape \[16,64\], the model's is \[16,32\]/);
  });

  it("ignoreMismatchedSizes re-initializes with a warning", async () => {
    const warnings: string[] = [];
    const m = await BertForSequenceClassification.fromPretrained(filesOf("bert-cls", { id2label: { 0: "a", 1: "b" }, label2id: { a: 0, b: 1 } }), {
      ignoreMismatchedSizes: true,
      warn: (w) => warnings.push(w),
    });
    expect(m.config.numLabels).toBe(2);
    expect(warnings.join("\n")).toMatch(/classifier\.weight.*\[3,16\].*\[2,16\].*newly initialized/);
  });

  it("a missing key of the base model is an error naming it, its shape and the file", async () => {
    const files = filesOf("gpt2");
    const { tensors } = loadSafetensors(files["model.safetensors"] as Uint8Array);
    delete tensors["transformer.h.1.ln_2.bias"];
    const { saveSafetensors } = await import("@dl/nn");
    const bad = { ...files, "model.safetensors": saveSafetensors(tensors, { format: "pt" }) };
    await expect(GPT2LMHeadModel.fromPretrained(bad, quiet)).rejects.toThrow(/missing from files\["model\.safetensors"\]: 'transformer\.h\.1\.ln_2\.bias' \[16\]/);
  });

  it("a directory without weights says what it found", async () => {
    await expect(GPT2Model.fromPretrained({ "config.json": readFileSync(join(model("gpt2"), "config.json"), "utf8") })).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});

describe("Auto classes", () => {
  it("dispatch on model_type", async () => {
    expect(await AutoConfig.fromPretrained(model("gpt2"))).toBeInstanceOf(GPT2Config);
    expect(await AutoModel.fromPretrained(model("gpt2"), quiet)).toBeInstanceOf(GPT2Model);
    expect(await AutoModelForSequenceClassification.fromPretrained(model("bert-cls"), quiet)).toBeInstanceOf(BertForSequenceClassification);
    expect(await AutoModelForMaskedLM.fromPretrained(model("bert-mlm"), quiet)).toBeInstanceOf(BertForMaskedLM);
    await expect(AutoModelForCausalLM.fromPretrained(model("bert-cls"), quiet)).rejects.toThrow(/no AutoModelForCausalLM for model_type "bert"; known: gpt2/);
  });

  it("a user's architecture registers with AutoConfig and an AutoModel factory", async () => {
    class TinyConfig extends GPT2Config {
      static override modelType = "tiny-gpt";
    }
    class TinyLM extends GPT2LMHeadModel {}
    AutoConfig.register("tiny-gpt", TinyConfig);
    AutoModelForCausalLM.register(TinyConfig, TinyLM);
    const cfg = AutoConfig.forModel("tiny-gpt", { n_embd: 8, n_layer: 1, n_head: 2, vocab_size: 10, n_positions: 8 });
    expect(cfg).toBeInstanceOf(TinyConfig);
    const m = AutoModelForCausalLM.fromConfig(cfg);
    expect(m).toBeInstanceOf(TinyLM);
    const dir = join(tmp, "tiny");
    await m.savePretrained(dir);
    const back = await AutoModelForCausalLM.fromPretrained(dir, quiet);
    expect(back).toBeInstanceOf(TinyLM);
    expect(() => AutoConfig.register("tiny-gpt", TinyConfig)).toThrow(/already registered/);
  });
});

describe("savePretrained", () => {
  it("writes files transformers loads: config.json, safetensors with format pt, tied weights once", async () => {
    const m = await GPT2LMHeadModel.fromPretrained(model("gpt2"), quiet);
    const dir = join(tmp, "gpt2-saved");
    await m.savePretrained(dir);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors"]);
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const src = JSON.parse(readFileSync(join(model("gpt2"), "config.json"), "utf8"));
    // Every key of the source comes back (n_ctx, summary_*, task_specific_params: unknown or not).
    for (const [k, v] of Object.entries(src)) expect(cfg[k], k).toEqual(v);
    const { tensors, metadata } = loadSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
    expect(metadata).toEqual({ format: "pt" });
    expect(Object.keys(tensors)).not.toContain("lm_head.weight");
    expect(Object.keys(tensors)).toContain("transformer.wte.weight");
    const back = await GPT2LMHeadModel.fromPretrained(dir, quiet);
    const ids = fromSpec(g.input_ids);
    expect(Array.from(back.call(ids).logits.dataSync())).toEqual(Array.from(m.call(ids).logits.dataSync()));
  });

  it("shards past maxShardSize with an index, and a callback target gets every file", async () => {
    const m = await BertForMaskedLM.fromPretrained(model("bert-mlm"), quiet);
    const files: Record<string, Uint8Array | string> = {};
    await m.savePretrained((name, data) => void (files[name] = data), { maxShardSize: 10_000 });
    const index = JSON.parse(files["model.safetensors.index.json"] as string);
    const shards = new Set(Object.values(index.weight_map));
    expect(shards.size).toBeGreaterThan(1);
    expect(Object.keys(index.weight_map)).not.toContain("cls.predictions.decoder.weight");
    expect(Object.keys(index.weight_map)).not.toContain("cls.predictions.decoder.bias");
    expect(Object.keys(index.weight_map)).toContain("cls.predictions.bias");
    const back = await BertForMaskedLM.fromPretrained(files, quiet);
    const ids = fromSpec(expected.bert.input_ids);
    expectClose(back.call(ids).logits, { dtype: "float32", shape: [...m.call(ids).logits.shape], data: Array.from(m.call(ids).logits.dataSync()) }, { rtol: 0, atol: 0 });
  });

  it("a trained model saves its new weights", async () => {
    const m = new GPT2LMHeadModel(new GPT2Config({ nEmbd: 8, nLayer: 1, nHead: 2, vocabSize: 12, nPositions: 8 }));
    m.transformer.wte.weight.detach().copy_(randn([12, 8]));
    const files: Record<string, Uint8Array | string> = {};
    await m.savePretrained((n, d) => void (files[n] = d));
    const back = await GPT2LMHeadModel.fromPretrained(files, quiet);
    expect(Array.from(back.lm_head.weight.dataSync())).toEqual(Array.from(m.transformer.wte.weight.dataSync()));
  });
});

function fromPretrainedError<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
