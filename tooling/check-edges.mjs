#!/usr/bin/env node
// Dependency-edge checker for the packages in packages/*.
//
// For every package it scans src/**/*.{ts,mts,cts,tsx,js,mjs} for static imports (`import ... from`,
// `import "x"`, `import x = require("x")`), re-exports (`export ... from`), dynamic `import("x")` and
// `require("x")`, and fails when:
//   - a bare import names a package that the package.json does not declare in dependencies,
//     peerDependencies or optionalDependencies (a devDependency is not enough for src/);
//   - an import of, or a package.json dependency on, another @dl/* package is not an edge of LAYERS;
//   - anything imports a backend package (@dl/backend-*): only examples, bench and tests may;
//   - an edge marked "types" is used by a value import (only `import type` / `export type` may use it);
//   - a relative import leaves the package directory (import the other package by name instead);
//   - a Node builtin is imported outside NODE_BUILTIN_ALLOWLIST (see below), or without the node: prefix;
//   - a dynamic import() has a specifier that is not a string literal (it cannot be checked);
//   - a package in packages/* is missing from LAYERS (add it there, with its allowed edges).
// Packages that LAYERS lists but that do not exist yet are simply absent.
//
// Usage: node tooling/check-edges.mjs [repo-root]   (exit 0 when clean, 1 with one line per problem)
// The logic is exported (checkEdges, scanImports) for tooling/test/check-edges.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** An edge usable by any import. */
export const ANY = "any";
/** An edge usable only by type-only imports (`import type`, `export type ... from`, `typeof import()`). */
export const TYPES = "types";

/**
 * The layer table: for each package, the @dl/* packages its src/ may import (and its package.json may
 * depend on), and optionally the only external packages it may import at all.
 * No entry may name a backend package (@dl/backend-*).
 */
export const LAYERS = {
  "@dl/tensor": { dl: {}, externals: ["seedrandom"] },
  "@dl/backend-cpu": { dl: { "@dl/tensor": ANY } },
  "@dl/backend-gpu": { dl: { "@dl/tensor": ANY } },
  "@dl/data": { dl: { "@dl/tensor": ANY } },
  "@dl/autograd": { dl: { "@dl/tensor": ANY } },
  "@dl/nn": { dl: { "@dl/tensor": ANY, "@dl/autograd": ANY } },
  "@dl/optim": { dl: { "@dl/tensor": ANY, "@dl/autograd": ANY, "@dl/nn": TYPES } },
  "@dl/transformers": { dl: { "@dl/tensor": ANY, "@dl/autograd": ANY, "@dl/nn": ANY } },
  "@dl/peft": { dl: { "@dl/tensor": ANY, "@dl/autograd": ANY, "@dl/nn": ANY, "@dl/transformers": ANY } },
  "@dl/profiler": { dl: { "@dl/tensor": ANY, "@dl/autograd": ANY, "@dl/nn": ANY } },
};

/**
 * Node builtins. Library sources are platform-neutral (they are built with esbuild's neutral platform and
 * must bundle for browsers), so `node:*` imports are forbidden in packages/*\/src except in the files
 * listed here, by package name and path relative to the package directory. A listed file must only be
 * reachable through a Node-only subpath export (e.g. "./node"), never from the package's main entry.
 * Example: "@dl/transformers": ["src/node/load-file.ts"]
 */
export const NODE_BUILTIN_ALLOWLIST = {
  // DataLoader workers on Node versions without process.getBuiltinModule: the "./node" subpath
  // registers worker_threads as the worker factory (the main entry finds it at run time instead).
  "@dl/data": ["src/node.ts"],
  // save(stateDict, path) / load(path): the only Node use is a dynamic import("node:fs/promises") in
  // the branch that handles a file path (marked webpackIgnore / @vite-ignore), so the main entry still
  // bundles for browsers, where save() returns a Blob and load() takes a Blob / Response / ArrayBuffer.
  "@dl/nn": ["src/serialization.ts"],
  // fromPretrained(dir) / savePretrained(dir): the same pattern, a dynamic import("node:fs/promises")
  // reached only when a directory path is given; URL bases and { file: contents } objects need no Node.
  "@dl/transformers": ["src/hub/node-fs.ts"],
  // exportChromeTrace(path): a dynamic import("node:fs/promises") reached only when writing a file.
  "@dl/profiler": ["src/chrome-trace.ts"],
};

