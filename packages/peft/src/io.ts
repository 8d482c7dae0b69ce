import { ArgumentError, DLError } from "@dl/tensor";

/** PEFT's file names. */
export const CONFIG_NAME = "adapter_config.json";
export const SAFETENSORS_WEIGHTS_NAME = "adapter_model.safetensors";
export const WEIGHTS_NAME = "adapter_model.bin";

/** File contents as JSON text, a parsed object, bytes, or a Blob / Response. */
export type FileContents = string | object | ArrayBuffer | ArrayBufferView | Blob | Response;

/**
 * Where an adapter lives: a directory path (Node), a URL base ("https://host/adapters/my-lora", fetched
 * as <base>/adapter_config.json ...), or an object of file name → contents (browsers, tests, uploads).
 */
export type AdapterSource = string | URL | Readonly<Record<string, FileContents>>;

/** The part of Node's fs/promises used here (declared locally: no import of a Node builtin). */
interface Fs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

/** Node's fs without an import statement, so browser bundles never see it. */
function nodeFs(op: string): Fs {
  const p = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const fs = typeof p?.getBuiltinModule === "function" ? (p.getBuiltinModule("node:fs/promises") as Fs | undefined) : undefined;
  if (!fs) throw new DLError(op, "directory paths need Node (20.16+); in a browser pass a URL or an object of file name → contents");
  return fs;
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith("blob:") || s.startsWith("data:");

async function bytesOf(op: string, name: string, v: FileContents): Promise<Uint8Array> {
  if (typeof v === "string") return new TextEncoder().encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof (v as Blob).arrayBuffer === "function") {
    const r = v as Response;
    if (typeof r.ok === "boolean" && !r.ok) throw new DLError(op, `${name}: the response failed (HTTP ${r.status})`);
    return new Uint8Array(await (v as Blob).arrayBuffer());
  }
  throw new ArgumentError(op, `${name}: expected text, bytes, a Blob or a Response, got ${typeof v}`);
}

/**
 * Reads one file of an adapter source; returns null when the file does not exist (a 404, a missing
 * path or key), so callers can say which files were expected.
 */
export async function readFile(op: string, source: AdapterSource, name: string): Promise<Uint8Array | object | null> {
  if (typeof source === "string" && !isUrl(source)) {
    const fs = nodeFs(op);
    const path = `${source.replace(/[\\/]+$/, "")}/${name}`;
    try {
      return new Uint8Array(await fs.readFile(path));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw new DLError(op, `cannot read ${path}: ${(e as Error).message}`);
    }
  }
  if (typeof source === "string" || source instanceof URL) {
    const base = String(source).replace(/\/+$/, "");
    const url = `${base}/${name}`;
    let r: Response;
    try {
      r = await fetch(url);
    } catch (e) {
      throw new DLError(op, `cannot fetch ${url}: ${(e as Error).message}`);
    }
    if (r.status === 404) return null;
    return bytesOf(op, url, r);
  }
  if (typeof source !== "object" || source === null)
    throw new ArgumentError(op, `source must be a path, a URL or an object of files, got ${source === null ? "null" : typeof source}`);
  const v = (source as Record<string, FileContents>)[name];
  if (v === undefined) return null;
  if (typeof v === "object" && !(v instanceof ArrayBuffer) && !ArrayBuffer.isView(v) && typeof (v as Blob).arrayBuffer !== "function")
    return v;
  return bytesOf(op, name, v);
}

/** Writes files under a directory (Node), creating it. */
export async function writeFiles(op: string, dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const fs = nodeFs(op);
  for (const [name, contents] of Object.entries(files)) {
    const path = `${dir.replace(/[\\/]+$/, "")}/${name}`;
    await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await fs.writeFile(path, contents);
  }
}
