import "@dl/autograd";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Linear, ReLU, Sequential, loadSafetensors } from "@dl/nn";
import { LoraConfig, PeftModel, configFromDict, getPeftModel, removeAdapterName } from "@dl/peft";
import { DLError, ShapeError, type Tensor, manualSeed, randn } from "@dl/tensor";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { Gpt2Shaped, fixtureDir, loadBase } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

const fx = loadFixtures("peft");
const mlp = () => new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 5));
const data = (t: Tensor) => Array.from(t.dataSync());
/** A case directory as an object of file name -> bytes (the browser form of a source). */
const filesOf = (name: string) => Object.fromEntries(readdirSync(fixtureDir(name)).map((f) => [f, new Uint8Array(readFileSync(join(fixtureDir(name), f)))]));

afterEach(() => vi.restoreAllMocks());

describe("adapter_config.json", () => {
  it("ours has exactly the keys PEFT writes (PEFT 0.14), sorted, and reads back", () => {
    const c = new LoraConfig({ r: 4, targetModules: ["q", "v"], taskType: "CAUSAL_LM" });
    const peftKeys = Object.keys(JSON.parse(readFileSync(join(fixtureDir("conv1d"), "adapter_config.json"), "utf8")));
    expect(Object.keys(c.toDict())).toEqual(peftKeys);
    const back = configFromDict(JSON.parse(JSON.stringify(c.toDict())));
    expect(back).toBeInstanceOf(LoraConfig);
    expect(back.toDict()).toEqual(c.toDict());
  });

  it("reads PEFT's config files: peft_type required, unknown keys dropped with a warning, unsupported features refused", () => {
    const d = JSON.parse(readFileSync(join(fixtureDir("patterns"), "adapter_config.json"), "utf8"));
    const c = configFromDict(d) as LoraConfig;
    expect([c.r, c.loraAlpha, c.useRslora, c.bias, c.targetModules, c.fanInFanOut]).toEqual([2, 3, true, "all", ".*\\.(c_attn|c_fc)", true]);
    expect(c.rankPattern).toEqual({ "h.1.attn.c_attn": 3 });
    const warn = vi.fn();
    configFromDict({ ...d, peft_version: "0.17.0", brand_new_option: 1 }, { warn });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('unexpected keys ["brand_new_option"] for LORA are ignored'));
    expect(() => configFromDict({ r: 8 })).toThrow(/missing the required key 'peft_type'/);
    expect(() => configFromDict({ peft_type: "IA3" })).toThrow(/peft_type "IA3" is not supported/);
    expect(() => configFromDict({ ...d, use_dora: true })).toThrow(DLError);
    expect(() => configFromDict({ ...d, r: "8" })).toThrow(/'r' has the wrong type/);
    expect(() => configFromDict([1])).toThrow(/JSON object/);
  });

  it("removes the adapter name as PEFT does", () => {
    expect(removeAdapterName("base_model.model.h.0.c_attn.lora_A.default.weight", "default")).toBe("base_model.model.h.0.c_attn.lora_A.weight");
    expect(removeAdapterName("base_model.model.default.lora_A.default.weight", "default")).toBe("base_model.model.default.lora_A.weight");
    expect(removeAdapterName("prompt_encoder.default", "default")).toBe("prompt_encoder");
  });
});