const SOURCE_EXT = /\.(?:ts|mts|cts|tsx|js|mjs|cjs)$/;
const DEP_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies"];
const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith("_")));
const isBackend = (name) => name.startsWith("@dl/backend-");

// ---------------------------------------------------------------------------------------------------
// Scanner: a small JS/TS tokenizer (comments, strings, template literals and regex literals are skipped
// correctly, so text like "import x from 'y'" inside a string or comment is not an import).

const METHOD_MODIFIERS = new Set(["async", "static", "public", "private", "protected", "override", "get", "set", "readonly", "abstract"]);
const KEYWORDS_BEFORE_EXPR = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
  "extends",
]);

function tokenize(src) {
  const toks = [];
  const braces = []; // "{" for a block/object, "${" for a template substitution
  const n = src.length;
  let i = 0;
  let line = 1;

  const push = (t, v, start, extra) => toks.push({ t, v, line, start, end: i, ...extra });

  // Reads template characters from i (just after ` or the } closing a substitution).
  const readTemplate = (head) => {
    const start = i;
    let text = "";
    while (i < n) {
      const c = src[i];
      if (c === "\\") {
        text += src.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === "\n") line++;
      if (c === "`") {
        i++;
        push("tpl", text, start, { whole: head });
        return;
      }
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        push("tpl", text, start, { whole: false, open: true });
        braces.push("${");
        return;
      }
      text += c;
      i++;
    }
    push("tpl", text, start, { whole: false });
  };

  const regexAllowed = () => {
    const p = toks[toks.length - 1];
    if (!p) return true;
    if (p.t === "id") return KEYWORDS_BEFORE_EXPR.has(p.v);
    if (p.t !== "punc") return false; // after a string, number, template or regex: division
    if (p.v === ")" || p.v === "]" || p.v === "}") return false;
    if (p.v === "!" && p.postfix) return false; // TS non-null assertion: `a! / b`
    return true;
  };

  while (i < n) {
    const c = src[i];
    const start = i;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\ufeff" || c === "\u00a0") {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const close = src.indexOf("*/", i + 2);
      const stop = close < 0 ? n : close + 2;
      for (let k = i; k < stop; k++) if (src[k] === "\n") line++;
      i = stop;
    } else if (c === '"' || c === "'") {
      let text = "";
      i++;
      while (i < n && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") {
          if (src[i + 1] === "\n") line++;
          text += src[i + 1] ?? "";
          i += 2;
        } else text += src[i++];
      }
      i++;
      push("str", text, start);
    } else if (c === "`") {
      i++;
      readTemplate(true);
    } else if (c === "}" && braces[braces.length - 1] === "${") {
      braces.pop();
      i++;
      readTemplate(false);
    } else if (/[\p{ID_Start}$_#\\]/u.test(c)) {
      i++;
      while (i < n && /[\p{ID_Continue}$\u200c\u200d]/u.test(src[i])) i++;
      push("id", src.slice(start, i), start);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < n) {
        if (/[0-9A-Za-z_.]/.test(src[i])) i++;
        else if ((src[i] === "+" || src[i] === "-") && /[eE]/.test(src[i - 1]) && !/^0[xX]/.test(src.slice(start, i))) i++;
        else break;
      }
      push("num", src.slice(start, i), start);
    } else if (c === "/" && regexAllowed()) {
      // A regex literal ends at an unescaped / outside a class; if the line ends first, it was a division.
      let k = i + 1;
      let inClass = false;
      let ok = false;
      while (k < n && src[k] !== "\n") {
        const d = src[k];
        if (d === "\\") k += 2;
        else {
          if (d === "[") inClass = true;
          else if (d === "]") inClass = false;
          else if (d === "/" && !inClass) {
            ok = true;
            break;
          }
          k++;
        }
      }
      if (ok) {
        i = k + 1;
        while (i < n && /[A-Za-z]/.test(src[i])) i++;
        push("regex", src.slice(start, i), start);
      } else {
        i++;
        push("punc", "/", start);
      }
    } else {
      i++;
      if (c === "{") braces.push("{");
      else if (c === "}") braces.pop();
      const prev = toks[toks.length - 1];
      const postfix = c === "!" && prev !== undefined && prev.end === start && (prev.t === "id" || prev.v === ")" || prev.v === "]");
      push("punc", c, start, postfix ? { postfix } : undefined);
    }
  }
  return toks;
}

