// Size budgets (size-limit 12 + @size-limit/esbuild + @size-limit/file). Run `pnpm build` first, then `pnpm size`.
// Each entry under tooling/size/ is bundled with esbuild (minified, tree-shaken) and measured gzipped.
// @dl/* imports resolve through the workspace packages' built dist (their exports' "default" condition),
// so the budget measures what a user of the published packages gets.
//
// The limits are the measured sizes plus a small margin, so that growth is noticed. The goal for the
// one-op program is 8 kB; today the Tensor class (views, indexing, conversion, printing) and the CPU
// backend's full kernel set (which cannot be tree-shaken: a backend is one object) take ~16 kB.
// bench/README.md and docs/architecture.md track the breakdown.
import { sizeLimitWorkspace } from "./tooling/size/resolve-workspace.js";

export default [
  {
    name: "@dl/tensor one op + cpu backend",
    path: "tooling/size/tensor-one-op.js",
    limit: "16.5 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
  {
    name: "@dl/tensor + cpu + @dl/autograd: one op and its gradient",
    path: "tooling/size/autograd-backward.js",
    limit: "22.8 kB",
    gzip: true,
    modifyEsbuildConfig: sizeLimitWorkspace,
  },
];
