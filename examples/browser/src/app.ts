/**
 * The bundled route: this file and everything it imports (public/train.js, the dl packages' built
 * files) become one browser bundle with esbuild, as in any app:
 *   esbuild src/app.ts --bundle --format=esm --outfile=dist/app.js
 * (server.mjs runs that build when it starts). Only what train.js imports is kept.
 */
import { fetchDigits, trainMnist } from "../public/train.js";

const status = document.querySelector("#status") as HTMLElement;
const result = (async () => {
  const digits = await fetchDigits();
  status.textContent = `training on ${digits.train.labels.length} digits...`;
  const run = await trainMnist({
    ...digits,
    onStep: ({ step, loss }) => {
      status.textContent = `step ${step}: loss ${loss.toFixed(4)}`;
    },
  });
  status.textContent = `test accuracy ${(run.accuracy * 100).toFixed(1)}% on ${digits.test.labels.length} digits (${run.milliseconds.toFixed(0)} ms)`;
  return run;
})();
result.catch((e: unknown) => {
  status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
});
// The Chromium test reads the run from here.
(globalThis as { dlResult?: unknown }).dlResult = result;
