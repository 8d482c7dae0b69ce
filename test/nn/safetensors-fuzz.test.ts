import { SafetensorsError, loadSafetensors } from "@dl/nn";
import { DLError, type Tensor } from "@dl/tensor";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import "../helpers/backends.js";

/**
 * Fuzzing the safetensors reader with files a hostile or broken writer could produce: valid files
 * (random dtypes, shapes, names, metadata, region order and padding) put through byte flips,
 * truncation, appended bytes, rewritten header lengths and header-level edits (deleted or retyped
 * fields, deep nesting, huge values, duplicate keys, shifted offsets). For every file:
 *   - loading never crashes and never throws anything but a SafetensorsError;
 *   - a file the format's rules reject (judged by the independent checker below) is never accepted;
 *   - a file the rules accept loads, with the names, shapes and dtypes its header declares.
 * Seeded, so a failure reproduces; thousands of files in a few seconds.
 */

const SIZES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const DL_DTYPE: Record<string, string> = {
  BOOL: "bool", U8: "int32", I8: "int32", I16: "int32", U16: "int32", F16: "float16", BF16: "bfloat16", I32: "int32", U32: "int64",
  F32: "float32", F64: "float64", I64: "int64", U64: "int64",
};
const MAX_HEADER = 100_000_000;

// ---- the oracle: the format's rules, written independently of the reader ----

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A strict JSON parser that rejects duplicate keys and nesting deeper than 64 (a header nests 3). */
function parseJson(text: string): Json | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw new Error("invalid");
  };
  const str = (): string => {
    const start = i;
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if ((text.charCodeAt(i) as number) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (depth: number): Json => {
    if (depth > 64) fail();
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: { [k: string]: Json } = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) fail();
        seen.add(k);
        ws();
        if (text[i++] !== ":") fail();
        Object.defineProperty(obj, k, { value: value(depth + 1), enumerable: true });
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return obj;
        } else fail();
      }
    }
    if (c === "[") {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return arr;
        } else fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
    return JSON.parse((m as RegExpExecArray)[0]) as Json;
  };
  try {
    const v = value(0);
    ws();
    return i === text.length ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Verdict {
  kind: "valid" | "invalid" | "unsupported";
  tensors?: Map<string, { dtype: string; shape: number[] }>;
}

const isIdx = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** What the format's rules say about a file. */
function judge(bytes: Uint8Array): Verdict {
  const invalid: Verdict = { kind: "invalid" };
  if (bytes.length < 8) return invalid;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER) || 8n + n > BigInt(bytes.length)) return invalid;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + Number(n)));
  } catch {
    return invalid;
  }
  if (!text.startsWith("{")) return invalid;
  const header = parseJson(text);
  if (header === undefined || header === null || typeof header !== "object" || Array.isArray(header)) return invalid;
  const dataLen = bytes.length - 8 - Number(n);
  const regions: [number, number][] = [];
  const tensors = new Map<string, { dtype: string; shape: number[] }>();
  let unsupported = false;
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info)) return invalid;
      if (!Object.values(info).every((v) => typeof v === "string")) return invalid;
      continue;
    }
    if (info === null || typeof info !== "object" || Array.isArray(info)) return invalid;
    const { dtype, shape, data_offsets: off } = info as Record<string, Json>;
    if (typeof dtype !== "string" || !(dtype in SIZES)) return invalid;
    if (!Array.isArray(shape) || !shape.every(isIdx)) return invalid;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isIdx)) return invalid;
    const [b, e] = off as [number, number];
    if (b > e || e > dataLen) return invalid;
    let size = SIZES[dtype] as number;
    for (const s of shape as number[]) size *= s;
    if (!Number.isSafeInteger(size) || e - b !== size) return invalid;
    regions.push([b, e]);
    if (DL_DTYPE[dtype] === undefined) unsupported = true;
    tensors.set(name, { dtype: DL_DTYPE[dtype] ?? "", shape: shape as number[] });
  }
  regions.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, e] of regions) {
    if (b !== at) return invalid;
    at = e;
  }
  if (at !== dataLen) return invalid;
  return unsupported ? { kind: "unsupported" } : { kind: "valid", tensors };
}

