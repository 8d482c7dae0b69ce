import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../examples/lora-gpt/src/main.js";
import { runBundledExample } from "./run-example.js";

/** §10: LoRA on a GPT-2-architecture model, in the smoke budget (30 pretraining + 30 LoRA steps). */
describe("examples/lora-gpt", () => {
  const dir = mkdtempSync(join(tmpdir(), "dl-lora-gpt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("trains a small share of the weights, lowers the romance loss, saves PEFT files that reload exactly", async () => {
    const lines: string[] = [];
    const r = await main({ smoke: true, outDir: dir, print: (l) => lines.push(l) });
    expect(lines.some((l) => /^trainable params: 1,024 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/.test(l))).toBe(true);
    expect(r.trainableShare).toBeLessThan(0.06);
    expect(r.romanceLossAfter).toBeLessThan(r.romanceLossBefore);
    expect(r.baseLossAfterDisable).toBeCloseTo(r.romanceLossBefore, 5);
    expect(r.maxLogitDiffAfterReload).toBe(0);
    expect(r.adapterFiles.sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const cfg = JSON.parse(readFileSync(join(dir, "lora-romance-smoke", "adapter_config.json"), "utf8"));
    expect([cfg.peft_type, cfg.r, cfg.lora_alpha, cfg.target_modules, cfg.fan_in_fan_out]).toEqual(["LORA", 8, 16, ["c_attn"], true]);
    // a second run loads the saved base model instead of pretraining
    const again: string[] = [];
    await main({ smoke: true, outDir: dir, print: (l) => again.push(l) });
    expect(again.some((l) => l.startsWith("base model: loaded"))).toBe(true);
  }, 240_000);

  it("the bundled program (what `pnpm start` runs) runs with --smoke", async () => {
    const out = await runBundledExample("lora-gpt", ["--smoke", "--out-dir", join(dir, "bundled")], 200_000);
    expect(out).toMatch(/reloaded adapter: max \|logit difference\| 0/);
  }, 240_000);
});
