// Assembles the hand-written WebAssembly kernels (packages/backend-cpu/wasm/*.wat) into .ts
// modules that embed the bytes (base64), so the packages ship no separate .wasm file and need no loader.
// Functions marked `;; @inline` are expanded at their call sites and constant splats pooled (see below).
// A module with `relaxed` also gets the sites where relaxed SIMD's fused multiply-add can replace a
// multiply and an add (see relaxedSites), for engines that have it.
//   node tooling/build-wasm.mjs           regenerate
//   node tooling/build-wasm.mjs --check   exit 1 if a generated file is out of date (for CI)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = [
  { wat: "packages/backend-cpu/wasm/gemm.wat", out: "packages/backend-cpu/src/gemm-wasm.ts", name: "gemmWasm" },
  {
    wat: "packages/backend-cpu/wasm/math.wat",
    out: "packages/backend-cpu/src/math-wasm.ts",
    name: "mathWasm",
    relaxed: "mathRelaxedSites",
  },
  { wat: "packages/backend-cpu/wasm/conv.wat", out: "packages/backend-cpu/src/conv-wasm.ts", name: "convWasm" },
  { wat: "packages/backend-cpu/wasm/gemv.wat", out: "packages/backend-cpu/src/gemv-wasm.ts", name: "gemvWasm" },
];

// ---- inlining ----
// V8 (Node 20) does not inline WebAssembly calls, and a call per vector costs about as much as a
// short polynomial. A function preceded by the comment `;; @inline` is expanded at every call
// site, at the S-expression level: its params and locals become fresh locals of the caller
// (renamed per site), its body a `(block (result ...))`. Only folded-form functions without
// `return` are supported (what the .wat files write); the definitions are then dropped.

/** Parses wat into nested arrays of atoms; comments go, except `;; @inline` which marks the next list. */
function parse(src) {
  const root = [];
  const stack = [root];
  let mark = false;
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === ";" && src[i + 1] === ";") {
      const end = src.indexOf("\n", i);
      const line = src.slice(i, end < 0 ? src.length : end);
      if (/^;;\s*@inline\s*$/.test(line)) mark = true;
      i = end < 0 ? src.length : end;
    } else if (ch === "(" && src[i + 1] === ";") {
      i = src.indexOf(";)", i) + 2;
    } else if (ch === "(") {
      const list = [];
      if (mark) {
        list.inline = true;
        mark = false;
      }
      stack.at(-1).push(list);
      stack.push(list);
      i++;
    } else if (ch === ")") {
      stack.pop();
      i++;
    } else if (/\s/.test(ch)) i++;
    else if (ch === '"') {
      const end = src.indexOf('"', i + 1);
      stack.at(-1).push(src.slice(i, end + 1));
      i = end + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s()]/.test(src[j]) && !(src[j] === ";" && src[j + 1] === ";")) j++;
      stack.at(-1).push(src.slice(i, j));
      i = j;
    }
  }
  return root;
}

function print(x) {
  return Array.isArray(x) ? `(${x.map(print).join(" ")})` : x;
}
function isDecl(x, head) {
  return Array.isArray(x) && x[0] === head;
}
/** A func's header entries (name, export, param, result, local) and its body. */
function splitFunc(f) {
  let k = 1;
  while (
    k < f.length &&
    (typeof f[k] === "string" ? f[k].startsWith("$") : ["export", "param", "result", "local", "type"].includes(f[k][0]))
  )
    k++;
  return { header: f.slice(0, k), body: f.slice(k) };
}

/** Bytes reserved at the start of memory for the constant pool (wasm/math.wat's callers leave them alone). */
const POOL_BYTES = 1024;

/**
 * Replaces every splat of a constant in `body` by a local loaded once at the function's entry from
 * a constant pool at the start of memory. TurboFan rematerializes a splat (three instructions)
 * wherever it is used, also inside loops, even from a local set once, and the inlined polynomials
 * use a dozen per vector; a value loaded from memory is kept in a register or spilled instead.
 */
