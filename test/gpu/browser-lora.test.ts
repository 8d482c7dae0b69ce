import "@dl/autograd";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PeftModel } from "@dl/peft";
import { describe, expect, it } from "vitest";
import type { DemoRunOptions, DemoRunResult } from "../../examples/lora-browser/src/page.js";
import { probeLogits, seededBase } from "../../examples/lora-browser/src/lora.js";
import { brownText } from "../../examples/lora-gpt/src/main.js";
import { browserTestsWanted, bundleForBrowser, withChromiumPage } from "./chromium.js";

/**
 * examples/lora-browser's page (src/page.ts, bundled for the browser as `pnpm start` serves it) in
 * Debian's Chromium: LoRA on a seeded tiny GPT-2 trains on the gpu backend (gpu.js on WebGL2,
 * SwiftShader) on Brown-corpus romance text, plotting the loss; the adapter the page offers for
 * download (PEFT's two files) loads in Node onto the same base model and gives the page's logits.
 * The screenshot is kept in tmp/artifacts/lora-browser.png.
 */
const STEPS = 8;

describe.runIf(browserTestsWanted)("the LoRA page fine-tunes a GPT-2 in Chromium [gpu]", () => {
  it(`${STEPS} LoRA steps on WebGL2: the loss falls, and the downloaded adapter reloads in Node to the same logits`, async () => {
    const text = brownText("romance").slice(0, 200_000);
    const code = await bundleForBrowser(join(import.meta.dirname, "..", "..", "examples", "lora-browser", "src", "page.ts"));
    const artifacts = join(import.meta.dirname, "..", "..", "tmp", "artifacts");
    mkdirSync(artifacts, { recursive: true });
    const r = await withChromiumPage(code, async (page, errors) => {
      const args: DemoRunOptions = { device: "gpu", steps: STEPS, text };
      const out = (await page.evaluate(
        (a: DemoRunOptions) => (globalThis as unknown as { __dlLora: { run: (o: DemoRunOptions) => Promise<unknown> } }).__dlLora.run(a),
        args,
      )) as DemoRunResult;
      await (page as unknown as { screenshot(o: { path: string; fullPage: boolean }): Promise<unknown> }).screenshot({
        path: join(artifacts, "lora-browser.png"),
        fullPage: true,
      });
      expect(errors).toEqual([]);
      return out;
    });
    console.log(`[browser-lora] ${r.seconds.toFixed(1)} s on ${r.device}; losses ${r.losses.map((l) => l.toFixed(4))}; after: ${JSON.stringify(r.after)}`);
    expect(r.losses).toHaveLength(STEPS);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const tail = ((r.losses[STEPS - 1] as number) + (r.losses[STEPS - 2] as number)) / 2;
    expect(tail).toBeLessThan(r.losses[0] as number);
    expect(r.trainableLine).toBe("trainable params: 2,048 || all params: 32,768 || trainable%: 6.2500");
    // The downloaded files, as Node receives them: PEFT's format, onto the same seeded base on the CPU.
    const files = Object.fromEntries(Object.entries(r.files).map(([k, v]) => [k, typeof v === "string" ? v : Uint8Array.from(v)]));
    expect(Object.keys(files).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const peft = await PeftModel.fromPretrained(seededBase(0), files);
    const logits = await probeLogits(peft, "cpu");
    expect(logits).toHaveLength(r.probe.length);
    const worst = Math.max(...logits.map((v, i) => Math.abs(v - (r.probe[i] as number))));
    expect(worst).toBeLessThan(1e-3);
  }, 300_000);
});
