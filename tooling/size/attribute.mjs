#!/usr/bin/env node
// Where the bytes of a size-budget entry go: bundles an entry as size-limit does (esbuild, minified,
// tree-shaken, @dl/* from the built dist through resolve-workspace.js) and prints its gzipped size,
// then every input file's minified bytes with its share of the gzipped size (minified bytes scaled by
// the bundle's gzip ratio: an estimate, since gzip works across files), grouped by package.
//
//   node tooling/size/attribute.mjs tooling/size/tensor-one-op.js [more entries] [--source]
//
// --source bundles the packages' sources (the "@dl/source" export condition) instead of dist, so that
// no build is needed. To attribute a feature exactly, bundle with and without it and compare the
// gzipped totals (that is how the numbers in .size-limit.js were measured).
import { relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { workspacePlugin } from "./resolve-workspace.js";

const args = process.argv.slice(2);
const source = args.includes("--source");
const entries = args.filter((a) => !a.startsWith("--"));
if (entries.length === 0) {
  console.error("usage: node tooling/size/attribute.mjs <entry.js>... [--source]");
  process.exit(2);
}

const kb = (n) => `${(n / 1000).toFixed(2)} kB`;

/** "packages/tensor/src/tensor.ts" -> "@dl/tensor"; other inputs keep their node_modules package or path. */
function packageOf(path) {
  const p = path.replaceAll("\\", "/");
  const dl = /(?:^|\/)packages\/([^/]+)\//.exec(p);
  if (dl) return `@dl/${dl[1]}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(p);
  return nm ? nm[1] : p;
}

for (const entry of entries) {
  const result = await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "error",
    ...(source ? { conditions: ["@dl/source"] } : { plugins: [workspacePlugin] }),
  });
  const out = result.outputFiles[0].contents;
  const gzip = gzipSync(out, { level: 9 }).length;
  const ratio = gzip / out.length;
  const [output] = Object.values(result.metafile.outputs);
  const files = Object.entries(output.inputs)
    .map(([path, { bytesInOutput }]) => ({ path: relative(process.cwd(), resolve(path)), bytes: bytesInOutput }))
    .filter((f) => f.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  console.log(`${entry}: ${kb(gzip)} gzipped (${kb(out.length)} minified, ${source ? "sources" : "dist"})`);
  const byPackage = new Map();
  for (const f of files) {
    const name = packageOf(f.path);
    const group = byPackage.get(name) ?? { bytes: 0, files: [] };
    group.bytes += f.bytes;
    group.files.push(f);
    byPackage.set(name, group);
  }
  for (const [name, group] of [...byPackage].sort((a, b) => b[1].bytes - a[1].bytes)) {
    console.log(`  ${name.padEnd(44)} ${kb(group.bytes).padStart(10)} min  ~${kb(group.bytes * ratio)} gzip`);
    for (const f of group.files) console.log(`    ${f.path.padEnd(56)} ${kb(f.bytes).padStart(10)}  ~${kb(f.bytes * ratio)}`);
  }
}
