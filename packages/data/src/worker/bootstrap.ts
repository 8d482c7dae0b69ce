/**
 * The script every DataLoader worker runs, as source text: a Node worker thread loads it from a
 * data: URL and a browser Web Worker from a Blob URL (type "module"), so the package ships no
 * separate worker file and needs no bundler support. It is plain ES2022 with no imports: it talks
 * to the main thread through `parentPort` (Node, reached through process.getBuiltinModule or a
 * dynamic import of node:worker_threads) or through the worker global scope (browsers, Deno, Bun),
 * imports the dataset module named by the `workerDataset` option, and answers fetch requests in
 * order.
 *
 * Protocol (main -> worker):
 *   { type: "init", workerId, numWorkers, seed, module, exportName, args, initExport }
 *   { type: "fetch", id, indices, batched }        map-style: items at `indices` (one item if !batched)
 *   { type: "next", id, epoch, count, dropLast }    iterable: the next `count` items (one if count null)
 * Protocol (worker -> main):
 *   { type: "ready", kind, length }
 *   { type: "data", id, items }                     items encoded by encode() below (tensors as data)
 *   { type: "done", id }                            iterable exhausted
 *   { type: "error", id, phase, index, error: { name, message, stack } }   id -1: building the dataset
 *   { type: "heartbeat" }                           every HEARTBEAT_MS while the worker's event loop runs
 */

/** How often a worker's event loop says it is alive; a thread blocked in synchronous code cannot. */
export const HEARTBEAT_MS = 250;
export const WORKER_SOURCE = String.raw`
const G = globalThis;
const INFO = Symbol.for("@dl/data.workerInfo");
const isNode = typeof G.process === "object" && G.process !== null && typeof G.process.versions === "object" && G.process.versions !== null && typeof G.process.versions.node === "string";
const inbox = [];
let busy = false;
let post;
function deliver(m) { inbox.push(m); if (!busy) pump(); }
if (isNode) {
  const wt = typeof G.process.getBuiltinModule === "function" ? G.process.getBuiltinModule("node:worker_threads") : await import("node:worker_threads");
  wt.parentPort.on("message", deliver);
  post = (m, transfer) => wt.parentPort.postMessage(m, transfer);
} else {
  G.addEventListener("message", (e) => deliver(e.data));
  post = (m, transfer) => G.postMessage(m, transfer);
}
// The heartbeat stops while getItem runs synchronously: the main thread tells a blocked thread
// (slow or endless synchronous code) from one waiting on a promise that never settles.
const beat = setInterval(() => post({ type: "heartbeat" }), ${HEARTBEAT_MS});
if (typeof beat === "object" && beat !== null && typeof beat.unref === "function") beat.unref();

let dataset = null;
let initError = null;
let ready = null;
let epoch = -1;
let iter = null;
let ended = false;

function serializeError(e) {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack ?? "" };
  return { name: "Error", message: String(e), stack: "" };
}

function isTensor(v) {
  return typeof v.dataSync === "function" && typeof v.data === "function" && Array.isArray(v.shape) && typeof v.dtype === "string";
}

async function encode(v, transfer) {
  if (v === null || typeof v !== "object") return v;
  if (isTensor(v)) {
    const data = await v.data();
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    return { __dlTensor__: 1, dtype: v.dtype, shape: [...v.shape], data };
  }
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    const out = [];
    for (const x of v) out.push(await encode(x, transfer));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    for (const [k, x] of v) out.set(k, await encode(x, transfer));
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = await encode(v[k], transfer);
    return out;
  }
  return v;
}

function isClass(f) {
  return /^class[\s{]/.test(Function.prototype.toString.call(f));
}

async function build(m) {
  const info = { id: m.workerId, numWorkers: m.numWorkers, seed: m.seed, dataset: null };
  G[INFO] = info;
  const mod = await import(m.module);
  if (m.initExport) {
    if (typeof mod[m.initExport] !== "function") throw new Error("the module " + m.module + " has no function export '" + m.initExport + "' (workerDataset.initExport)");
    await mod[m.initExport](info);
  }
  const name = m.exportName ?? "default";
  if (!(name in mod)) throw new Error("the module " + m.module + " has no export '" + name + "' (workerDataset.exportName)");
  let ds = mod[name];
  if (typeof ds === "function") ds = isClass(ds) ? new ds(...(m.args ?? [])) : await ds(...(m.args ?? []));
  ds = await ds;
  const isMap = ds !== null && typeof ds === "object" && typeof ds.getItem === "function";
  const isIter = ds !== null && typeof ds === "object" && (typeof ds[Symbol.iterator] === "function" || typeof ds[Symbol.asyncIterator] === "function");
  if (!isMap && !isIter) throw new Error("the export '" + name + "' of " + m.module + " is not a dataset (no getItem and no iterator), nor a function or class that makes one");
  info.dataset = ds;
  dataset = ds;
  const length = typeof ds.length === "number" ? ds.length : null;
  post({ type: "ready", kind: isMap ? "map" : "iterable", length });
}

async function reply(id, items) {
  const transfer = [];
  const encoded = await encode(items, transfer);
  try {
    post({ type: "data", id, items: encoded }, transfer);
  } catch (e) {
    throw new Error("the items are not structured-cloneable, so they cannot be sent to the main thread (" + (e && e.message) + ")");
  }
}

async function handle(m) {
  if (m.type === "init") {
    ready = build(m);
    try { await ready; } catch (e) { initError = e; post({ type: "error", id: -1, phase: "init", index: null, error: serializeError(e) }); }
    return;
  }
  if (initError !== null) { post({ type: "error", id: m.id, phase: "init", index: null, error: serializeError(initError) }); return; }
  let index = null;
  try {
    if (m.type === "fetch") {
      const items = [];
      for (const i of m.indices) { index = i; items.push(await dataset.getItem(i)); }
      index = null;
      await reply(m.id, m.batched ? items : items[0]);
    } else if (m.type === "next") {
      if (m.epoch !== epoch) {
        epoch = m.epoch;
        ended = false;
        iter = typeof dataset[Symbol.asyncIterator] === "function" ? dataset[Symbol.asyncIterator]() : dataset[Symbol.iterator]();
      }
      if (ended) { post({ type: "done", id: m.id }); return; }
      const want = m.count === null ? 1 : m.count;
      const items = [];
      while (items.length < want) {
        const r = await iter.next();
        if (r.done) { ended = true; break; }
        items.push(r.value);
      }
      if (items.length === 0 || (m.count !== null && m.dropLast && items.length < want)) { post({ type: "done", id: m.id }); return; }
      await reply(m.id, m.count === null ? items[0] : items);
    }
  } catch (e) {
    post({ type: "error", id: m.id, phase: "fetch", index, error: serializeError(e) });
  }
}

async function pump() {
  busy = true;
  while (inbox.length > 0) {
    const m = inbox.shift();
    try { await handle(m); } catch (e) { post({ type: "error", id: m && m.id !== undefined ? m.id : -1, phase: "fetch", index: null, error: serializeError(e) }); }
  }
  busy = false;
}
pump();
`;
