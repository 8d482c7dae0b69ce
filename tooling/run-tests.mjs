#!/usr/bin/env node
// Runs the whole vitest suite once and ends with one summary line that CI reads:
//   N passed, N failed            (or: N passed, N failed, N skipped   when tests were skipped or todo)
// It exits non-zero when vitest failed, when any test failed, or when no test ran.
// A test file that failed without failing a test (e.g. it threw on import) counts as one failed test, so
// that "0 failed" always means nothing failed. Extra arguments are passed to vitest (e.g. a file filter).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const vitestPkg = require.resolve("vitest/package.json");
const vitestBin = join(dirname(vitestPkg), JSON.parse(readFileSync(vitestPkg, "utf8")).bin.vitest);

const dir = mkdtempSync(join(tmpdir(), "dl-vitest-"));
const outputFile = join(dir, "vitest.json");

let status = 1;
let summary = { passed: 0, failed: 0, skipped: 0 };
try {
  const run = spawnSync(
    process.execPath,
    [vitestBin, "run", "--reporter=default", "--reporter=json", `--outputFile=${outputFile}`, ...process.argv.slice(2)],
    { cwd: root, stdio: "inherit" },
  );
  if (run.error) console.error(`run-tests: could not start vitest: ${run.error.message}`);
  const vitestOk = run.status === 0;
  if (!existsSync(outputFile)) {
    console.error(`run-tests: vitest wrote no JSON report (exit ${run.status ?? run.signal})`);
  } else {
    const report = JSON.parse(readFileSync(outputFile, "utf8"));
    const tests = (report.testResults ?? []).flatMap((file) => file.assertionResults ?? []);
    const count = (...states) => tests.filter((t) => states.includes(t.status)).length;
    summary.passed = count("passed");
    summary.failed = count("failed");
    summary.skipped = count("skipped", "pending", "todo", "disabled");
    // Files that failed on their own (import error, error in a hook outside tests, ...).
    const brokenFiles = (report.testResults ?? []).filter(
      (file) => file.status === "failed" && !(file.assertionResults ?? []).some((t) => t.status === "failed"),
    );
    for (const file of brokenFiles) console.error(`run-tests: ${file.name} failed: ${(file.message ?? "").split("\n")[0]}`);
    summary.failed += brokenFiles.length;
    if (tests.length === 0 && brokenFiles.length === 0) console.error("run-tests: no tests ran");
    if (!vitestOk && summary.failed === 0) console.error(`run-tests: vitest exited with ${run.status ?? run.signal}`);
    status = vitestOk && summary.failed === 0 && summary.passed > 0 ? 0 : 1;
  }
} catch (error) {
  console.error(`run-tests: ${error instanceof Error ? error.message : error}`);
  summary = { passed: 0, failed: 0, skipped: 0 };
  status = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// stderr lines above are flushed before this: keep the summary the very last line of the output.
const line = `${summary.passed} passed, ${summary.failed} failed${summary.skipped > 0 ? `, ${summary.skipped} skipped` : ""}`;
process.stdout.write(`${line}\n`);
process.exitCode = status;
