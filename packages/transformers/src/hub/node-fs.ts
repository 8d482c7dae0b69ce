import { DLError } from "@dl/tensor";

/** The part of Node's fs/promises that directory sources use. */
export interface NodeFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<unknown>;
}

/**
 * Node's fs, imported only when a directory path is given (the magic comments keep browser
 * bundlers from resolving it), so the package's main entry still bundles for browsers.
 */
export async function nodeFs(op: string): Promise<NodeFs> {
  try {
    return (await import(/* webpackIgnore: true */ /* @vite-ignore */ "node:fs/promises")) as unknown as NodeFs;
  } catch {
    throw new DLError(op, "directory paths need Node's fs; in browsers pass a URL base or an object of { fileName: contents }");
  }
}

/** dir/file with one separator. */
export const joinPath = (dir: string, file: string): string => `${dir.replace(/[\\/]+$/, "")}/${file}`;