function hoistSplats(body, locals, pool) {
  const used = new Map();
  const walk = (node) => {
    for (let i = 0; i < node.length; i++) {
      const x = node[i];
      if (!Array.isArray(x)) continue;
      if (/^(f32x4|i32x4|f64x2)\.splat$/.test(x[0]) && x.length === 2 && Array.isArray(x[1]) && /^(f32|i32|f64)\.const$/.test(x[1][0])) {
        const key = print(x);
        if (!pool.has(key)) pool.set(key, { at: pool.size * 16, bytes: splatBytes(x[0], x[1][1]) });
        if (!used.has(key)) used.set(key, `$splat__${used.size}`);
        node[i] = ["local.get", used.get(key)];
      } else walk(x);
    }
  };
  walk(body);
  const init = [];
  for (const [key, name] of used) {
    locals.push(["local", name, "v128"]);
    init.push(["local.set", name, ["v128.load", `offset=${pool.get(key).at}`, ["i32.const", "0"]]]);
  }
  return init;
}

function splatBytes(op, literal) {
  const value =
    literal === "inf"
      ? Number.POSITIVE_INFINITY
      : literal === "-inf"
        ? Number.NEGATIVE_INFINITY
        : literal === "nan"
          ? Number.NaN
          : Number(literal);
  const b = new DataView(new ArrayBuffer(16));
  const lane = op === "f64x2.splat" ? 8 : 4;
  for (let k = 0; k < 16; k += lane) {
    if (op === "f32x4.splat") b.setFloat32(k, value, true);
    else if (op === "i32x4.splat") b.setInt32(k, value | 0, true);
    else b.setFloat64(k, value, true);
  }
  return new Uint8Array(b.buffer);
}

// ---- relaxed SIMD's multiply-add ----
// Engines with relaxed SIMD (Chrome 114+, Node 22+; Node 20 only behind a flag) compute
// f32x4.relaxed_madd(a, b, c) = a * b + c as one FMA where the CPU has one. The module is built
// once more with `(f32x4.add (f32x4.mul A B) (local.get C))` (the polynomials' Horner steps and
// range reduction) written `(f32x4.relaxed_madd A B (local.get C)) (nop) (nop) (nop)`: the same
// length in bytes, differing only at those sites, so the generated file carries the plain module
// and the byte offsets of the sites, and simd-math.ts rewrites them when the engine validates a
// relaxed module. Multiply-adds of data (the LSTM's f c + i g) are left alone: they must round as
// the composed ops do.

/** Rewrites add(mul(A, B), local.get C) in place (nops keep the byte length), recursively. */
function fuseMultiplyAdds(node) {
  for (let i = 0; i < node.length; i++) {
    const x = node[i];
    if (!Array.isArray(x)) continue;
    fuseMultiplyAdds(x);
    const [op, a, c] = x;
    if (op === "f32x4.add" && x.length === 3 && isDecl(a, "f32x4.mul") && a.length === 3 && isDecl(c, "local.get")) {
      node.splice(i, 1, ["f32x4.relaxed_madd", a[1], a[2], c], ["nop"], ["nop"], ["nop"]);
      i += 3;
    }
  }
}

/**
 * The byte offsets in `plain` of the f32x4.mul opcodes (fd e6 01) that `relaxed` replaced: at each,
 * [mul][local.get c][add] became [local.get c][relaxed_madd][nop x3]. Checked by redoing the rewrite.
 */
function relaxedSites(plain, relaxed) {
  if (plain.length !== relaxed.length) throw new Error("build-wasm: the relaxed module's length differs");
  const sites = [];
  for (let i = 0; i + 2 < plain.length; i++) {
    if (plain[i] === 0xfd && plain[i + 1] === 0xe6 && plain[i + 2] === 0x01 && relaxed[i] !== 0xfd) sites.push(i);
  }
  const check = applyRelaxed(Uint8Array.from(plain), sites);
  if (!check.every((v, i) => v === relaxed[i])) throw new Error("build-wasm: relaxed sites do not reproduce the relaxed module");
  return sites;
}

/** simd-math.ts's rewrite (kept in step with it). */
function applyRelaxed(bytes, sites) {
  for (const at of sites) {
    let end = at + 3; // after mul: local.get (0x20) and a LEB128 index, then add (fd e4 01)
    do end++;
    while (bytes[end] & 0x80);
    const get = bytes.slice(at + 3, end + 1);
    bytes.set(get, at);
    bytes.set([0xfd, 0x85, 0x02, 0x01, 0x01, 0x01], at + get.length);
  }
  return bytes;
}

/** Sites as base64 of LEB128 deltas. */
function encodeSites(sites) {
  const out = [];
  let prev = 0;
  for (const at of sites) {
    let d = at - prev;
    prev = at;
    do {
      out.push((d & 0x7f) | (d > 0x7f ? 0x80 : 0));
      d >>>= 7;
    } while (d > 0);
  }
  return Buffer.from(out).toString("base64");
}

