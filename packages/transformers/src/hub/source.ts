import { ArgumentError, DLError } from "@dl/tensor";
import { joinPath, nodeFs } from "./node-fs.js";

/** What a file of a pretrained model may be given as in an object source. */
export type FileContents = string | ArrayBuffer | ArrayBufferView | Blob | Record<string, unknown> | unknown[];

/**
 * Where fromPretrained reads from: a directory path (Node), a URL base ("https://host/model/resolve/main",
 * fetched in browsers and Node), or an object of file name -> contents
 * (`{ "config.json": {...} | text, "model.safetensors": ArrayBuffer }`).
 */
export type PretrainedSource = string | URL | Record<string, FileContents>;

/** A pretrained model's files, read on demand. */
export interface ModelFiles {
  /** Where the files come from, for messages. */
  readonly description: string;
  /** Display name of a file ("/models/gpt2/model.safetensors"). */
  location(file: string): string;
  /** The file's bytes, or null when it does not exist. */
  bytes(file: string): Promise<Uint8Array | null>;
  /** The file's text, or null when it does not exist. */
  text(file: string): Promise<string | null>;
  /** The file's JSON, or null when it does not exist. */
  json(file: string): Promise<unknown | null>;
  /** Writes a file (directory sources only). */
  write?(file: string, data: Uint8Array | string): Promise<void>;
}

const isUrl = (s: string) => /^(https?|file|blob|data):/i.test(s);

export function isModelFiles(x: unknown): x is ModelFiles {
  return (
    typeof x === "object" && x !== null && typeof (x as ModelFiles).bytes === "function" && typeof (x as ModelFiles).location === "function"
  );
}

/** Resolves a PretrainedSource to its files. */
export function resolveSource(op: string, source: PretrainedSource | ModelFiles): ModelFiles {
  if (isModelFiles(source)) return source;
  if (source instanceof URL) return urlFiles(source.href);
  if (typeof source === "string") return isUrl(source) ? urlFiles(source) : dirFiles(op, source);
  if (typeof source === "object" && source !== null) return objectFiles(source);
  throw new ArgumentError(
    op,
    `expected a directory path, a URL base or an object of { fileName: contents }, got ${source === null ? "null" : typeof source}`,
  );
}

function parseJson(op: string, text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DLError(op, `${where} is not valid JSON: ${(e as Error).message}`);
  }
}

function urlFiles(base: string): ModelFiles {
  const root = base.endsWith("/") ? base : `${base}/`;
  const get = async (file: string): Promise<Response | null> => {
    const r = await fetch(root + file);
    if (r.status === 404) return null;
    if (!r.ok) throw new DLError("fromPretrained", `fetching ${root + file} failed (HTTP ${r.status} ${r.statusText})`);
    return r;
  };
  const self: ModelFiles = {
    description: root,
    location: (file) => root + file,
    async bytes(file) {
      const r = await get(file);
      return r ? new Uint8Array(await r.arrayBuffer()) : null;
    },
    async text(file) {
      const r = await get(file);
      return r ? await r.text() : null;
    },
    async json(file) {
      const t = await self.text(file);
      return t === null ? null : parseJson("fromPretrained", t, root + file);
    },
  };
  return self;
}

function dirFiles(op: string, dir: string): ModelFiles {
  const read = async (file: string): Promise<Uint8Array | null> => {
    const fs = await nodeFs(op);
    try {
      const buf = await fs.readFile(joinPath(dir, file));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw e;
    }
  };
  const loc = (file: string) => joinPath(dir, file);
  const self: ModelFiles = {
    description: dir,
    location: loc,
    bytes: read,
    async text(file) {
      const b = await read(file);
      return b === null ? null : new TextDecoder().decode(b);
    },
    async json(file) {
      const t = await self.text(file);
      return t === null ? null : parseJson(op, t, loc(file));
    },
    async write(file, data) {
      const fs = await nodeFs(op);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(joinPath(dir, file), data);
    },
  };
  return self;
}

function objectFiles(files: Record<string, FileContents>): ModelFiles {
  const get = (file: string) => (Object.hasOwn(files, file) ? files[file] : undefined);
  const toBytes = async (v: FileContents): Promise<Uint8Array> => {
    if (typeof v === "string") return new TextEncoder().encode(v);
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (typeof Blob !== "undefined" && v instanceof Blob) return new Uint8Array(await v.arrayBuffer());
    return new TextEncoder().encode(JSON.stringify(v));
  };
  const self: ModelFiles = {
    description: `{ ${Object.keys(files).join(", ")} }`,
    location: (file) => `files["${file}"]`,
    async bytes(file) {
      const v = get(file);
      return v === undefined ? null : await toBytes(v);
    },
    async text(file) {
      const v = get(file);
      if (v === undefined) return null;
      return typeof v === "string" ? v : new TextDecoder().decode(await toBytes(v));
    },
    async json(file) {
      const v = get(file);
      if (v === undefined) return null;
      if (
        typeof v === "object" &&
        !(v instanceof ArrayBuffer) &&
        !ArrayBuffer.isView(v) &&
        !(typeof Blob !== "undefined" && v instanceof Blob)
      )
        return v;
      return parseJson("fromPretrained", (await self.text(file)) as string, `files["${file}"]`);
    },
  };
  return self;
}

/**
 * Where savePretrained writes: a directory path (Node) or a callback receiving each file's name
 * and contents (browsers: make Blobs, upload, store in IndexedDB).
 */
export type SaveTarget = string | ((file: string, data: Uint8Array | string) => void | Promise<void>);

export function resolveTarget(op: string, target: SaveTarget): (file: string, data: Uint8Array | string) => Promise<void> {
  if (typeof target === "function") return async (f, d) => void (await target(f, d));
  if (typeof target === "string") {
    const files = dirFiles(op, target);
    return (f, d) => (files.write as (f: string, d: Uint8Array | string) => Promise<void>)(f, d);
  }
  throw new ArgumentError(op, `expected a directory path or a (file, data) callback, got ${typeof target}`);
}
