#!/usr/bin/env node
// The packages as a user gets them: packs every package in packages/* (pnpm pack applies
// publishConfig and turns workspace: ranges into versions), installs the tarballs with plain npm into
// a fresh project outside the workspace, runs a training step there, and typechecks a .ts file that
// uses every package with skipLibCheck off (the published .d.ts must check in a plain Node project).
// Needs `pnpm build` first and the npm registry (for third-party dependencies). Exit 0 when all pass.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "dl-pack-"));
const packs = join(work, "packs");
const app = join(work, "app");
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 600_000 });

let failed = false;
const fail = (msg) => {
  console.error(`pack-check: ${msg}`);
  failed = true;
};

try {
  const dirs = readdirSync(join(root, "packages")).filter((d) => existsSync(join(root, "packages", d, "package.json")));
  const tarballs = {};
  for (const d of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, "packages", d, "package.json"), "utf8"));
    if (!existsSync(join(root, "packages", d, "dist"))) throw new Error(`packages/${d} has no dist/: run pnpm build first`);
    const out = run("pnpm", ["pack", "--pack-destination", packs], join(root, "packages", d));
    const file = out.trim().split("\n").pop().trim();
    tarballs[pkg.name] = file;
    const listing = run("tar", ["tzf", file], root).split("\n");
    for (const need of [
      "package/LICENSE",
      "package/README.md",
      "package/package.json",
      "package/dist/index.js",
      "package/dist/index.d.ts",
    ]) {
      if (!listing.includes(need)) fail(`${pkg.name}: the tarball lacks ${need.slice("package/".length)}`);
    }
    if (listing.some((f) => f.startsWith("package/src/"))) fail(`${pkg.name}: the tarball ships src/`);
    const packed = JSON.parse(run("tar", ["xzOf", file, "package/package.json"], root));
    if (JSON.stringify(packed).includes("@dl/source")) fail(`${pkg.name}: the published exports still name the @dl/source condition`);
    if (JSON.stringify(packed.dependencies ?? {}).includes("workspace:")) fail(`${pkg.name}: a workspace: range was published`);
    if (pkg.name !== "@dl/tensor" && !packed.peerDependencies?.["@dl/tensor"]) fail(`${pkg.name}: @dl/tensor must be a peer dependency`);
    if (packed.dependencies?.["@dl/tensor"])
      fail(`${pkg.name}: @dl/tensor must not be a regular dependency (a second copy would hold its own backend registry)`);
  }

  // A fresh project: the tarballs, TypeScript and Node's types, nothing from the workspace.
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "dl-pack-check",
      private: true,
      type: "module",
      dependencies: Object.fromEntries(Object.entries(tarballs).map(([n, f]) => [n, `file:${f}`])),
      devDependencies: { typescript: rootPkg.devDependencies.typescript, "@types/node": rootPkg.devDependencies["@types/node"] },
    }),
  );
  // --ignore-scripts: gpu.js's optional native GL build is not part of this check.
  run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], app);

  const program = `
import "@dl/backend-cpu/register";
import { attachKernels } from "@dl/backend-cpu/core";
import "@dl/autograd";
import { Linear, MSELoss, Module, ReLU, Sequential } from "@dl/nn";
import { SGD } from "@dl/optim";
import { TensorDataset, DataLoader } from "@dl/data";
import { defaultWorkerFactory } from "@dl/data/workers";
import { profile } from "@dl/profiler";
import { GPT2Config } from "@dl/transformers";
import { LoraConfig } from "@dl/peft";
import { getBackend, manualSeed, randn, type Tensor } from "@dl/tensor";
import "@dl/tensor/methods";

manualSeed(0);
const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 1));
const asModule: Module = model;
const optimizer = new SGD(model.parameters(), { lr: 0.1 });
const criterion = new MSELoss();
const data = new TensorDataset(randn(32, 4), randn(32, 1));
let last = 0;
for (const batch of new DataLoader(data, { batchSize: 8 })) {
  const [x, y] = batch as [Tensor, Tensor];
  const loss: Tensor = criterion(model(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  last = loss.item() as number;
}
const prof = profile(() => model(randn(2, 4)));
// The methods entry's types and prototype (x.sum(1) as in PyTorch).
const methodSum: number = randn(2, 3).abs().sum(1).shape[0] as number;
// The core entry's backend is the registered one (one cpu backend object however it is imported).
const oneCpu = attachKernels() === getBackend("cpu");
console.log(JSON.stringify({ training: asModule.training, loss: last, events: prof.events.length, gpt2: typeof GPT2Config, lora: typeof LoraConfig, oneCpu, methodSum, workers: typeof defaultWorkerFactory }));
`;
  writeFileSync(join(app, "main.ts"), program);
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ["node"],
        lib: ["ES2022"],
      },
      files: ["main.ts"],
    }),
  );
  try {
    run(join(app, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], app);
  } catch (e) {
    fail(`the published types do not check in a plain Node project (skipLibCheck off, no DOM lib):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
  // Run it: the same source as JavaScript (types stripped by esbuild from the workspace's devDependencies).
  const esbuild = join(root, "node_modules", ".bin", "esbuild");
  run(esbuild, ["main.ts", "--format=esm", "--outfile=main.mjs", "--log-level=warning"], app);
  const out = run(process.execPath, ["main.mjs"], app).trim();
  const result = JSON.parse(out.split("\n").pop());
  if (
    !(
      Number.isFinite(result.loss) &&
      result.events > 0 &&
      result.gpt2 === "function" &&
      result.lora === "function" &&
      result.oneCpu &&
      result.methodSum === 2 &&
      result.workers === "function"
    )
  ) {
    fail(`the installed packages did not train and profile: ${out}`);
  }
  if (!failed) console.log(`pack-check: ${Object.keys(tarballs).length} packages packed, installed with npm, typechecked and run (${out})`);
} catch (e) {
  fail(e instanceof Error ? `${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}` : String(e));
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
