import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "@dl/autograd";
import { Linear, Module, SafetensorsError, Sequential, load, loadSafetensors, save, saveSafetensors } from "@dl/nn";
import { type DType, type Tensor, arange, fromHost, randn, relu, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec } from "../helpers/fixtures.js";

const dir = join(import.meta.dirname, "..", "fixtures", "safetensors");
const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
  dtypes: Record<string, TSpec>;
  metadata: Record<string, string>;
  widened: Record<string, TSpec>;
  mlp: { state_dict: Record<string, TSpec>; x: TSpec; y: TSpec };
};

class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Assembles a safetensors file from a header (object or raw JSON text) and data bytes. */
function build(header: unknown, data: number[] | Uint8Array = [], options: { length?: bigint; pad?: boolean } = {}): Uint8Array {
  let json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  if (options.pad !== false && json.length % 8) json = new Uint8Array([...json, ...new Array(8 - (json.length % 8)).fill(0x20)]);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, options.length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describeEachBackend("safetensors", () => {
  describe("interop with files written from PyTorch tensors", () => {
    it("loads every dtype with exact values, shapes and metadata", () => {
      const { tensors, metadata } = loadSafetensors(file("dtypes.safetensors"));
      expect(metadata).toEqual(expected.metadata);
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.dtypes).sort());
      for (const [name, spec] of Object.entries(expected.dtypes)) {
        const t = tensors[name] as Tensor;
        expectClose(t, spec, { rtol: 0, atol: 0 });
        // -0.0 keeps its sign
        const got = Array.from(t.dataSync());
        spec.data.forEach((v, i) => {
          if (v === 0) expect(Object.is(got[i], -0), `${name}[${i}] sign`).toBe(Object.is(v, -0));
        });
      }
      expect((tensors.i64 as Tensor).tolist()).toEqual([2 ** 53 - 1, -(2 ** 53), 0, -1, 123456789012]);
    });

    it("writes the same bytes as the reference writer for the same tensors and metadata", () => {
      const bytes = file("dtypes.safetensors");
      const { tensors, metadata } = loadSafetensors(bytes);
      expect(saveSafetensors(tensors, metadata)).toEqual(bytes);
      // insertion order does not matter: the layout is sorted
      const reversed = Object.fromEntries(Object.entries(tensors).reverse());
      expect(saveSafetensors(reversed, { source: "dl gen_safetensors.py", format: "pt" })).toEqual(bytes);
      const mlp = file("mlp.safetensors");
      expect(saveSafetensors(loadSafetensors(mlp).tensors)).toEqual(mlp);
    });

    it("widens U8/I8/I16/U16 to int32 and U32/U64 to int64", () => {
      const { tensors, metadata } = loadSafetensors(file("widened.safetensors"));
      expect(metadata).toBe(null);
      for (const [name, spec] of Object.entries(expected.widened)) expectClose(tensors[name] as Tensor, spec, { rtol: 0, atol: 0 });
    });

    it("a PyTorch nn.Sequential state dict loads into the equivalent dl model and gives the same outputs", async () => {
      const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 3));
      model.loadStateDict(await load(file("mlp.safetensors")));
      expectClose(model.call(fromSpec(expected.mlp.x)) as Tensor, expected.mlp.y);
      for (const [k, spec] of Object.entries(expected.mlp.state_dict)) expectClose(model.stateDict()[k] as Tensor, spec, { rtol: 0, atol: 0 });
      // and dl's file of that model is the reference writer's file
      expect(saveSafetensors(model.stateDict())).toEqual(file("mlp.safetensors"));
    });

    it("matches the byte vectors of the Rust implementation's own tests", () => {
      // safetensors/src/tensor.rs: test_serialization, test_empty, test_serialization_forced_alignement
      const attn = fromHost([0, 1, 2, 3, 4, 5], [1, 2, 3], { dtype: "float32" });
      const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
      expect(Array.from(saveSafetensors({ "attn.0": attn }))).toEqual([64, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode(header), ...f32(0, 1, 2, 3, 4, 5)]);
      expect(Array.from(saveSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
      expect(Array.from(saveSafetensors({}, { framework: "pt" }))).toEqual([
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34,
        58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
      ]);
      const out = saveSafetensors({ attn0: attn.view(1, 1, 2, 3) });
      expect(Array.from(out.slice(0, 8))).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
      expect(Array.from(out.slice(8 + 65, 8 + 72))).toEqual([32, 32, 32, 32, 32, 32, 32]);
    });
  });

  describe("round trips", () => {
    it("every dtype, 0-d, empty and non-contiguous tensors, odd names", () => {
      const make = (dtype: DType) => fromHost([1, 0, 3, 250, 7, 1], [2, 3], { dtype });
      const tensors: Record<string, Tensor> = {
        "f32.t": randn(3, 4).t(),
        f64: randn(5, { dtype: "float64" }),
        f16: make("float16"),
        bf16: make("bfloat16"),
        i32: make("int32"),
        i64: arange(-3, 3),
        b: make("bool"),
        zero: tensor(3),
        none: randn(0, 2),
        "名前 with \"quotes\" and \\ and \n": tensor([1, 2]),
      };
      Object.defineProperty(tensors, "__proto__", { value: tensor([9]), enumerable: true });
      const back = loadSafetensors(saveSafetensors(tensors, { "ключ": "значение", a: "" })).tensors;
      expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
      for (const [k, t] of Object.entries(tensors)) {
        const b = back[k] as Tensor;
        expect(b.dtype, k).toBe(t.dtype);
        expect(b.shape, k).toEqual(t.shape);
        expect(b.tolist(), k).toEqual(t.tolist());
      }
      expect(loadSafetensors(saveSafetensors({}, {})).metadata).toEqual({});
    });

    it("save/load through a file, a Blob, a Response and an ArrayBuffer", async () => {
      const model = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));
      const sd = model.stateDict();
      const tmp = await mkdtemp(join(tmpdir(), "dl-safetensors-"));
      try {
        const path = join(tmp, "model.safetensors");
        await save(sd, path, { metadata: { format: "pt" } });
        const bytes = new Uint8Array(await readFile(path));
        expect(bytes).toEqual(saveSafetensors(sd, { format: "pt" }));
        const fresh = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));
        fresh.loadStateDict(await load(path));
        const x = randn(4, 3);
        expect((fresh.call(x) as Tensor).tolist()).toEqual((model.call(x) as Tensor).tolist());
        await expect(load(join(tmp, "missing.safetensors"))).rejects.toThrow();
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      const blob = await save(sd);
      expect(blob).toBeInstanceOf(Blob);
      const fromBlob = await load(blob);
      expect(Object.keys(fromBlob).sort()).toEqual(Object.keys(sd).sort());
      const fromResponse = await load(new Response(await blob.arrayBuffer()));
      expect((fromResponse["0.weight"] as Tensor).tolist()).toEqual((sd["0.weight"] as Tensor).tolist());
      expect(Object.keys(await load(await blob.arrayBuffer()))).toHaveLength(4);
      await expect(load(new Response("nope", { status: 404 }))).rejects.toThrow(/load: the response failed \(HTTP 404/);
      await expect(load(42 as never)).rejects.toThrow(/load: expected a path, ArrayBuffer/);
    });

    it("saveSafetensors validates its arguments", () => {
      expect(() => saveSafetensors({ __metadata__: tensor([1]) })).toThrow(/saveSafetensors: "__metadata__" is reserved/);
      expect(() => saveSafetensors({ a: [1, 2] as never })).toThrow(/value for 'a' is not a Tensor/);
      expect(() => saveSafetensors({ a: tensor([1]) }, { n: 1 as never })).toThrow(/metadata values must be strings \(key 'n'/);
    });
  });

  describe("malformed files: every rule is checked before anything is read", () => {
    const ok = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    const cases: [string, Uint8Array, RegExp][] = [
      ["fewer than 8 bytes", new Uint8Array([1, 0, 0]), /the file has 3 bytes, too few to hold the 8-byte header length/],
      ["header length over the limit", build(ok, f32(1, 2), { length: 2n ** 40n }), /header length 1099511627776 exceeds the 100000000-byte limit/],
      ["header length past the end", build(ok, f32(1, 2), { length: 1000n }), /header length 1000 runs past the end of the file \(72 bytes\)/],
      ["invalid UTF-8", (() => {
        const b = build(ok, f32(1, 2));
        b[12] = 0xff;
        return b;
      })(), /the header is not valid UTF-8/],
      ["not an object", build("[1, 2, 3]"), /must be a JSON object starting with '\{'/],
      ["invalid JSON", build('{"w": {"dtype": "F32",'), /the header is not valid JSON/],
      ["metadata not an object", build({ __metadata__: ["a"] }), /"__metadata__" must be an object of strings/],
      ["metadata value not a string", build({ __metadata__: { epoch: 3 } }), /"__metadata__" must map strings to strings \(key 'epoch' holds 3\)/],
      ["entry not an object", build({ w: [1, 2] }), /tensor 'w': expected \{dtype, shape, data_offsets\}/],
      ["unknown dtype", build({ w: { dtype: "F17", shape: [2], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': unknown dtype "F17"/],
      ["missing dtype", build({ w: { shape: [2], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': unknown dtype undefined/],
      ["unsupported dtype", build({ w: { dtype: "F8_E4M3", shape: [8], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': dtype F8_E4M3 is not supported/],
      ["negative shape", build({ w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': shape must be an array of non-negative integers, got \[-2\]/],
      ["fractional shape", build({ w: { dtype: "F32", shape: [2.5], data_offsets: [0, 8] } }, f32(1, 2)), /shape must be an array of non-negative integers/],
      ["shape not an array", build({ w: { dtype: "F32", shape: "2", data_offsets: [0, 8] } }, f32(1, 2)), /shape must be an array/],
      ["offsets not a pair", build({ w: { dtype: "F32", shape: [2], data_offsets: [0] } }, f32(1, 2)), /tensor 'w': data_offsets must be \[begin, end\]/],
      ["negative offset", build({ w: { dtype: "F32", shape: [2], data_offsets: [-8, 0] } }, f32(1, 2)), /data_offsets must be \[begin, end\] with non-negative integers/],
      ["begin after end", build({ w: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, f32(1, 2)), /tensor 'w': data_offsets \[8, 0\] end before they begin/],
      ["offsets past the data", build({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(1, 2)), /tensor 'w': data_offsets \[0, 16\] run past the end of the data section \(8 bytes\)/],
      ["size mismatch", build({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': data_offsets \[0, 8\] hold 8 bytes, but a F32 tensor of shape \[3\] needs 12/],
      ["shape overflow", build({ w: { dtype: "F64", shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, f32(1, 2)), /tensor 'w': shape .* is too large/],
      [
        "overlapping regions",
        build({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)),
        /tensor 'b' \(data_offsets \[4, 12\]\) overlaps tensor 'a' \(data_offsets \[0, 8\]\)/,
      ],
      [
        "duplicated region",
        build({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "I32", shape: [2], data_offsets: [0, 8] } }, f32(1, 2)),
        /overlaps/,
      ],
      [
        "gap between regions",
        build({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } }, f32(1, 2, 3)),
        /bytes 4..8 of the data section belong to no tensor \(a gap before tensor 'b'\)/,
      ],
      ["gap at the start", build({ w: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /bytes 0..4 of the data section belong to no tensor/],
      ["trailing garbage", build(ok, [...f32(1, 2), 9, 9, 9]), /3 trailing bytes after the last tensor's data \(the data section has 11 bytes, the tensors cover 8\)/],
      ["data but no tensors", build({}, [1, 2, 3, 4]), /4 trailing bytes/],
    ];
    for (const [name, bytes, pattern] of cases) {
      it(name, () => {
        expect(() => loadSafetensors(bytes)).toThrow(pattern);
        expect(() => loadSafetensors(bytes)).toThrow(/^loadSafetensors: /);
      });
    }

    it("a header nested thousands deep is a typed error, not a stack overflow", () => {
      const deep = `{"w": ${"[".repeat(4000)}${"]".repeat(4000)}}`;
      for (const bytes of [build(deep), build(`{"__metadata__": {"a": ${"{".repeat(5000)}`)]) {
        const e = thrown(() => loadSafetensors(bytes));
        expect(e).toBeInstanceOf(SafetensorsError);
        expect((e as Error).message).toMatch(/^loadSafetensors: the header nests deeper than 64 levels/);
      }
    });

    it("error messages stay short and fast for huge values and names", () => {
      const huge = "x".repeat(20_000_000);
      const files = [
        build({ __metadata__: { k: { v: huge } } }, [], { pad: false }),
        build({ [huge]: { dtype: "F32", shape: [huge], data_offsets: [0, 0] } }, [], { pad: false }),
      ];
      const started = performance.now();
      const [e1, e2] = files.map((f) => thrown(() => loadSafetensors(f)));
      expect(performance.now() - started).toBeLessThan(3000);
      for (const e of [e1, e2]) {
        expect(e).toBeInstanceOf(SafetensorsError);
        expect((e as Error).message.length).toBeLessThan(400);
      }
    });

    it("duplicate keys are rejected (the format disallows them; JSON.parse would keep the last silently)", () => {
      const dup = build('{"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(1));
      expect(() => loadSafetensors(dup)).toThrow(/^loadSafetensors: duplicate key "w" in the header/);
      const dupField = build('{"w": {"dtype": "F32", "dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}', f32(1));
      expect(() => loadSafetensors(dupField)).toThrow(/duplicate key "dtype"/);
      // Escapes name the same key.
      const escaped = build('{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, "\\u0061": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}');
      expect(() => loadSafetensors(escaped)).toThrow(/duplicate key "a"/);
    });

    it("a missing file is a typed error naming the path", async () => {
      const e = await load("/definitely/missing.safetensors").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SafetensorsError);
      expect((e as Error).message).toMatch(/^load: cannot read '\/definitely\/missing.safetensors' \(ENOENT/);
    });

    it("accepts what the rules allow: regions in any header order, unpadded headers, empty tensors", () => {
      const bytes = build(
        { b: { dtype: "F32", shape: [1], data_offsets: [4, 8] }, e: { dtype: "I64", shape: [0], data_offsets: [0, 0] }, a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
        f32(1, 2),
        { pad: false },
      );
      const { tensors } = loadSafetensors(bytes);
      expect((tensors.a as Tensor).tolist()).toEqual([1]);
      expect((tensors.b as Tensor).tolist()).toEqual([2]);
      expect((tensors.e as Tensor).shape).toEqual([0]);
      expect(() => loadSafetensors("x" as never)).toThrow(/expected an ArrayBuffer or Uint8Array/);
    });
  });
});
