import {
  ArgumentError,
  type DType,
  DLError,
  type HostArray,
  Tensor,
  fromBuffer,
  fromHost,
  numberToBFloat16Bits,
  numberToFloat16Bits,
} from "@dl/tensor";

/**
 * The safetensors format (https://github.com/huggingface/safetensors), byte-compatible with the
 * reference Rust/Python writer:
 *
 *   [8 bytes: header length N, little-endian u64]
 *   [N bytes: UTF-8 JSON {"__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]}},
 *             padded with spaces to a multiple of 8]
 *   [data: every tensor's little-endian bytes, back to back, no gaps]
 *
 * Tensors are written sorted by descending dtype (the Rust Dtype order: I64, F64, F32, I32, BF16,
 * F16, BOOL, ...) and then by name, which is also their order in the header. The reader validates
 * every field before it uses any, and throws a SafetensorsError naming the problem.
 */

/**
 * A file that breaks the safetensors format (or cannot be read). Messages quote at most a short
 * preview of any header value, so a hostile header cannot make building the message slow.
 */
export class SafetensorsError extends DLError {}

export type SafetensorsMetadata = Record<string, string>;

export interface LoadedSafetensors {
  tensors: Record<string, Tensor>;
  /** The "__metadata__" map, or null when the file has none. */
  metadata: SafetensorsMetadata | null;
}

export interface LoadOptions {
  /** Device for the loaded tensors (default: the default device). */
  device?: string;
}

// The Rust Dtype enum in declaration order: its derived Ord decides the layout (descending).
const DTYPE_ORDER = [
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
] as const;
type StDType = (typeof DTYPE_ORDER)[number];
const ST_SIZE: Record<StDType, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};
const TO_ST: Record<DType, StDType> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  bfloat16: "BF16",
  int32: "I32",
  int64: "I64",
  bool: "BOOL",
};
// Stored types dl has no dtype for are widened losslessly (U64 is exact up to 2^53, like int64).
const FROM_ST: Partial<Record<StDType, DType>> = {
  F32: "float32",
  F64: "float64",
  F16: "float16",
  BF16: "bfloat16",
  I32: "int32",
  I64: "int64",
  BOOL: "bool",
  U8: "int32",
  I8: "int32",
  I16: "int32",
  U16: "int32",
  U32: "int64",
  U64: "int64",
};
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

/** Rust's str ordering: bytewise on UTF-8 (JS `<` compares UTF-16 code units, which differs above U+FFFF). */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

interface HostEntry {
  name: string;
  dtype: DType;
  shape: readonly number[];
  values: HostArray;
}

function entriesOf(op: string, tensors: Record<string, Tensor> | Map<string, Tensor>): [string, Tensor][] {
  if (tensors === null || typeof tensors !== "object")
    throw new ArgumentError(op, `expected a record or Map of tensors, got ${tensors === null ? "null" : typeof tensors}`);
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of list) {
    if (typeof name !== "string") throw new ArgumentError(op, `tensor names must be strings, got ${typeof name}`);
    if (name === "__metadata__") throw new ArgumentError(op, `"__metadata__" is reserved for the metadata and can't name a tensor`);
    if (!(t instanceof Tensor)) throw new ArgumentError(op, `value for '${name}' is not a Tensor`);
    t._assertLive(op);
  }
  return list;
}

function checkMetadata(op: string, metadata: SafetensorsMetadata | null | undefined): void {
  if (metadata === undefined || metadata === null) return;
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw new ArgumentError(op, "metadata must be a record of strings");
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new ArgumentError(op, `metadata values must be strings (key '${k}' holds a ${typeof v})`);
  }
}

function writeValues(out: Uint8Array, at: number, e: HostEntry): void {
  const n = e.values.length;
  const v = e.values;
  const direct = (a: Float32Array | Float64Array | Int32Array | Uint8Array) =>
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
  const view = new DataView(out.buffer, out.byteOffset + at, n * ST_SIZE[TO_ST[e.dtype]]);
  switch (e.dtype) {
    case "float32":
      if (LITTLE_ENDIAN) direct(v as Float32Array);
      else for (let i = 0; i < n; i++) view.setFloat32(i * 4, v[i] as number, true);
      break;
    case "float64":
      if (LITTLE_ENDIAN) direct(v as Float64Array);
      else for (let i = 0; i < n; i++) view.setFloat64(i * 8, v[i] as number, true);
      break;
    case "int32":
      if (LITTLE_ENDIAN) direct(v as Int32Array);
      else for (let i = 0; i < n; i++) view.setInt32(i * 4, v[i] as number, true);
      break;
    case "bool":
      for (let i = 0; i < n; i++) out[at + i] = v[i] ? 1 : 0;
      break;
    case "int64":
      // Held as doubles: exact for |x| <= 2^53.
      for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(Math.trunc(v[i] as number)), true);
      break;
    case "float16":
      for (let i = 0; i < n; i++) view.setUint16(i * 2, numberToFloat16Bits(v[i] as number), true);
      break;
    case "bfloat16":
      for (let i = 0; i < n; i++) view.setUint16(i * 2, numberToBFloat16Bits(v[i] as number), true);
      break;
  }
}

