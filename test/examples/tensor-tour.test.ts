import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { main } from "../../examples/tensor-tour/src/main.js";
import { loadFixtures } from "../helpers/fixtures.js";

/**
 * The tensor tour prints the tutorial's section 2 with dl. Its deterministic output must contain,
 * in order, every line PyTorch prints for the same code (tooling/fixtures/gen_core.py, "tour").
 * dl spells two things differently: shapes print as [2, 3] (torch.Size([2, 3])) and dtypes as
 * float32 (torch.float32) outside a tensor's repr.
 */
function pytorchLines(): string[] {
  const out = loadFixtures("core").tour as string;
  return out
    .replace(/torch\.Size\((\[[^\]]*\])\)/g, "$1")
    .replace(/dtype: torch\./g, "dtype: ")
    .replace(/^torch\.(\w+)$/gm, "$1")
    .trimEnd()
    .split("\n");
}

function tourLines(): string[] {
  const lines: string[] = [];
  main((line) => lines.push(...line.split("\n")));
  return lines;
}

describe("examples/tensor-tour", () => {
  it("prints every line PyTorch prints for the tutorial, in the same order", () => {
    const ours = tourLines();
    const want = pytorchLines();
    expect(want.length).toBeGreaterThan(100);
    let at = 0;
    const missing: string[] = [];
    for (const line of want) {
      const i = ours.indexOf(line, at);
      if (i < 0) missing.push(line);
      else at = i + 1;
    }
    expect(missing).toEqual([]);
  });

  it("spot checks: int64 data, true division, matmul, 0-dim indexing as a value, chunk", () => {
    const text = tourLines().join("\n");
    expect(text).toContain("From list: tensor([[1, 2],\n        [3, 4]])");
    expect(text).toContain("Element-wise Division:\ntensor([[0.2000, 0.3333],\n        [0.4286, 0.5000]])");
    expect(text).toContain("Matrix Multiplication (@):\ntensor([[19, 22],\n        [43, 50]])");
    expect(text).toContain("First element of second row: 4");
    expect(text).toContain("Chunk 2:\ntensor([[ 8,  9, 10, 11]])");
    expect(text).toContain("Int tensor: tensor([1, 2, 3], dtype=torch.int32), dtype: int32");
  });

  it("the bundled program (what `pnpm start` runs) prints the same as main()", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tensor-tour-"));
    try {
      const outfile = join(dir, "main.mjs");
      await build({
        entryPoints: [join(import.meta.dirname, "../../examples/tensor-tour/src/main.ts")],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile,
        conditions: ["@dl/source"],
        logLevel: "warning",
      });
      const stdout = execFileSync(process.execPath, [outfile], { encoding: "utf8" });
      expect(stdout.trimEnd().split("\n")).toEqual(tourLines());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
