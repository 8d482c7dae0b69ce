import { DLError } from "@dl/tensor";
import type { GpuContext } from "./context.js";
import { type GLTexture, type KernelShortcut, kernelClassName } from "./gpujs.js";
import { checkFits } from "./storage.js";

/**
 * A compiled kernel. Each is written as a GLSL function `float f(int i)` returning output element
 * i (kernels are GLSL rather than JS translated by gpu.js because gpu.js declares every JS
 * variable as float, and index arithmetic must be exact int arithmetic beyond 2^24). gpu.js
 * drives it: the JS kernel is one call `return f(this.thread.x)`, the GLSL is a native function
 * that reads gpu.js's uniforms (user_<name>) directly.
 *
 * Settings: pipeline + immutable (every run returns a fresh texture that stays on the GPU),
 * single precision with 4 values per texel, highp everywhere ('precision' tactic: gpu.js would
 * otherwise pick lowp/mediump by output size and recompile), dynamic output and arguments (sizes
 * are uniforms: one compile per signature, never per shape), loopMaxIterations high (gpu.js's
 * default of 1000 silently truncates longer loops; kernels also split loops longer than
 * MAX_LOOP themselves, since Mesa's llvmpipe stops any fragment after ~65,535 loop iterations).
 */
export interface ProgramSpec {
  /** Texture arguments, read in GLSL with fetch(name, index). */
  readonly textures: readonly string[];
  /** Int uniform arguments (user_<name> in GLSL). */
  readonly ints: readonly string[];
  /** Float uniform arguments. */
  readonly floats?: readonly string[];
  /** GLSL statements computing element `i`; must `return` a float. */
  readonly body: string;
}

/**
 * The longest loop a kernel may run per output element. Each fragment computes 4 elements, and
 * llvmpipe caps a fragment at ~65,535 loop iterations in total; longer loops are split into passes.
 */
export const MAX_LOOP = 4096;

/**
 * Reads element `idx` (an int expression) of texture argument `name`: gpu.js declares
 * user_<name> (the sampler) and user_<name>Size (its size in texels) for every texture argument.
 */
export function fetch(name: string, idx: string): string {
  return `dl_fetch(user_${name}, user_${name}Size, ${idx})`;
}

/** Reads the texel holding elements idx..idx+3 of texture argument `name` (idx a multiple of 4) as a vec4. */
export function fetch4(name: string, idx: string): string {
  return `dl_fetch4(user_${name}, user_${name}Size, ${idx})`;
}

export class Program {
  private shortcut: KernelShortcut;
  readonly key: string;
  private readonly ctx: GpuContext;

  constructor(ctx: GpuContext, key: string, id: number, spec: ProgramSpec) {
    this.ctx = ctx;
    this.key = key;
    const fn = `dl_k${id}`;
    const args = [...spec.textures, ...spec.ints, ...(spec.floats ?? []), "dlinf", "dlnan"];
    const argumentTypes: Record<string, string> = {};
    for (const t of spec.textures) argumentTypes[t] = "MemoryOptimizedNumberTexture";
    for (const i of spec.ints) argumentTypes[i] = "Integer";
    for (const f of spec.floats ?? []) argumentTypes[f] = "Float";
    argumentTypes.dlinf = "Float";
    argumentTypes.dlnan = "Float";
    const source = `float ${fn}(int i) {\nDL_INF = user_dlinf;\nDL_NAN = user_dlnan;\n${spec.body}\n}`;
    this.shortcut = ctx.gpu.createKernel(`function(${args.join(", ")}) { return ${fn}(this.thread.x); }`, {
      output: [1],
      pipeline: true,
      immutable: true,
      precision: "single",
      optimizeFloatMemory: true,
      tactic: "precision",
      dynamicOutput: true,
      dynamicArguments: true,
      loopMaxIterations: 65535,
      argumentTypes,
      nativeFunctions: [{ name: fn, source }],
    });
  }

  /** Runs over n output elements; textures, then ints, then floats, in spec order. */
  run(n: number, textures: readonly GLTexture[], ints: readonly number[], floats: readonly number[] = []): GLTexture {
    checkFits(n, this.ctx.maxTextureSize);
    const k = this.shortcut;
    if (k.output === null || k.output[0] !== n) k.setOutput([n]);
    // gpu.js keeps rendering into the texture of its last output. When that texture is also an
    // input, its immutable-kernel path renders into a recycled texture that may have an older
    // size (dynamic output): give the kernel a fresh texture first, so inputs never alias it.
    const kernel = k.kernel as unknown as { texture?: { texture: unknown; newTexture(): void }; _textureSwitched?: boolean };
    const own = kernel.texture;
    if (own !== undefined && own !== null && textures.some((t) => (t as unknown as { texture: unknown }).texture === own.texture)) {
      own.newTexture();
      kernel._textureSwitched = true;
    }
    let out: GLTexture;
    try {
      out = k(...textures, ...ints, ...floats, Number.POSITIVE_INFINITY, Number.NaN);
    } catch (e) {
      throw new DLError("gpu", `kernel ${this.key} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Never a silent fallback: gpu.js swaps in CPU/WebAssembly kernels when GL is missing.
    if (k.kernel.constructor !== this.ctx.Kernel) {
      (out as { delete?: () => void }).delete?.();
      throw new DLError("gpu", `kernel ${this.key} ran on ${kernelClassName(k.kernel.constructor)}, not ${this.ctx.kernelClass}`);
    }
    return out;
  }

  /** Name of the gpu.js kernel class that runs this program. */
  get kernelClass(): string {
    return kernelClassName(this.shortcut.kernel.constructor);
  }
}

/** Programs compiled once per signature key and reused for every shape. */
export class ProgramCache {
  private readonly programs = new Map<string, Program>();
  private next = 0;
  private readonly ctx: GpuContext;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
  }

  get(key: string, make: () => ProgramSpec): Program {
    let p = this.programs.get(key);
    if (p === undefined) {
      p = new Program(this.ctx, key, this.next++, make());
      this.programs.set(key, p);
    }
    return p;
  }

  get size(): number {
    return this.programs.size;
  }

  keys(): string[] {
    return [...this.programs.keys()];
  }

  /** Kernel classes that ran, by program key (for tests: nothing may be a CPU/WebAssembly kernel). */
  kernelClasses(): Map<string, string> {
    return new Map([...this.programs].map(([k, p]) => [k, p.kernelClass]));
  }
}

/** Copies host values (already converted to float32) into a fresh texture. */
export class UploadProgram {
  private readonly shortcut: KernelShortcut;
  private readonly ctx: GpuContext;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.shortcut = ctx.gpu.createKernel("function(a) { return a[this.thread.x]; }", {
      output: [1],
      pipeline: true,
      immutable: true,
      precision: "single",
      optimizeFloatMemory: true,
      tactic: "precision",
      dynamicOutput: true,
      dynamicArguments: true,
      argumentTypes: { a: "Array" },
    });
  }

  run(values: Float32Array): GLTexture {
    const n = values.length;
    checkFits(n, this.ctx.maxTextureSize);
    const k = this.shortcut;
    if (k.output === null || k.output[0] !== n) k.setOutput([n]);
    const out = k(values);
    if (k.kernel.constructor !== this.ctx.Kernel) {
      throw new DLError("gpu", `upload ran on ${kernelClassName(k.kernel.constructor)}, not ${this.ctx.kernelClass}`);
    }
    return out;
  }
}