function encode(entries: HostEntry[], metadata: SafetensorsMetadata | null | undefined): Uint8Array<ArrayBuffer> {
  const order = (d: DType) => DTYPE_ORDER.indexOf(TO_ST[d]);
  const sorted = [...entries].sort((a, b) => order(b.dtype) - order(a.dtype) || compareUtf8(a.name, b.name));
  const parts: string[] = [];
  if (metadata !== undefined && metadata !== null) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",")}}`);
  }
  let offset = 0;
  for (const e of sorted) {
    const bytes = e.values.length * ST_SIZE[TO_ST[e.dtype]];
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${TO_ST[e.dtype]}","shape":[${e.shape.join(",")}],"data_offsets":[${offset},${offset + bytes}]}`,
    );
    offset += bytes;
  }
  const json = utf8.encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const e of sorted) {
    writeValues(out, at, e);
    at += e.values.length * ST_SIZE[TO_ST[e.dtype]];
  }
  return out;
}

/**
 * Serializes tensors (any dtype dl has) to safetensors bytes, byte-identical to what the reference
 * writer produces for the same tensors and metadata (metadata keys are sorted). Reads tensors
 * synchronously: for devices that can't, use `await save(tensors)`.
 */
export function saveSafetensors(
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: SafetensorsMetadata | null,
): Uint8Array<ArrayBuffer> {
  const op = "saveSafetensors";
  const list = entriesOf(op, tensors);
  checkMetadata(op, metadata);
  for (const [name, t] of list) {
    if (!t.backend.canReadSync) {
      throw new DLError(
        op,
        `tensor '${name}' is on '${t.device}', which can't be read synchronously; use \`await save(tensors)\` (a Blob) instead`,
      );
    }
  }
  return encode(
    list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, values: t.dataSync() })),
    metadata,
  );
}

// ---------------------------------------------------------------------------------------------
// reading