// ---- valid files, then mutations ----

interface Spec {
  entries: { name: string; dtype: string; shape: number[] }[];
  metadata: Record<string, string> | null;
  order: number[];
  pad: boolean;
}

const names = fc.stringMatching(/^[a-z._0-9]{1,6}$/);
const spec: fc.Arbitrary<Spec> = fc
  .record({
    entries: fc.uniqueArray(
      fc.record({ name: names, dtype: fc.constantFrom(...Object.keys(SIZES)), shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) }),
      { maxLength: 4, selector: (e) => e.name },
    ),
    metadata: fc.option(fc.dictionary(names, fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: null }),
    seed: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    pad: fc.boolean(),
  })
  .map(({ entries, metadata, seed, pad }) => ({
    entries: entries.filter((e) => e.name !== "__metadata__"),
    metadata,
    // A permutation of the regions' order in the data section.
    order: entries.map((_, i) => i).sort((a, b) => ((seed[a % 4] ?? 0) % 7) - ((seed[b % 4] ?? 0) % 7) || a - b),
    pad,
  }));

function headerOf(s: Spec): Record<string, unknown> {
  const header: Record<string, unknown> = {};
  if (s.metadata) header.__metadata__ = s.metadata;
  const offsets = new Map<number, [number, number]>();
  let at = 0;
  for (const i of s.order) {
    const e = s.entries[i] as Spec["entries"][number];
    const size = e.shape.reduce((a, b) => a * b, SIZES[e.dtype] as number);
    offsets.set(i, [at, at + size]);
    at += size;
  }
  s.entries.forEach((e, i) => {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: offsets.get(i) };
  });
  return header;
}

function dataLength(header: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(header)) if (k !== "__metadata__") n = Math.max(n, ((v as { data_offsets: number[] }).data_offsets[1] as number) ?? 0);
  return n;
}

function assemble(json: string, dataLen: number, pad: boolean, fill: number): Uint8Array {
  const raw = new TextEncoder().encode(json);
  const headLen = pad ? Math.ceil(raw.length / 8) * 8 : raw.length;
  const out = new Uint8Array(8 + headLen + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(headLen), true);
  out.set(raw, 8);
  out.fill(0x20, 8 + raw.length, 8 + headLen);
  const head = { length: headLen };
  for (let i = 0; i < dataLen; i++) out[8 + head.length + i] = (i * 31 + fill) & 0xff;
  return out;
}

