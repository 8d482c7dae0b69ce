import { GPU, HeadlessGLKernel, WebGL2Kernel, WebGLKernel } from "gpu.js";

/**
 * The parts of gpu.js this backend touches, typed narrowly: gpu.js's own .d.ts omits the texture
 * internals (size, renderRawOutput) that pipeline mode hands back.
 */

/** A pipeline-mode output: a float RGBA texture holding 4 values per texel (optimizeFloatMemory). */
export interface GLTexture {
  /** [width, height] in texels. */
  readonly size: ArrayLike<number>;
  /** All texels as RGBA floats (width * height * 4 values; element i of the tensor is entry i). */
  renderRawOutput(): Float32Array;
  delete(): void;
  readonly _deleted: boolean;
}

/** What createKernel returns: callable, with the compiled kernel behind it. */
export interface KernelShortcut {
  (...args: unknown[]): GLTexture;
  setOutput(output: number[]): void;
  readonly output: number[] | null;
  /** The kernel instance that ran (gpu.js may swap it when argument types change). */
  readonly kernel: { constructor: unknown; compiledFragmentShader?: string };
  destroy(removeCanvasReferences?: boolean): void;
}

export interface GpuInstance {
  readonly Kernel: unknown;
  createKernel(source: string, settings: Record<string, unknown>): KernelShortcut;
  injectNative(source: string): void;
  destroy(): void;
}

export type GpuMode = "headlessgl" | "webgl2" | "webgl";

export interface KernelClass {
  readonly isSupported: boolean;
  readonly features?: { maxTextureSize?: number; isTextureFloat?: boolean; isFloatRead?: boolean };
}

/**
 * The kernel class each mode must end up running (gpu.js falls back silently; we check by identity:
 * bundlers rename classes, so constructor.name may read "WebGL2Kernel2").
 */
export const kernelClasses: Record<GpuMode, { cls: KernelClass; name: string }> = {
  headlessgl: { cls: HeadlessGLKernel as never, name: "HeadlessGLKernel" },
  webgl2: { cls: WebGL2Kernel as never, name: "WebGL2Kernel" },
  webgl: { cls: WebGLKernel as never, name: "WebGLKernel" },
};

/** A readable name for the class a kernel ran on. */
export function kernelClassName(cls: unknown): string {
  for (const k of Object.values(kernelClasses)) if (k.cls === cls) return k.name;
  return (cls as { name?: string } | null)?.name ?? "unknown";
}

export function newGpu(mode: GpuMode): GpuInstance {
  return new GPU({ mode }) as unknown as GpuInstance;
}
