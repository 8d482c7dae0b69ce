import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TSpec } from "../helpers/fixtures.js";

/** test/fixtures/transformers: tiny Hugging Face-layout checkpoints from tooling/fixtures/gen_transformers.py. */
export const fixtureDir = join(import.meta.dirname, "..", "fixtures", "transformers");

export const model = (name: string) => join(fixtureDir, name);

// biome-ignore lint/suspicious/noExplicitAny: fixture files are free-form JSON
export const expected: any = JSON.parse(readFileSync(join(fixtureDir, "expected.json"), "utf8"));

/** The checkpoint as an object source ({ fileName: contents }), as a browser app would pass it. */
export function filesOf(name: string, overrides: Record<string, unknown> = {}): Record<string, string | Uint8Array> {
  const dir = model(name);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  return { "config.json": JSON.stringify({ ...config, ...overrides }), "model.safetensors": new Uint8Array(readFileSync(join(dir, "model.safetensors"))) };
}

export const ids = (spec: TSpec): number[] => spec.data as number[];

// Float32 models against float64 goldens: a few float32 ulps through a 2-layer network.
export const TOL = { rtol: 2e-4, atol: 2e-5 };