const isLiteral = (tok) => tok !== undefined && (tok.t === "str" || (tok.t === "tpl" && tok.whole));
const isPunc = (tok, v) => tok !== undefined && tok.t === "punc" && tok.v === v;
const isId = (tok, v) => tok !== undefined && tok.t === "id" && tok.v === v;

/** Index of the token closing the bracket opened at toks[open], or -1. */
function matching(toks, open) {
  const pairs = { "{": "}", "(": ")", "[": "]" };
  const o = toks[open].v;
  const c = pairs[o];
  let depth = 0;
  for (let k = open; k < toks.length; k++) {
    const t = toks[k];
    if (t.t !== "punc") continue;
    if (t.v === o) depth++;
    else if (t.v === c && --depth === 0) return k;
  }
  return -1;
}

/**
 * Lists the module specifiers a JS/TS source imports.
 * @returns {{ specifier: string | null, kind: "import" | "export" | "dynamic" | "require", typeOnly: boolean, line: number }[]}
 *   specifier is null for a dynamic import() whose argument is not a string literal.
 */
export function scanImports(source) {
  const toks = tokenize(source);
  const out = [];
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (tok.t !== "id") continue;
    const prev = toks[i - 1];
    if (isPunc(prev, ".")) continue; // a property: x.import, x.require (also x?.import)
    const next = toks[i + 1];

    if (tok.v === "import") {
      if (isPunc(next, "(")) {
        const typeOnly = isId(prev, "typeof");
        if (isLiteral(toks[i + 2]) && (isPunc(toks[i + 3], ")") || isPunc(toks[i + 3], ","))) {
          out.push({ specifier: toks[i + 2].v, kind: "dynamic", typeOnly, line: tok.line });
          continue;
        }
        // Not a literal: either a dynamic import of a computed name, or a method named import.
        const close = matching(toks, i + 1);
        const after = close >= 0 ? toks[close + 1] : undefined;
        const memberStart =
          prev === undefined ||
          isPunc(prev, "{") ||
          isPunc(prev, "}") ||
          isPunc(prev, ";") ||
          (prev.t === "id" && METHOD_MODIFIERS.has(prev.v));
        if (isPunc(after, "{") || (isPunc(after, ":") && memberStart)) continue;
        out.push({ specifier: null, kind: "dynamic", typeOnly, line: tok.line });
        continue;
      }
      if (isLiteral(next)) {
        out.push({ specifier: next.v, kind: "import", typeOnly: false, line: tok.line });
        continue;
      }
      if (!(next && (next.t === "id" || isPunc(next, "{") || isPunc(next, "*")))) continue; // import.meta, { import: x }
      const typeOnly =
        isId(next, "type") &&
        !isPunc(toks[i + 2], ",") &&
        !(isId(toks[i + 2], "from") && isLiteral(toks[i + 3])) &&
        !isPunc(toks[i + 2], "=");
      let depth = 0;
      for (let j = i + 1; j < toks.length && j < i + 5000; j++) {
        const t = toks[j];
        if (isPunc(t, "{")) depth++;
        else if (isPunc(t, "}")) depth--;
        else if (depth === 0 && isPunc(t, ";")) break;
        else if (depth === 0 && isId(t, "from") && isLiteral(toks[j + 1])) {
          out.push({ specifier: toks[j + 1].v, kind: "import", typeOnly, line: tok.line });
          break;
        } else if (depth === 0 && isPunc(t, "=")) {
          // TS: import x = require("y")
          if (isId(toks[j + 1], "require") && isPunc(toks[j + 2], "(") && isLiteral(toks[j + 3])) {
            out.push({ specifier: toks[j + 3].v, kind: "require", typeOnly, line: tok.line });
            toks[j + 1].consumed = true;
          }
          break;
        }
        if (depth < 0) break;
      }
      continue;
    }

    if (tok.v === "export") {
      let k = i + 1;
      const typeOnly = isId(toks[k], "type") && (isPunc(toks[k + 1], "{") || isPunc(toks[k + 1], "*"));
      if (typeOnly) k++;
      let end = -1;
      if (isPunc(toks[k], "{")) end = matching(toks, k);
      else if (isPunc(toks[k], "*")) {
        end = k;
        if (isId(toks[k + 1], "as") && toks[k + 2]) end = k + 2; // export * as ns from "x"
      }
      if (end >= 0 && isId(toks[end + 1], "from") && isLiteral(toks[end + 2])) {
        out.push({ specifier: toks[end + 2].v, kind: "export", typeOnly, line: tok.line });
      }
      continue;
    }

    if (tok.v === "require" && !tok.consumed && isPunc(next, "(") && isLiteral(toks[i + 2]) && isPunc(toks[i + 3], ")")) {
      if (prev && prev.t === "id" && (prev.v === "function" || prev.v === "const" || prev.v === "let" || prev.v === "var")) continue;
      out.push({ specifier: toks[i + 2].v, kind: "require", typeOnly: false, line: tok.line });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Checker

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      if (name === "node_modules" || name.startsWith(".")) return [];
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return SOURCE_EXT.test(name) ? [path] : [];
    });
}

