import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { expect, it } from "vitest";

/** The README's quickstart is a real program: it must bundle and run, and learn something. */
it("README quickstart (the PyTorch-style training loop) runs and its loss falls", async () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
  const code = /## Quickstart\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeTruthy();
  const dir = mkdtempSync(join(tmpdir(), "dl-readme-"));
  try {
    const src = join(import.meta.dirname, "quickstart.generated.ts");
    writeFileSync(src, code as string);
    const out = join(dir, "quickstart.mjs");
    try {
      await build({ entryPoints: [src], bundle: true, platform: "node", format: "esm", outfile: out, conditions: ["@dl/source"], logLevel: "error" });
    } finally {
      rmSync(src);
    }
    const printed = execFileSync(process.execPath, [out], { encoding: "utf8" });
    const losses = printed
      .trim()
      .split("\n")
      .map((line) => Number(line.split(" ")[1]));
    expect(losses).toHaveLength(5);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[4]).toBeLessThan((losses[0] as number) * 0.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
