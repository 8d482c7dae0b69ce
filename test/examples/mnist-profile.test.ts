import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runBundledExample } from "./run-example.js";

/** §11: `pnpm --filter @dl/example-mnist-cnn run profile` prints PyTorch's table and writes a Chrome trace. */
it("examples/mnist-cnn profile: the key_averages table of real training steps and a Chrome trace", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mnist-profile-"));
  try {
    const trace = join(dir, "trace.json");
    const out = await runBundledExample("mnist-cnn", ["--steps", "1", "--trace", trace], 120_000, "profile.ts");
    const lines = out.split("\n");
    expect(lines[1]).toMatch(/^Name\s+Self CPU %\s+Self CPU\s+CPU total %\s+CPU total\s+CPU time avg\s+CPU Mem\s+Self CPU Mem\s+# of Calls$/);
    expect(out).toMatch(/\ntrain_step\s+[\d.]+%\s+\S+\s+100\.00%/);
    expect(out).toMatch(/\nSelf CPU time total: [\d.]+(us|ms|s)\n/);
    const events = (JSON.parse(readFileSync(trace, "utf8")) as { traceEvents: { name: string; ph: string }[] }).traceEvents;
    const names = new Set(events.map((e) => e.name));
    for (const n of ["train_step", "nn.Module: SimpleCNN", "nn.Module: Conv2d", "dl::matmul"]) expect(names.has(n)).toBe(true);
    expect(events.every((e) => e.ph === "X")).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
