import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { checkEdges, formatError, LAYERS, scanImports } from "../check-edges.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const script = join(repoRoot, "tooling/check-edges.mjs");

type Files = Record<string, string>;
interface FakePackage {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports?: unknown;
  src: Files;
}

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** Writes a fake workspace: packages/<dir>/package.json and src files. */
function workspace(packages: Record<string, FakePackage>): string {
  const root = mkdtempSync(join(tmpdir(), "check-edges-"));
  roots.push(root);
  for (const [dir, pkg] of Object.entries(packages)) {
    const base = join(root, "packages", dir);
    mkdirSync(base, { recursive: true });
    const { src, ...json } = pkg;
    writeFileSync(join(base, "package.json"), JSON.stringify({ version: "0.0.0", type: "module", ...json }, null, 2));
    for (const [file, text] of Object.entries(src)) {
      mkdirSync(dirname(join(base, file)), { recursive: true });
      writeFileSync(join(base, file), text);
    }
  }
  return root;
}

const tensor = (src: Files = { "src/index.ts": 'import seedrandom from "seedrandom";\nexport const r = seedrandom;\n' }): FakePackage => ({
  name: "@dl/tensor",
  dependencies: { seedrandom: "3.0.5" },
  src,
});
const backendCpu: FakePackage = {
  name: "@dl/backend-cpu",
  dependencies: { "@dl/tensor": "workspace:*" },
  src: { "src/index.ts": 'import { registerBackend } from "@dl/tensor";\nexport { registerBackend };\n' },
};

const messages = (root: string) => checkEdges({ root }).errors.map(formatError);

describe("check-edges on the real repository", () => {
  it("passes", () => {
    const result = checkEdges({ root: repoRoot });
    expect(result.errors.map(formatError)).toEqual([]);
    expect(result.packages).toContain("@dl/tensor");
    expect(result.imports).toBeGreaterThan(0);
  });

  it("exits 0 from the command line", () => {
    const run = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^check-edges: OK/);
  });
});