/** "@scope/name/sub/path" -> "@scope/name"; "name/sub" -> "name". */
export function packageNameOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Whether a package's exports map (if any) exposes the given subpath ("." or "./x"). */
function exportsSubpath(pkgJson, subpath) {
  const exp = pkgJson.exports;
  if (exp === undefined) return true; // no exports map: anything is reachable
  if (typeof exp === "string" || Array.isArray(exp)) return subpath === ".";
  const keys = Object.keys(exp);
  if (!keys.some((k) => k.startsWith("."))) return subpath === "."; // a conditions object for "."
  return keys.some((k) => {
    if (k === subpath) return true;
    const star = k.indexOf("*");
    return star >= 0 && subpath.startsWith(k.slice(0, star)) && subpath.endsWith(k.slice(star + 1));
  });
}

/** Reads the packages in <root>/packages/*: [{ dir, rel, json }]. */
export function listPackages(root) {
  const base = join(root, "packages");
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({
      dir,
      rel: relative(root, dir).split(sep).join("/"),
      json: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")),
    }));
}

function describeAllowed(layer) {
  const names = Object.entries(layer.dl).map(([n, kind]) => (kind === TYPES ? `${n} (types only)` : n));
  return names.length > 0 ? names.join(", ") : "no @dl/* package";
}

/**
 * Checks every package in <root>/packages/*.
 * @param {{ root?: string, layers?: typeof LAYERS, builtinAllowlist?: Record<string, string[]> }} [options]
 * @returns {{ errors: { pkg: string, file: string, line?: number, specifier?: string, message: string }[],
 *             packages: string[], files: number, imports: number }}
 */
