import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fromArray, type Tensor } from "@dl/tensor";
import { normalizeImages } from "./train.js";

/** The folder of the `mnist` package's <digit>.json files. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist/package.json")), "src", "digits");
}

/**
 * Every digit of the `mnist` package: images [10000, 1, 28, 28] float32 (normalized) and labels
 * [10000] int64, digit after digit (the split shuffles them).
 */
export function loadMnist(dir = mnistDigitsDir()): { images: Tensor; labels: Tensor } {
  const parts: number[][] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(readFileSync(join(dir, `${d}.json`), "utf8")) as { data: number[] };
    parts.push(data);
    for (let i = 0; i < data.length / 784; i++) labels.push(d);
  }
  const pixels = new Float32Array(labels.length * 784);
  let at = 0;
  for (const p of parts) {
    pixels.set(p, at);
    at += p.length;
  }
  const images = normalizeImages(pixels, labels.length);
  return { images, labels: fromArray(labels, [labels.length], { dtype: "int64" }) };
}