describe("check-edges on broken fixtures", () => {
  it("passes a correct fixture", () => {
    const root = workspace({ tensor: tensor(), "backend-cpu": backendCpu });
    expect(messages(root)).toEqual([]);
  });

  it("fails when @dl/tensor imports a backend, naming package, file and import", () => {
    const root = workspace({
      tensor: {
        ...tensor(),
        dependencies: { seedrandom: "3.0.5", "@dl/backend-cpu": "workspace:*" },
        src: { "src/index.ts": '// fine\nimport { cpuBackend } from "@dl/backend-cpu";\nexport const b = cpuBackend;\n' },
      },
      "backend-cpu": backendCpu,
    });
    const errors = messages(root);
    expect(errors).toContain(
      'packages/tensor/src/index.ts:2: @dl/tensor imports the backend "@dl/backend-cpu": only examples, bench and tests may import @dl/backend-*',
    );
    // the package.json edge is reported too
    expect(errors.some((e) => e.startsWith("packages/tensor/package.json: @dl/tensor lists @dl/backend-cpu in dependencies"))).toBe(true);

    const run = spawnSync(process.execPath, [script, root], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("packages/tensor/src/index.ts:2: @dl/tensor imports the backend");
  });

  it("fails on an import the package.json does not declare", () => {
    const root = workspace({
      tensor: tensor(),
      "backend-cpu": {
        ...backendCpu,
        devDependencies: { "left-pad": "1.0.0" },
        src: {
          "src/index.ts": 'export * from "@dl/tensor";\n',
          "src/pad.ts": 'import pad from "left-pad/index.js";\nexport default pad;\n',
        },
      },
    });
    expect(messages(root)).toEqual([
      'packages/backend-cpu/src/pad.ts:1: @dl/backend-cpu imports "left-pad/index.js", but packages/backend-cpu/package.json does not declare left-pad in dependencies or peerDependencies (it is only a devDependency)',
    ]);
  });

  it("fails on an undeclared @dl import and on an edge the layer table forbids", () => {
    const root = workspace({
      tensor: tensor(),
      autograd: {
        name: "@dl/autograd",
        dependencies: { "@dl/tensor": "workspace:*" },
        src: { "src/index.ts": 'export * from "@dl/tensor";\n' },
      },
      nn: {
        name: "@dl/nn",
        dependencies: { "@dl/tensor": "workspace:*", "@dl/optim": "workspace:*" },
        src: { "src/index.ts": 'import { Tensor } from "@dl/tensor";\nconst g = await import("@dl/autograd");\nexport { Tensor, g };\n' },
      },
      optim: { name: "@dl/optim", dependencies: { "@dl/tensor": "workspace:*" }, src: { "src/index.ts": "export {};\n" } },
    });
    const errors = messages(root);
    expect(errors).toContain(
      "packages/nn/package.json: @dl/nn lists @dl/optim in dependencies, which the layer table forbids (@dl/nn may use: @dl/tensor, @dl/autograd)",
    );
    expect(errors).toContain(
      'packages/nn/src/index.ts:2: @dl/nn imports "@dl/autograd", but packages/nn/package.json does not declare @dl/autograd in dependencies or peerDependencies',
    );
    expect(errors).toHaveLength(2);
  });

  it("fails when a lower layer imports a higher one, even when declared", () => {
    const root = workspace({
      tensor: tensor(),
      autograd: {
        name: "@dl/autograd",
        dependencies: { "@dl/tensor": "workspace:*", "@dl/nn": "workspace:*" },
        src: { "src/index.ts": 'export { Linear } from "@dl/nn";\n' },
      },
      nn: { name: "@dl/nn", dependencies: { "@dl/tensor": "workspace:*" }, src: { "src/index.ts": "export const Linear = 1;\n" } },
    });
    const errors = messages(root);
    expect(errors).toContain(
      "packages/autograd/src/index.ts:1: @dl/autograd may not import @dl/nn (layer table: @dl/autograd may use @dl/tensor)",
    );
  });

  it("allows only type imports on a types-only edge (optim -> nn)", () => {
    const optim = (code: string): FakePackage => ({
      name: "@dl/optim",
      dependencies: { "@dl/tensor": "workspace:*", "@dl/autograd": "workspace:*", "@dl/nn": "workspace:*" },
      src: { "src/index.ts": code },
    });
    const others = {
      tensor: tensor(),
      autograd: { name: "@dl/autograd", dependencies: { "@dl/tensor": "workspace:*" }, src: { "src/index.ts": "export {};\n" } },
      nn: {
        name: "@dl/nn",
        dependencies: { "@dl/tensor": "workspace:*", "@dl/autograd": "workspace:*" },
        src: { "src/index.ts": "export {};\n" },
      },
    };
    const ok = workspace({ ...others, optim: optim('import type { Module } from "@dl/nn";\nexport type { Parameter } from "@dl/nn";\n') });
    expect(messages(ok)).toEqual([]);
    const bad = workspace({ ...others, optim: optim('import { type Module, Linear } from "@dl/nn";\n') });
    expect(messages(bad)).toEqual([
      'packages/optim/src/index.ts:1: @dl/optim may import only types from @dl/nn: write "import type" / "export type"',
    ]);
  });

  it("restricts @dl/tensor to seedrandom from outside the workspace", () => {
    const root = workspace({
      tensor: { ...tensor(), dependencies: { seedrandom: "3.0.5", lodash: "4.0.0" }, src: { "src/index.ts": 'import "lodash";\n' } },
    });
    expect(messages(root)).toEqual([
      "packages/tensor/src/index.ts:1: @dl/tensor may import only seedrandom from outside the workspace, not lodash",
    ]);
  });

  it("fails on Node builtins outside the allowlist and on bare builtin names", () => {
    const src = { "src/index.ts": 'import { readFileSync } from "node:fs";\nimport path from "path";\nexport { readFileSync, path };\n' };
    const root = workspace({ tensor: tensor(src) });
    expect(messages(root)).toEqual([
      'packages/tensor/src/index.ts:1: @dl/tensor imports the Node builtin "node:fs" in src/index.ts, which is not in NODE_BUILTIN_ALLOWLIST (library sources must stay platform-neutral)',
      'packages/tensor/src/index.ts:2: @dl/tensor imports the Node builtin "path": write "node:path" (and see NODE_BUILTIN_ALLOWLIST)',
    ]);
    const allowed = checkEdges({ root, builtinAllowlist: { "@dl/tensor": ["src/index.ts"] } }).errors.map(formatError);
    expect(allowed).toHaveLength(1); // the bare "path" still needs the node: prefix
  });

  it("fails on relative imports that leave the package, non-literal dynamic imports and unknown packages", () => {
    const root = workspace({
      tensor: tensor(),
      "backend-cpu": {
        ...backendCpu,
        src: {
          "src/index.ts": 'export * from "../../tensor/src/index.js";\nexport * from "./sub/x.js";\n',
          "src/sub/x.ts": 'export * from "../index.js";\nconst name = "x";\nexport const m = () => import(name);\n',
        },
      },
      extra: { name: "@dl/extra", src: { "src/index.ts": "export {};\n" } },
    });
    expect(messages(root)).toEqual([
      'packages/backend-cpu/src/index.ts:1: @dl/backend-cpu imports "../../tensor/src/index.js", which leaves packages/backend-cpu/: import the other package by its name',
      "packages/backend-cpu/src/sub/x.ts:3: @dl/backend-cpu: dynamic import() with a non-literal specifier cannot be checked; use a string literal",
      "packages/extra/package.json: @dl/extra is not in the layer table (LAYERS in tooling/check-edges.mjs): add it with its allowed @dl/* edges",
    ]);
  });

  it("fails on a subpath the target package does not export", () => {
    const root = workspace({
      tensor: { ...tensor(), exports: { ".": { default: "./dist/index.js" } } },
      "backend-cpu": { ...backendCpu, src: { "src/index.ts": 'import { x } from "@dl/tensor/internal";\nexport { x };\n' } },
    });
    expect(messages(root)).toEqual([
      'packages/backend-cpu/src/index.ts:1: @dl/backend-cpu imports "@dl/tensor/internal", but @dl/tensor does not export "./internal"',
    ]);
  });

  it("keeps backends out of the layer table", () => {
    for (const [name, layer] of Object.entries(LAYERS)) {
      for (const dep of Object.keys(layer.dl)) expect(dep.startsWith("@dl/backend-"), `${name} -> ${dep}`).toBe(false);
    }
    expect(() => checkEdges({ root: workspace({}), layers: { "@dl/nn": { dl: { "@dl/backend-cpu": "any" } } } })).toThrow(
      /no package may import a backend/,
    );
  });
});

describe("scanImports", () => {
  const specs = (code: string) => scanImports(code).map((i) => `${i.kind}${i.typeOnly ? ":type" : ""} ${i.specifier}`);

  it("finds static imports, re-exports, dynamic imports and require", () => {
    const code = [
      'import a from "a";',
      'import * as b from "b";',
      'import c, { d as e, type f } from "c";',
      "import {",
      "  from,",
      '} from "multi-line";',
      'import "side-effect";',
      'import type { T } from "types";',
      'import type Def from "type-default";',
      'import type, { x } from "named-type";',
      'export * from "star";',
      'export * as ns from "star-ns";',
      'export { y } from "named";',
      'export type { Z } from "type-reexport";',
      "export const q = 1;",
      'const lazy = () => import("lazy");',
      "const t = import(`tpl`);",
      'type M = typeof import("typeof-import");',
      'import eq = require("eq");',
      'const r = require("req");',
    ].join("\n");
    expect(specs(code)).toEqual([
      "import a",
      "import b",
      "import c",
      "import multi-line",
      "import side-effect",
      "import:type types",
      "import:type type-default",
      "import named-type",
      "export star",
      "export star-ns",
      "export named",
      "export:type type-reexport",
      "dynamic lazy",
      "dynamic tpl",
      "dynamic:type typeof-import",
      "require eq",
      "require req",
    ]);
    expect(scanImports('\n\nimport x from "y";')[0]?.line).toBe(3);
  });

  it("ignores comments, strings, templates, regexes, import.meta and properties", () => {
    const code = [
      '// import a from "comment";',
      '/* export * from "block-comment"; */',
      "const s = \"import { enableAutograd } from '@dl/autograd'\";",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the source text of a template literal
      "const t = `export * from \"tpl\" ${'import(\"inner\")'} import x from 'y'`;",
      "const re = /import x from 'regex'/g;",
      "const d = a! / b; const e = \"import z from 'after-division'\";",
      "const u = new URL('x', import.meta.url);",
      "obj.import('prop'); obj.require('prop');",
      "const o = { import: 1, export: 2 };",
      "class L { import(path: string): void {} }",
      'const real = await import("real");',
    ].join("\n");
    expect(specs(code)).toEqual(["dynamic real"]);
  });
});