/** A random JSON value, sometimes deep or large: what a hostile header puts where a field belongs. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 3000 }).map((d) => JSON.parse(`${"[".repeat(d)}${"]".repeat(d)}`)),
  fc.integer({ min: 1, max: 3000 }).map((d) => JSON.parse(`${'{"a":'.repeat(d)}1${"}".repeat(d)}`)),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => "x".repeat(n)),
  fc.constantFrom(-1, 0.5, 2 ** 53, 1e300, -0, "F32", "F8_E4M3", [1, 2, 3], [0], [-1, 4], [4, 0], null, true),
);

type HeaderEdit = (h: Record<string, unknown>) => string;
const headerEdit: fc.Arbitrary<HeaderEdit> = fc.oneof(
  // Retype or delete one field of one entry.
  fc.tuple(fc.nat(), fc.constantFrom("dtype", "shape", "data_offsets"), fc.option(hostileValue, { nil: undefined })).map(
    ([k, field, v]): HeaderEdit =>
      (h) => {
        const keys = Object.keys(h);
        const info = h[keys[k % Math.max(keys.length, 1)] ?? ""];
        if (info && typeof info === "object" && !Array.isArray(info)) {
          if (v === undefined) delete (info as Record<string, unknown>)[field];
          else (info as Record<string, unknown>)[field] = v;
        }
        return JSON.stringify(h);
      },
  ),
  // Shift one offset by a little.
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 1 }), fc.integer({ min: -3, max: 3 })).map(
    ([k, j, d]): HeaderEdit =>
      (h) => {
        const entries = Object.entries(h).filter(([n]) => n !== "__metadata__");
        const e = entries[k % Math.max(entries.length, 1)];
        if (e) ((e[1] as { data_offsets: number[] }).data_offsets[j] as number) += d;
        return JSON.stringify(h);
      },
  ),
  // A hostile value as metadata, as a whole entry, or under a huge name.
  hostileValue.map((v): HeaderEdit => (h) => JSON.stringify({ ...h, __metadata__: { k: v } })),
  hostileValue.map((v): HeaderEdit => (h) => JSON.stringify({ ...h, w: v })),
  fc.integer({ min: 100, max: 20_000 }).map((n): HeaderEdit => (h) => JSON.stringify({ ...h, ["n".repeat(n)]: { dtype: "F32", shape: [0], data_offsets: [0, 0] } })),
  // Duplicate a key (textually: JSON.stringify can't).
  fc.nat().map(
    (k): HeaderEdit =>
      (h) => {
        const keys = Object.keys(h);
        const key = keys[k % Math.max(keys.length, 1)];
        const json = JSON.stringify(h);
        return key === undefined ? json : `${json.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(h[key])}}`;
      },
  ),
  // Not an object, or cut short.
  fc.constantFrom<HeaderEdit>(
    () => "[]",
    () => '"x"',
    (h) => JSON.stringify(h).slice(0, -1),
    (h) => ` ${JSON.stringify(h)}`,
    (h) => `${JSON.stringify(h)}\u0000`,
  ),
);

type ByteEdit = (b: Uint8Array) => Uint8Array;
const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([i, v]): ByteEdit =>
      (b) => {
        const c = b.slice();
        if (c.length) c[i % c.length] = v;
        return c;
      },
  ),
  fc.nat().map((i): ByteEdit => (b) => b.slice(0, i % (b.length + 1))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra): ByteEdit => (b) => new Uint8Array([...b, ...extra])),
  fc.oneof(fc.bigUint({ max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 400n })).map(
    (n): ByteEdit =>
      (b) => {
        const c = b.slice();
        if (c.length >= 8) new DataView(c.buffer).setBigUint64(0, n, true);
        return c;
      },
  ),
);

const file = fc
  .tuple(
    spec,
    fc.option(headerEdit, { nil: undefined, freq: 2 }),
    fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: fc.array(byteEdit, { minLength: 1, maxLength: 3 }), weight: 1 }),
    fc.nat({ max: 255 }),
  )
  .map(([s, edit, edits, fill]) => {
    const header = headerOf(s);
    const dataLen = dataLength(header);
    let bytes = assemble(edit ? edit(header) : JSON.stringify(header), dataLen, s.pad, fill);
    for (const e of edits) bytes = e(bytes);
    return bytes;
  });

describe("safetensors reader fuzzing", () => {
  it("never crashes, never throws an untyped error, and accepts exactly what the format's rules accept", () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(file, (bytes) => {
        const verdict = judge(bytes);
        let loaded: Record<string, Tensor> | undefined;
        try {
          loaded = loadSafetensors(bytes).tensors;
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw new Error(`untyped error: ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}`);
          expect(e).toBeInstanceOf(DLError);
          expect((e as Error).message.length).toBeLessThan(1000);
          if (verdict.kind === "valid") throw new Error(`rejected a valid file: ${(e as Error).message}`);
          rejected++;
          return;
        }
        if (verdict.kind === "invalid") throw new Error("accepted a file the format's rules reject");
        accepted++;
        if (verdict.kind === "valid") {
          const want = verdict.tensors as Map<string, { dtype: string; shape: number[] }>;
          expect(Object.keys(loaded).sort()).toEqual([...want.keys()].sort());
          for (const [name, t] of Object.entries(loaded)) {
            expect(t.dtype).toBe(want.get(name)?.dtype);
            expect([...t.shape]).toEqual(want.get(name)?.shape);
          }
        }
      }),
      { seed: 20261206, numRuns: 3000 },
    );
    // Both outcomes are exercised, not only rejections.
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  }, 60_000);
});
