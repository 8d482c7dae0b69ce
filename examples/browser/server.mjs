// `pnpm start` (after `pnpm build` at the repository root): serves both pages on http://localhost:8080
// (--port=N). /bundled.html runs src/app.ts bundled with esbuild against the packages' built files;
// /script.html loads those same built files as plain ES modules through an import map. Both train
// an MLP on real MNIST digits from the `mnist` package.
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The packages the import map names, served from their dist/ folders under /modules/<name>/. */
export const SERVED_PACKAGES = ["tensor", "autograd", "backend-cpu", "nn", "optim"];

function distDir(name) {
  return join(here, "node_modules", "@dl", name, "dist");
}

/**
 * The first `perDigit` images of each digit for training and the next `testPerDigit` for testing,
 * interleaved 0, 1, ..., 9, 0, 1, ...: labels, and pixels as one byte each (train then test).
 */
export function readDigits(perDigit = 200, testPerDigit = 50) {
  const dir = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  const byDigit = [];
  for (let d = 0; d < 10; d++) byDigit.push(JSON.parse(readFileSync(join(dir, `${d}.json`), "utf8")).data);
  const train = [];
  const test = [];
  const bytes = new Uint8Array((perDigit + testPerDigit) * 10 * 784);
  let at = 0;
  const take = (from, count, labels) => {
    for (let i = from; i < from + count; i++) {
      for (let d = 0; d < 10; d++) {
        const data = byDigit[d];
        for (let p = 0; p < 784; p++) bytes[at++] = Math.round(data[i * 784 + p] * 255);
        labels.push(d);
      }
    }
  };
  take(0, perDigit, train);
  take(perDigit, testPerDigit, test);
  return { meta: JSON.stringify({ train, test }), bytes };
}

/** Starts the server; resolves to its URL and a close function. */
export async function startServer({ port = 8080, perDigit = 200, testPerDigit = 50 } = {}) {
  for (const name of SERVED_PACKAGES) {
    if (!existsSync(join(distDir(name), "index.js"))) {
      throw new Error(`@dl/${name} is not built (${distDir(name)} is missing): run \`pnpm build\` at the repository root first`);
    }
  }
  // The bundled route, as an app would build it (no source condition: the packages' dist files).
  const bundle = await build({
    entryPoints: [join(here, "src", "app.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "warning",
  });
  const appJs = bundle.outputFiles[0].text;
  const digits = readDigits(perDigit, testPerDigit);
  const seedrandomFile = require.resolve("seedrandom/seedrandom.js");

  const types = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".bin": "application/octet-stream" };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const send = (body, ext) => {
      res.writeHead(200, { "content-type": types[ext] });
      res.end(body);
    };
    const sendFile = (file) => {
      if (!existsSync(file)) {
        res.writeHead(404).end("not found");
        return;
      }
      send(readFileSync(file), file.slice(file.lastIndexOf(".")));
    };
    if (path === "/") return sendFile(join(here, "public", "index.html"));
    if (path === "/app.js") return send(appJs, ".js");
    if (path === "/digits.json") return send(digits.meta, ".json");
    if (path === "/digits.bin") return send(digits.bytes, ".bin");
    if (path === "/vendor/seedrandom/seedrandom.js") return sendFile(seedrandomFile);
    const mod = /^\/modules\/([a-z-]+)\/(.+\.js)$/.exec(path);
    if (mod && SERVED_PACKAGES.includes(mod[1])) {
      const root = distDir(mod[1]);
      const file = normalize(join(root, mod[2]));
      if (file.startsWith(root + sep)) return sendFile(file);
    }
    if (/^\/[a-z-]+\.(html|js)$/.test(path)) return sendFile(join(here, "public", path.slice(1)));
    res.writeHead(404).end("not found");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.argv.find((a) => a.startsWith("--port="))?.split("=")[1] ?? 8080);
  const { url } = await startServer({ port });
  console.log(`dl in the browser: ${url} (bundled: ${url}bundled.html, plain modules: ${url}script.html)`);
}
