/**
 * The page: LoRA fine-tuning of a small GPT-2 in a browser tab, on the gpu backend (gpu.js on
 * WebGL2) or the CPU backend, with a live loss plot, greedy samples before and after, and the adapter
 * as PEFT's two files to download. Served by server.mjs (`pnpm start`), which also provides the
 * Brown-corpus text (/text.json) and, when examples/lora-gpt has saved one, its base model (/base/).
 */
import type { PeftModel } from "@dl/peft";
import { GPT2LMHeadModel } from "@dl/transformers";
import { fineTune, probeLogits, sample, seededBase, useDevice } from "./lora.js";

export interface DemoRunOptions {
  device: string;
  steps: number;
  /** The training text (default: /text.json's romance). */
  text?: string;
  /** Load the base model from this URL base (Hugging Face layout) instead of the seeded one. */
  baseUrl?: string | null;
}

export interface DemoRunResult {
  device: string;
  losses: number[];
  trainableLine: string;
  before: string;
  after: string;
  files: Record<string, number[] | string>;
  probe: number[];
  seconds: number;
}

const PROMPT = "she said ";

// GPT2LMHeadModel.fromPretrained's `this` type does not accept the GPT-2 class itself; the call works.
const loadGpt2 = (url: string) =>
  (GPT2LMHeadModel as unknown as { fromPretrained(s: string): Promise<GPT2LMHeadModel> }).fromPretrained(url);

function ui() {
  let root = document.getElementById("app");
  if (!root) {
    root = document.createElement("div");
    root.id = "app";
    document.body.appendChild(root);
  }
  root.innerHTML = `
    <h1 style="font:600 20px system-ui">LoRA fine-tuning of a GPT-2 in this tab (dl + @dl/peft)</h1>
    <p style="font:14px system-ui">
      Device <select id="device"><option value="gpu">gpu (WebGL2)</option><option value="cpu">cpu</option></select>
      Steps <input id="steps" type="number" value="60" min="1" style="width:5em">
      <button id="train">Train</button> <span id="status"></span>
    </p>
    <canvas id="plot" width="560" height="220" style="border:1px solid #ccc"></canvas>
    <pre id="line" style="font:13px monospace"></pre>
    <pre id="before" style="font:13px monospace;white-space:pre-wrap"></pre>
    <pre id="after" style="font:13px monospace;white-space:pre-wrap"></pre>
    <p id="downloads" style="font:14px system-ui"></p>`;
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  return { $, canvas: $("plot") as HTMLCanvasElement };
}

function plot(canvas: HTMLCanvasElement, losses: number[], total: number): void {
  const g = canvas.getContext("2d");
  if (!g) return;
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  g.font = "12px system-ui";
  g.fillStyle = "#333";
  g.fillText("training loss", 8, 14);
  if (!losses.length) return;
  const hi = Math.max(...losses);
  const lo = Math.min(...losses);
  const y = (v: number) => 24 + (h - 40) * (hi === lo ? 0.5 : (hi - v) / (hi - lo));
  const x = (i: number) => 30 + ((w - 40) * i) / Math.max(1, total - 1);
  g.strokeStyle = "#2563eb";
  g.lineWidth = 2;
  g.beginPath();
  for (const [i, v] of losses.entries()) {
    if (i) g.lineTo(x(i), y(v));
    else g.moveTo(x(i), y(v));
  }
  g.stroke();
  g.fillText(`${hi.toFixed(3)}`, 2, 28);
  g.fillText(`${lo.toFixed(3)}`, 2, h - 14);
}

const frame = () => new Promise<void>((r) => setTimeout(r, 0));

async function loadText(): Promise<{ romance: string; baseAvailable: boolean }> {
  try {
    const r = await fetch("./text.json");
    if (r.ok) return (await r.json()) as { romance: string; baseAvailable: boolean };
  } catch {
    // opened without the server (the test injects the text)
  }
  return { romance: "", baseAvailable: false };
}

/** Runs one fine-tune with the page's UI; also the entry point of the Chromium test. */
export async function run(o: DemoRunOptions): Promise<DemoRunResult> {
  useDevice(o.device);
  const { $, canvas } = ui();
  const status = $("status");
  const text = o.text ?? (await loadText()).romance;
  const base = o.baseUrl ? await loadGpt2(o.baseUrl) : seededBase(0);
  status.textContent = `training on ${o.device}...`;
  const before = await sample(base.to(o.device), PROMPT, 60, o.device);
  $("before").textContent = `before: ${before}`;
  const t0 = performance.now();
  const losses: number[] = [];
  const { peft, trainableLine } = await fineTune({
    base,
    text,
    device: o.device,
    steps: o.steps,
    onStep: async (_step, loss) => {
      losses.push(loss);
      plot(canvas, losses, o.steps);
      status.textContent = `step ${losses.length}/${o.steps}, loss ${loss.toFixed(3)}`;
      await frame();
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  $("line").textContent = trainableLine;
  const after = await sample(peft.getBaseModel(), PROMPT, 60, o.device);
  $("after").textContent = `after:  ${after}`;
  status.textContent = `done: ${o.steps} steps in ${seconds.toFixed(1)} s on ${o.device}`;
  const files = await downloads(peft, $("downloads"));
  return { device: o.device, losses, trainableLine, before, after, files, probe: await probeLogits(peft, o.device), seconds };
}

async function downloads(peft: PeftModel<GPT2LMHeadModel>, where: HTMLElement): Promise<Record<string, number[] | string>> {
  const files = await peft.savePretrained();
  where.textContent = "Adapter (PEFT format): ";
  const out: Record<string, number[] | string> = {};
  for (const [name, contents] of Object.entries(files)) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([contents as BlobPart]));
    a.download = name;
    a.textContent = name;
    a.style.marginRight = "1em";
    where.appendChild(a);
    out[name] = typeof contents === "string" ? contents : Array.from(contents);
  }
  return out;
}

(globalThis as { __dlLora?: { run: typeof run } }).__dlLora = { run };

// Opened from server.mjs: wire the button.
if (typeof document !== "undefined" && document.getElementById("app")?.dataset.autostart !== undefined) {
  const { $ } = ui();
  const start = async () => {
    const info = await loadText();
    $("train").onclick = () => {
      const device = ($("device") as HTMLSelectElement).value;
      const steps = Number(($("steps") as HTMLInputElement).value);
      void run({ device, steps, text: info.romance, baseUrl: info.baseAvailable ? `${location.origin}/base/` : null }).then(() => {
        $("train").onclick = () => location.reload();
      });
    };
  };
  void start();
}