interface Parsed {
  name: string;
  st: StDType;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * A JSON preview of at most `max` characters, built without serializing the whole value: a header
 * value may be nested thousands deep (JSON.stringify would overflow the stack) or hold 90 MB.
 */
function show(v: unknown, max = 60): string {
  let out = "";
  const walk = (x: unknown, depth: number): void => {
    if (out.length > max) return;
    if (typeof x === "string") out += JSON.stringify(x.length > max ? x.slice(0, max) : x);
    else if (Array.isArray(x)) {
      if (depth >= 4) {
        out += "[...]";
        return;
      }
      out += "[";
      for (let i = 0; i < x.length && out.length <= max; i++) {
        if (i > 0) out += ",";
        walk(x[i], depth + 1);
      }
      out += "]";
    } else if (isPlainObject(x)) {
      if (depth >= 4) {
        out += "{...}";
        return;
      }
      out += "{";
      let first = true;
      for (const k in x) {
        if (out.length > max) break;
        if (!first) out += ",";
        first = false;
        out += `${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
        walk(x[k], depth + 1);
      }
      out += "}";
    } else out += typeof x === "number" || typeof x === "boolean" || x === null ? JSON.stringify(x) : String(x);
  };
  walk(v, 0);
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/** A tensor name for a message (names are header keys: any length). */
const nameOf = (name: string): string => (name.length > 80 ? `${name.slice(0, 77)}...` : name);

/** JSON nesting deeper than this is an error before parsing (a valid header nests 3 deep). */
const MAX_DEPTH = 64;

/**
 * Checks the header text before JSON.parse: nesting depth (JSON.parse of a hostile header is
 * fine, but nothing after it should walk 4,000 levels) and duplicate keys in any object, which
 * the format disallows and JSON.parse would resolve silently by keeping the last.
 */
function scanHeader(text: string, fail: (msg: string) => never): void {
  const keys: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      const set = keys[keys.length - 1];
      if (expectKey && set) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return; // malformed: JSON.parse reports it
        }
        if (set.has(key)) fail(`duplicate key ${show(key)} in the header (the format disallows duplicate keys)`);
        set.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      keys.push(c === 0x7b ? new Set() : null);
      if (keys.length > MAX_DEPTH) fail(`the header nests deeper than ${MAX_DEPTH} levels (a safetensors header nests 3)`);
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) expectKey = keys[keys.length - 1] instanceof Set;
  }
}

function asBytes(op: string, bytes: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && bytes instanceof SharedArrayBuffer))
    return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new ArgumentError(op, `expected an ArrayBuffer or Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
}

/** Validates the whole file (header and layout) and returns its parsed description; reads no tensor data. */
function parseHeader(op: string, buf: Uint8Array): { entries: Parsed[]; metadata: SafetensorsMetadata | null; dataStart: number } {
  const fail = (msg: string): never => {
    throw new SafetensorsError(op, msg);
  };
  if (buf.length < 8) fail(`the file has ${buf.length} bytes, too few to hold the 8-byte header length`);
  const n64 = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} exceeds the ${MAX_HEADER}-byte limit (corrupt, or not a safetensors file)`);
  const n = Number(n64);
  if (8 + n > buf.length) fail(`header length ${n} runs past the end of the file (${buf.length} bytes)`);
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    fail("the header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail(`the header must be a JSON object starting with '{', got ${show(text.slice(0, 20))}`);
  scanHeader(text, fail);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    const m = (e as Error).message;
    fail(`the header is not valid JSON (${m.length > 200 ? `${m.slice(0, 197)}...` : m})`);
  }
  if (!isPlainObject(header)) fail("the header must be a JSON object");
  const dataLen = buf.length - 8 - n;
  let metadata: SafetensorsMetadata | null = null;
  const entries: Parsed[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!isPlainObject(info)) fail(`"__metadata__" must be an object of strings, got ${show(info)}`);
      const meta: SafetensorsMetadata = {};
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`"__metadata__" must map strings to strings (key '${nameOf(k)}' holds ${show(v)})`);
        Object.defineProperty(meta, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      metadata = meta;
      continue;
    }
    const where = `tensor '${nameOf(name)}'`;
    if (!isPlainObject(info)) fail(`${where}: expected {dtype, shape, data_offsets}, got ${show(info)}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string" || !(DTYPE_ORDER as readonly string[]).includes(dtype)) {
      fail(`${where}: unknown dtype ${show(dtype)} (expected one of ${DTYPE_ORDER.join(", ")})`);
    }
    const st = dtype as StDType;
    const dl = FROM_ST[st];
    if (dl === undefined) fail(`${where}: dtype ${st} is not supported (dl has no 8-bit float type)`);
    if (!Array.isArray(shape) || !shape.every(isIndex))
      fail(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      fail(`${where}: data_offsets must be [begin, end] with non-negative integers, got ${show(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLen} bytes)`);
    let bytes = ST_SIZE[st];
    for (const s of shape as number[]) {
      bytes *= s;
      if (!Number.isSafeInteger(bytes)) fail(`${where}: shape ${show(shape)} is too large`);
    }
    if (end - begin !== bytes) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but a ${st} tensor of shape ${show(shape)} needs ${bytes}`,
      );
    }
    entries.push({ name, st, dtype: dl as DType, shape: shape as number[], begin, end });
  }
  // The regions must tile the data section exactly: in offset order, each begins where the previous ends.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: Parsed | null = null;
  for (const e of byOffset) {
    if (e.begin < at)
      fail(
        `tensor '${nameOf(e.name)}' (data_offsets [${e.begin}, ${e.end}]) overlaps tensor '${nameOf(prev?.name ?? "")}' (data_offsets [${prev?.begin}, ${prev?.end}])`,
      );
    if (e.begin > at) fail(`bytes ${at}..${e.begin} of the data section belong to no tensor (a gap before tensor '${nameOf(e.name)}')`);
    at = e.end;
    prev = e;
  }
  if (at !== dataLen)
    fail(`${dataLen - at} trailing bytes after the last tensor's data (the data section has ${dataLen} bytes, the tensors cover ${at})`);
  return { entries, metadata, dataStart: 8 + n };
}

function readWidened(bytes: Uint8Array, st: StDType, count: number): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (st) {
      case "U8":
        out[i] = view.getUint8(i);
        break;
      case "I8":
        out[i] = view.getInt8(i);
        break;
      case "I16":
        out[i] = view.getInt16(i * 2, true);
        break;
      case "U16":
        out[i] = view.getUint16(i * 2, true);
        break;
      case "U32":
        out[i] = view.getUint32(i * 4, true);
        break;
      default:
        out[i] = Number(view.getBigUint64(i * 8, true));
    }
  }
  return out;
}

/**
 * Parses safetensors bytes. Every header field is validated before any tensor is created: the
 * header length, UTF-8, JSON, each dtype/shape/data_offsets, that each region's size matches its
 * shape and dtype, and that the regions tile the data section with no gap, overlap or trailing
 * bytes. U8/I8/I16/U16 load as int32, U32/U64 as int64.
 */
export function loadSafetensors(bytes: ArrayBuffer | ArrayBufferView, options: LoadOptions = {}): LoadedSafetensors {
  const op = "loadSafetensors";
  const buf = asBytes(op, bytes);
  const { entries, metadata, dataStart } = parseHeader(op, buf);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const region = buf.subarray(dataStart + e.begin, dataStart + e.end);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const t =
      e.st === TO_ST[e.dtype]
        ? fromBuffer(region, e.dtype, e.shape, { device: options.device })
        : fromHost(readWidened(region, e.st, count), e.shape, { dtype: e.dtype, device: options.device });
    Object.defineProperty(tensors, e.name, { value: t, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------
// convenience: files, Blobs, Responses

export interface SaveOptions {
  metadata?: SafetensorsMetadata | null;
}

/**
 * Saves a state dict (or any record of tensors) in the safetensors format, reading tensors with
 * `await t.data()` so any device works. With a path (Node) it writes the file; without one it
 * returns a Blob (for a download link, IndexedDB, fetch uploads).
 */
export function save(stateDict: Record<string, Tensor> | Map<string, Tensor>, path: string, options?: SaveOptions): Promise<void>;
export function save(stateDict: Record<string, Tensor> | Map<string, Tensor>, path?: undefined, options?: SaveOptions): Promise<Blob>;
export async function save(
  stateDict: Record<string, Tensor> | Map<string, Tensor>,
  path?: string,
  options: SaveOptions = {},
): Promise<unknown> {
  const op = "save";
  const list = entriesOf(op, stateDict);
  checkMetadata(op, options.metadata);
  const entries: HostEntry[] = [];
  for (const [name, t] of list) entries.push({ name, dtype: t.dtype, shape: t.shape, values: await t.data() });
  const bytes = encode(entries, options.metadata);
  if (path !== undefined) {
    if (typeof path !== "string") throw new ArgumentError(op, `path must be a string, got ${typeof path}`);
    const fs = await nodeFs(op);
    try {
      await fs.writeFile(path, bytes);
    } catch (e) {
      throw new SafetensorsError(op, `cannot write '${nameOf(path)}' (${(e as Error).message})`);
    }
    return;
  }
  if (typeof Blob === "undefined") throw new DLError(op, "this platform has no Blob; pass a path, or use saveSafetensors() for the bytes");
  return new Blob([bytes], { type: "application/octet-stream" });
}

type Source = string | ArrayBuffer | ArrayBufferView | Blob | Response | { arrayBuffer(): Promise<ArrayBuffer> };

/**
 * Loads a safetensors state dict from a path (Node), an ArrayBuffer / Uint8Array, a Blob / File,
 * or a fetch Response: `model.loadStateDict(await load("model.safetensors"))`.
 */
export async function load(source: Source, options: LoadOptions = {}): Promise<Record<string, Tensor>> {
  const op = "load";
  let bytes: ArrayBuffer | ArrayBufferView;
  if (typeof source === "string") {
    const fs = await nodeFs(op);
    try {
      bytes = await fs.readFile(source);
    } catch (e) {
      throw new SafetensorsError(op, `cannot read '${nameOf(source)}' (${(e as Error).message})`);
    }
  } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    bytes = source;
  } else if (typeof source === "object" && source !== null && typeof (source as { arrayBuffer?: unknown }).arrayBuffer === "function") {
    const r = source as Response;
    if (typeof r.ok === "boolean" && !r.ok)
      throw new SafetensorsError(op, `the response failed (HTTP ${r.status} ${r.statusText ?? ""})`.trim());
    bytes = await (source as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer();
  } else {
    throw new ArgumentError(
      op,
      `expected a path, ArrayBuffer, Uint8Array, Blob or Response, got ${source === null ? "null" : typeof source}`,
    );
  }
  return loadSafetensors(bytes, options).tensors;
}

async function nodeFs(op: string): Promise<typeof import("node:fs/promises")> {
  try {
    // Only reached when a path is given; the magic comments keep browser bundlers from resolving it.
    return await import(/* webpackIgnore: true */ /* @vite-ignore */ "node:fs/promises");
  } catch {
    throw new DLError(op, "file paths need Node's fs; in browsers pass a Blob, a fetch Response or an ArrayBuffer instead");
  }
}