describeEachBackend("PEFT's files load, ours match them", () => {
  const makers: Record<string, () => Sequential | Gpt2Shaped> = { mlp, conv1d: () => new Gpt2Shaped(), patterns: () => new Gpt2Shaped() };

  for (const name of ["mlp", "conv1d", "patterns"]) {
    it(`${name}: loads from a directory and from an object of files, frozen by default, to PyTorch's outputs`, async () => {
      vi.spyOn(console, "warn").mockImplementation(() => {});
      const f = fx[name];
      const x = fromSpec(f.x);
      const fromDir = await PeftModel.fromPretrained(await loadBase(makers[name]?.() as Gpt2Shaped, name), fixtureDir(name));
      expectClose(fromDir.call(x) as Tensor, f.out);
      expect(fromDir.getNbTrainableParameters()[0]).toBe(0);
      expect(fromDir.training).toBe(false);
      expect(fromDir.activePeftConfig.inferenceMode).toBe(true);
      const fromObj = await PeftModel.fromPretrained(await loadBase(makers[name]?.() as Gpt2Shaped, name), filesOf(name));
      expectClose(fromObj.call(x) as Tensor, f.out);
    });

    it(`${name}: savePretrained writes PEFT's keys and shapes and reloads to identical outputs`, async () => {
      vi.spyOn(console, "warn").mockImplementation(() => {});
      const f = fx[name];
      const peft = await PeftModel.fromPretrained(await loadBase(makers[name]?.() as Gpt2Shaped, name), fixtureDir(name));
      const dir = await mkdtemp(join(tmpdir(), "dl-peft-"));
      try {
        const files = await peft.savePretrained(dir);
        expect(Object.keys(files).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
        const st = loadSafetensors(await readFile(join(dir, "adapter_model.safetensors")));
        expect(st.metadata).toEqual({ format: "pt" });
        expect(Object.fromEntries(Object.entries(st.tensors).map(([k, t]) => [k, [...t.shape]]))).toEqual(f.disk_shapes);
        const theirs = JSON.parse(readFileSync(join(fixtureDir(name), "adapter_config.json"), "utf8"));
        const ours = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf8"));
        expect(ours).toEqual(theirs);
        const again = await PeftModel.fromPretrained(await loadBase(makers[name]?.() as Gpt2Shaped, name), dir);
        const x = fromSpec(f.x);
        expect(data(again.call(x) as Tensor)).toEqual(data(peft.call(x) as Tensor));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("loads from a URL base over HTTP", async () => {
    const server = createServer((req, res) => {
      const file = join(fixtureDir("mlp"), (req.url ?? "").replace(/^\/adapters\/mlp\//, ""));
      try {
        res.end(readFileSync(file));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const { port } = server.address() as AddressInfo;
      const peft = await PeftModel.fromPretrained(await loadBase(mlp(), "mlp"), `http://127.0.0.1:${port}/adapters/mlp/`);
      expectClose(peft.call(fromSpec(fx.mlp.x)) as Tensor, fx.mlp.out);
      await expect(PeftModel.fromPretrained(mlp(), `http://127.0.0.1:${port}/nothing`)).rejects.toThrow(/adapter_config.json not found/);
    } finally {
      server.close();
    }
  });

  it("isTrainable loads the adapter ready to train; a second adapter loads under its own name", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const peft = await PeftModel.fromPretrained(await loadBase(mlp(), "mlp"), fixtureDir("mlp"), { isTrainable: true });
    expect(peft.getNbTrainableParameters()[0]).toBe(4 * 6 + 8 * 4 + 5 * 8 + 5);
    await peft.loadAdapter(filesOf("mlp"), "second");
    expect(Object.keys(peft.peftConfig)).toEqual(["default", "second"]);
    // the active adapter still trains; the loaded one waits, frozen, for setAdapter
    expect(peft.getNbTrainableParameters()[0]).toBe(4 * 6 + 8 * 4 + 5 * 8 + 5);
    expect([...peft.namedParameters()].filter(([n, p]) => n.includes(".second.") && p.requiresGrad)).toEqual([]);
    const files = await peft.savePretrained();
    expect(Object.keys(files).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors", "second/adapter_config.json", "second/adapter_model.safetensors"]);
  });
});

describe("loading validates and says what is wrong", () => {
  const files = () => filesOf("mlp");
  it("missing files, bad JSON, pickles", async () => {
    await expect(PeftModel.fromPretrained(mlp(), {})).rejects.toThrow(/adapter_config.json not found in the given files/);
    await expect(PeftModel.fromPretrained(mlp(), { ...files(), "adapter_config.json": "{oops" })).rejects.toThrow(/not valid JSON/);
    const { "adapter_model.safetensors": _, ...noWeights } = files();
    await expect(PeftModel.fromPretrained(mlp(), noWeights)).rejects.toThrow(/adapter_model.safetensors not found/);
    await expect(PeftModel.fromPretrained(mlp(), { ...noWeights, "adapter_model.bin": new Uint8Array(4) })).rejects.toThrow(/PyTorch pickle/);
    await expect(PeftModel.fromPretrained(mlp(), "/nonexistent/dir")).rejects.toThrow(DLError);
    await expect(PeftModel.fromPretrained(mlp(), { ...files(), "adapter_model.safetensors": new Uint8Array(12) })).rejects.toThrow(DLError);
  });

  it("wrong shapes (another r) are a ShapeError, wrong keys a DLError naming them", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const cfg = JSON.parse(new TextDecoder().decode(files()["adapter_config.json"]));
    await expect(PeftModel.fromPretrained(mlp(), { ...files(), "adapter_config.json": JSON.stringify({ ...cfg, r: 3 }) })).rejects.toThrow(ShapeError);
    await expect(PeftModel.fromPretrained(mlp(), { ...files(), "adapter_config.json": JSON.stringify({ ...cfg, r: 3 }) })).rejects.toThrow(
      /base_model.model.0.lora_A.weight: the file has \[4,6\], the model expects \[3,6\]/,
    );
    await expect(
      PeftModel.fromPretrained(mlp(), { ...files(), "adapter_config.json": JSON.stringify({ ...cfg, target_modules: ["0", "2"], modules_to_save: null }) }),
    ).rejects.toThrow(/missing adapter key\(s\): base_model.model.2.lora_A.weight, base_model.model.2.lora_B.weight/);
    await expect(
      PeftModel.fromPretrained(mlp(), { ...files(), "adapter_config.json": JSON.stringify({ ...cfg, modules_to_save: null }) }),
    ).rejects.toThrow(/unexpected key\(s\).*base_model.model.2.weight/);
  });

  it("a config object can be passed parsed", async () => {
    manualSeed(0);
    const peft = getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], initLoraWeights: false }));
    const out = await peft.savePretrained();
    const src = { "adapter_config.json": JSON.parse(out["adapter_config.json"] as string), "adapter_model.safetensors": out["adapter_model.safetensors"] as Uint8Array };
    const x = randn(2, 6);
    const y = data(peft.call(x) as Tensor);
    const again = await PeftModel.fromPretrained(peft.unload(), src);
    expect(data(again.call(x) as Tensor)).toEqual(y);
  });
});
