// esbuild plugin for size-limit: resolves "@dl/<name>[/subpath]" to the built file that the workspace
// package's exports map gives under the "import"/"default" conditions (never the "@dl/source" one), so
// that budgets measure dist/ as published. Other bare imports (seedrandom, ...) resolve normally from
// the importing file, i.e. through each package's own node_modules.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CONDITIONS = ["import", "default"];

function workspacePackages() {
  const base = join(root, "packages");
  const map = new Map();
  for (const name of existsSync(base) ? readdirSync(base) : []) {
    const file = join(base, name, "package.json");
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, "utf8"));
    map.set(json.name, { dir: join(base, name), json });
  }
  return map;
}

/** Picks a target from an exports value by conditions; null when none applies. */
function pick(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = pick(v);
      if (t) return t;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [cond, v] of Object.entries(value)) {
      if (CONDITIONS.includes(cond)) {
        const t = pick(v);
        if (t) return t;
      }
    }
  }
  return null;
}

export function resolveWorkspaceImport(specifier, packages = workspacePackages()) {
  const parts = specifier.split("/");
  const name = parts.slice(0, 2).join("/");
  const pkg = packages.get(name);
  if (!pkg) return { error: `${name} is not a package in packages/*` };
  const subpath = parts.length > 2 ? `./${parts.slice(2).join("/")}` : ".";
  const exp = pkg.json.exports;
  const entry =
    typeof exp === "object" && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith("."))
      ? exp[subpath]
      : subpath === "."
        ? exp
        : undefined;
  const target = entry === undefined ? null : pick(entry);
  if (!target) return { error: `${name} exports no "${subpath}" under the ${CONDITIONS.join("/")} conditions` };
  const path = join(pkg.dir, target);
  if (!existsSync(path)) return { error: `${specifier} -> ${path} does not exist: run \`pnpm build\` first` };
  return { path };
}

export const workspacePlugin = {
  name: "dl-workspace-dist",
  setup(build) {
    const packages = workspacePackages();
    build.onResolve({ filter: /^@dl\// }, async (args) => {
      const r = resolveWorkspaceImport(args.path, packages);
      if (r.error) return { errors: [{ text: r.error }] };
      // Hand the file path back to esbuild's resolver so the package's "sideEffects" still applies.
      const res = await build.resolve(r.path, { kind: args.kind, resolveDir: dirname(r.path) });
      return res.errors.length > 0 ? { errors: res.errors } : { path: res.path, sideEffects: res.sideEffects };
    });
  },
};

/** size-limit's modifyEsbuildConfig hook. */
export function sizeLimitWorkspace(config) {
  return { ...config, plugins: [...(config.plugins ?? []), workspacePlugin] };
}
