// Size budgets (size-limit 12 + @size-limit/esbuild + @size-limit/file). Run `pnpm build` first, then `pnpm size`.
// Each entry under tooling/size/ is bundled with esbuild (minified, tree-shaken) and measured gzipped.
// @dl/* imports resolve through the workspace packages' built dist (their exports' "default" condition),
// so the budget measures what a user of the published packages gets.
import { sizeLimitWorkspace } from "./tooling/size/resolve-workspace.js";

export default [
  {
    name: "@dl/tensor one op + cpu backend",
    path: "tooling/size/tensor-one-op.js",
    limit: "8 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
];