export function checkEdges(options = {}) {
  const root = resolve(options.root ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const layers = options.layers ?? LAYERS;
  const builtinAllowlist = options.builtinAllowlist ?? NODE_BUILTIN_ALLOWLIST;
  const errors = [];
  let files = 0;
  let imports = 0;

  for (const [name, layer] of Object.entries(layers)) {
    for (const dep of Object.keys(layer.dl)) {
      if (isBackend(dep)) throw new Error(`check-edges: the layer table lets ${name} import ${dep}; no package may import a backend`);
    }
  }

  const packages = listPackages(root);
  const byName = new Map(packages.map((p) => [p.json.name, p]));

  for (const pkg of packages) {
    const name = pkg.json.name ?? `(unnamed ${pkg.rel})`;
    const layer = layers[name];
    const pkgFile = `${pkg.rel}/package.json`;
    const error = (file, message, line, specifier) => errors.push({ pkg: name, file, line, specifier, message });
    if (!layer) {
      error(pkgFile, `${name} is not in the layer table (LAYERS in tooling/check-edges.mjs): add it with its allowed @dl/* edges`);
    }

    const declared = new Set(DEP_FIELDS.flatMap((f) => Object.keys(pkg.json[f] ?? {})));
    const devOnly = new Set(Object.keys(pkg.json.devDependencies ?? {}));

    // package.json edges on @dl/* obey the same table (devDependencies are for tests and are not checked).
    for (const field of DEP_FIELDS) {
      for (const dep of Object.keys(pkg.json[field] ?? {})) {
        if (!dep.startsWith("@dl/") || dep === name) continue;
        if (isBackend(dep)) {
          error(
            pkgFile,
            `${name} lists ${dep} in ${field}: only examples, bench and tests may depend on a backend (use devDependencies for tests)`,
          );
        } else if (layer && !(dep in layer.dl)) {
          error(pkgFile, `${name} lists ${dep} in ${field}, which the layer table forbids (${name} may use: ${describeAllowed(layer)})`);
        }
      }
    }

    for (const path of sourceFiles(join(pkg.dir, "src"))) {
      files++;
      const fileRel = relative(root, path).split(sep).join("/");
      const inPkg = relative(pkg.dir, path).split(sep).join("/");
      for (const imp of scanImports(readFileSync(path, "utf8"))) {
        imports++;
        const spec = imp.specifier;
        const at = (message) => error(fileRel, message, imp.line, spec ?? undefined);
        if (spec === null) {
          if (!imp.typeOnly) at(`${name}: dynamic import() with a non-literal specifier cannot be checked; use a string literal`);
          continue;
        }
        if (spec.startsWith(".") || spec.startsWith("/") || isAbsolute(spec)) {
          if (!spec.startsWith(".")) {
            at(`${name} imports an absolute path "${spec}"`);
            continue;
          }
          const target = resolve(dirname(path), spec);
          const rel = relative(pkg.dir, target);
          if (rel.startsWith("..") || isAbsolute(rel)) {
            at(`${name} imports "${spec}", which leaves ${pkg.rel}/: import the other package by its name`);
          }
          continue;
        }
        const builtin = spec.startsWith("node:") || (BUILTINS.has(packageNameOf(spec)) && !declared.has(packageNameOf(spec)));
        if (builtin) {
          const allowed = (builtinAllowlist[name] ?? []).includes(inPkg);
          if (!spec.startsWith("node:"))
            at(`${name} imports the Node builtin "${spec}": write "node:${spec}" (and see NODE_BUILTIN_ALLOWLIST)`);
          else if (!allowed) {
            at(
              `${name} imports the Node builtin "${spec}" in ${inPkg}, which is not in NODE_BUILTIN_ALLOWLIST (library sources must stay platform-neutral)`,
            );
          }
          continue;
        }
        const target = packageNameOf(spec);
        if (target === name) continue; // self-reference through the package's own exports
        if (!declared.has(target)) {
          const hint = devOnly.has(target) ? " (it is only a devDependency)" : "";
          at(`${name} imports "${spec}", but ${pkgFile} does not declare ${target} in dependencies or peerDependencies${hint}`);
        }
        if (target.startsWith("@dl/")) {
          if (isBackend(target)) {
            at(`${name} imports the backend "${spec}": only examples, bench and tests may import @dl/backend-*`);
          } else if (layer && !(target in layer.dl)) {
            at(`${name} may not import ${target} (layer table: ${name} may use ${describeAllowed(layer)})`);
          } else if (layer && layer.dl[target] === TYPES && !imp.typeOnly) {
            at(`${name} may import only types from ${target}: write "import type" / "export type"`);
          }
          const other = byName.get(target);
          const subpath = spec === target ? "." : `.${spec.slice(target.length)}`;
          if (other && !exportsSubpath(other.json, subpath)) {
            at(`${name} imports "${spec}", but ${target} does not export "${subpath}"`);
          }
        } else if (layer?.externals && !layer.externals.includes(target)) {
          at(`${name} may import only ${layer.externals.join(", ")} from outside the workspace, not ${target}`);
        }
      }
    }
  }

  return { errors, packages: packages.map((p) => p.json.name), files, imports };
}

export function formatError(e) {
  return `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const root = process.argv[2] ? resolve(process.argv[2]) : undefined;
  const result = checkEdges({ root });
  if (result.errors.length > 0) {
    for (const e of result.errors) console.error(formatError(e));
    console.error(`check-edges: ${result.errors.length} problem(s) in ${result.packages.length} package(s)`);
    process.exit(1);
  }
  console.log(
    `check-edges: OK (${result.packages.length} packages: ${result.packages.join(", ") || "none"}; ${result.files} source files, ${result.imports} imports)`,
  );
}
