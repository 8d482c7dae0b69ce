import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * The DataLoader loads its worker pool with a dynamic import when numWorkers > 0 first iterates, and
 * the worker factories live in @dl/data/workers: a bundler that splits dynamic imports puts the pool
 * (and the worker's source) in a chunk that an app without workers never loads.
 */
describe("DataLoader bundles without its worker pool", () => {
  it("the pool and the worker source are in a lazily loaded chunk", async () => {
    const result = await build({
      stdin: {
        contents: `import { DataLoader, TensorDataset, WorkerError } from "@dl/data";
import { randn } from "@dl/tensor";
console.log(WorkerError.name);
for (const [x] of new DataLoader(new TensorDataset(randn(8, 2)), { batchSize: 4 })) console.log(x);`,
        resolveDir: join(import.meta.dirname, "../../packages/data"),
        loader: "ts",
      },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      outdir: "out",
      write: false,
      conditions: ["@dl/source"],
      logLevel: "silent",
    });
    const marker = "const inbox = [];"; // a line of the worker's own source (worker/bootstrap.ts)
    const entry = result.outputFiles.find((f) => f.path.endsWith("stdin.js"));
    expect(entry).toBeDefined();
    // What the entry loads at start: itself and the chunks it imports statically.
    const staticChunks = [...(entry?.text ?? "").matchAll(/from\s*"\.\/([^"]+)"/g)].map((m) => m[1]);
    const eager = result.outputFiles.filter((f) => f === entry || staticChunks.some((c) => f.path.endsWith(`/${c}`)));
    for (const f of eager) expect(f.text.includes(marker), f.path).toBe(false);
    const lazy = result.outputFiles.filter((f) => !eager.includes(f));
    expect(lazy.some((f) => f.text.includes(marker))).toBe(true);
  });
});
