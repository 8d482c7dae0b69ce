import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { main } from "../../examples/autograd-tour/src/main.js";
import { loadFixtures } from "../helpers/fixtures.js";

/**
 * The autograd tour runs the tutorial's section 3 with dl. Its output must be, line for line,
 * what PyTorch prints for the same code (tooling/fixtures/gen_autograd.py, "tour"), except that
 * Python prints a grad_fn as <AddBackward0 object at 0x7f...> (the generator writes 0x...): only
 * the name is compared.
 */
function pytorchLines(): string[] {
  const out = loadFixtures("autograd").tour as string;
  return out
    .replace(/<(\w+) object at 0x[0-9a-f.]+>/g, "<$1>")
    .trimEnd()
    .split("\n");
}

function tourLines(): string[] {
  const lines: string[] = [];
  main((line) => lines.push(...line.split("\n")));
  return lines;
}

describe("examples/autograd-tour", () => {
  it("prints exactly what PyTorch prints for the tutorial's section 3", () => {
    const want = pytorchLines();
    expect(want.length).toBe(20);
    expect(tourLines()).toEqual(want);
  });

  it("spot checks: dz/dx = 12, the vector-Jacobian product, accumulation, flags and grad_fn names", () => {
    const text = tourLines().join("\n");
    expect(text).toContain("Gradient of z with respect to x: tensor([12.])");
    expect(text).toContain("Gradient of y.sum() with respect to x: tensor([4., 6.])");
    expect(text).toContain("First pass gradient: tensor([2.])\nSecond pass gradient (accumulated): tensor([5.])\nGradient after zeroing: tensor([0.])");
    expect(text).toContain("y: tensor([4.]), requires_grad: False\nz: tensor([4.]), requires_grad: False");
    expect(text).toContain(
      "x.grad_fn: None\ny.grad_fn: <AddBackward0>\nz.grad_fn: <MulBackward0>\nfinal_output.grad_fn: <MeanBackward0>\nGradient for x: tensor([12.])",
    );
  });

  it("the bundled program (what `pnpm start` runs) prints the same as main()", async () => {
    const dir = mkdtempSync(join(tmpdir(), "autograd-tour-"));
    try {
      const outfile = join(dir, "main.mjs");
      await build({
        entryPoints: [join(import.meta.dirname, "../../examples/autograd-tour/src/main.ts")],
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