function inlineAll(src, relaxed = false) {
  const tree = parse(src);
  const module = tree.find((x) => isDecl(x, "module"));
  if (!module) return src;
  const defs = new Map(module.filter((x) => isDecl(x, "func") && x.inline).map((f) => [f[1], f]));
  if (defs.size === 0) return src;
  let site = 0;
  /** Expands inlinable calls inside `node` (in place); new locals go to `locals`. */
  const expand = (node, locals) => {
    for (let i = 0; i < node.length; i++) {
      const x = node[i];
      if (!Array.isArray(x)) continue;
      expand(x, locals);
      if (x[0] === "call" && defs.has(x[1])) node[i] = instance(defs.get(x[1]), x.slice(2), locals);
    }
  };
  const instance = (f, args, locals) => {
    const { header, body } = splitFunc(f);
    const n = ++site;
    const names = new Map();
    const params = [];
    const out = [];
    for (const h of header) {
      if (!Array.isArray(h)) continue;
      if (h[0] === "param" || h[0] === "local") {
        const name = h[1];
        names.set(name, `${name}__${n}`);
        locals.push(["local", `${name}__${n}`, h[2]]);
        if (h[0] === "param") params.push(`${name}__${n}`);
      } else if (h[0] === "result") out.push(h);
    }
    const rename = (x) => (Array.isArray(x) ? x.map(rename) : (names.get(x) ?? x));
    const copy = structuredClone(body).map(rename);
    const locs = [];
    for (const b of copy) if (Array.isArray(b)) expand(b, locs);
    locals.push(...locs);
    return ["block", ...out, ...params.map((p, k) => ["local.set", p, args[k]]), ...copy];
  };
  // Inlinable functions first (one may call another), then every other function.
  for (const f of defs.values()) {
    const locals = [];
    const { header, body } = splitFunc(f);
    expand(body, locals);
    f.splice(0, f.length, ...header, ...locals, ...body);
  }
  const kept = module.filter((x) => !(isDecl(x, "func") && x.inline));
  const pool = new Map();
  for (const f of kept) {
    if (!isDecl(f, "func")) continue;
    const { header, body } = splitFunc(f);
    const locals = [];
    expand(body, locals);
    const init = hoistSplats(body, locals, pool);
    f.splice(0, f.length, ...header, ...locals, ...init, ...body);
  }
  if (pool.size * 16 > POOL_BYTES) throw new Error(`build-wasm: ${pool.size} pooled constants exceed ${POOL_BYTES} bytes`);
  const data = [...pool.values()].flatMap((c) => [...c.bytes]).map((v) => `\\${v.toString(16).padStart(2, "0")}`);
  module.splice(0, module.length, ...kept, ["data", ["i32.const", "0"], `"${data.join("")}"`]);
  if (relaxed) fuseMultiplyAdds(module);
  return print(module);
}

const wabt = await wabtInit();
let stale = false;
for (const m of modules) {
  const wat = readFileSync(join(root, m.wat), "utf8");
  const assemble = (source) => {
    const parsed = wabt.parseWat(m.wat, source, { simd: true, relaxed_simd: true });
    parsed.validate();
    const { buffer } = parsed.toBinary({ log: false, write_debug_names: false });
    parsed.destroy();
    return buffer;
  };
  const buffer = assemble(inlineAll(wat));
  // Base64 in one string: compact, and a formatter leaves a string literal alone.
  const lines = [
    `// Generated by tooling/build-wasm.mjs from ${m.wat}; do not edit. ${buffer.length} bytes, base64.`,
    `export const ${m.name} =\n  "${Buffer.from(buffer).toString("base64")}";`,
  ];
  if (m.relaxed) {
    const sites = relaxedSites(buffer, assemble(inlineAll(wat, true)));
    lines.push(`/** Offsets of the ${sites.length} multiply-add sites for relaxed SIMD (LEB128 deltas, base64). */`);
    lines.push(`export const ${m.relaxed} =\n  "${encodeSites(sites)}";`);
  }
  const text = [...lines, ""].join("\n");
  const path = join(root, m.out);
  let old = "";
  try {
    old = readFileSync(path, "utf8");
  } catch {}
  if (old === text) continue;
  if (process.argv.includes("--check")) {
    console.error(`${relative(root, path)} is out of date: run node tooling/build-wasm.mjs`);
    stale = true;
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${relative(root, path)} (${buffer.length} bytes)`);
  }
}
if (stale) process.exit(1);
