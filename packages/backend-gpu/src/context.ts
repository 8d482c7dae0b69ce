import { DeviceError } from "@dl/tensor";
import { type GpuInstance, type GpuMode, kernelClassName, kernelClasses, newGpu } from "./gpujs.js";

/**
 * One gpu.js instance bound to one kernel class. The mode is always explicit ('headlessgl' in
 * Node, 'webgl2' or 'webgl' in browsers), never gpu.js's 'gpu', which silently falls back to
 * WebAssembly/CPU kernels when no GL context exists.
 */
export interface GpuContext {
  readonly gpu: GpuInstance;
  readonly mode: GpuMode;
  /** The gpu.js kernel class every kernel must run on (HeadlessGLKernel, WebGL2Kernel, WebGLKernel). */
  readonly kernelClass: string;
  /** That class itself (kernels are checked by identity). */
  readonly Kernel: unknown;
  /** GL MAX_TEXTURE_SIZE: textures are at most this many texels wide and tall. */
  readonly maxTextureSize: number;
}

interface NodeProcess {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node !== undefined ? p : undefined;
}

export function isNode(): boolean {
  return nodeProcess() !== undefined && typeof (globalThis as { document?: unknown }).document === "undefined";
}

/** What is missing when headless-gl gives no context, from what was observed. */
export function missingGlReason(probe: { glLoads?: boolean; display?: string }): string {
  const reasons: string[] = [];
  if (probe.glLoads === false) {
    reasons.push(
      "headless-gl is not built: the optional `gl` package failed to load (install the X11/GL headers, " +
        "then build it: `pnpm --filter @dl/backend-gpu build:gl` in the dl repository, or `npm_config_nodedir=/usr npm rebuild gl`)",
    );
  }
  if (!probe.display) reasons.push("no X display: DISPLAY is not set (run Node under `xvfb-run -a`)");
  if (reasons.length === 0) reasons.push(`headless-gl could not open a GL context on display ${probe.display}`);
  return reasons.join("; ");
}

/** Probes the optional `gl` package the way gpu.js loads it and reads DISPLAY. */
function headlessGlDiagnosis(): string {
  const proc = nodeProcess();
  let glLoads: boolean | undefined;
  try {
    // No static import of a Node builtin: this file also runs in browsers (never reaching here).
    const mod = proc?.getBuiltinModule?.("node:module") as { createRequire?: (from: string) => (id: string) => unknown } | undefined;
    if (mod?.createRequire) {
      mod.createRequire(import.meta.url)("gl");
      glLoads = true;
    }
  } catch {
    glLoads = false;
  }
  return missingGlReason({ glLoads, display: proc?.env?.DISPLAY });
}

function defaultModes(): GpuMode[] {
  return isNode() ? ["headlessgl"] : ["webgl2", "webgl"];
}

export function createContext(mode?: GpuMode): GpuContext {
  if ((mode as string) === "webgpu") {
    // gpu.js 2.24's WebGPUKernel takes no native functions (dl's kernels are GLSL) and returns a
    // Promise from every run, which the synchronous Backend contract cannot hand on as a storage.
    throw new DeviceError(
      "gpu",
      "mode 'webgpu' is not supported: gpu.js's WebGPU kernels cannot run dl's GLSL kernels and complete asynchronously; use 'webgl2' (browsers) or 'headlessgl' (Node)",
    );
  }
  const modes = mode !== undefined ? [mode] : defaultModes();
  for (const m of modes) {
    const entry = kernelClasses[m];
    if (entry === undefined) throw new DeviceError("gpu", `unknown mode '${m}' (expected 'headlessgl', 'webgl2' or 'webgl')`);
    const K = entry.cls;
    if (!K.isSupported) continue;
    const features = K.features;
    if (features && (features.isTextureFloat === false || features.isFloatRead === false)) {
      throw new DeviceError(
        "gpu",
        `${entry.name} has no float textures (isTextureFloat ${features.isTextureFloat}, isFloatRead ${features.isFloatRead})`,
      );
    }
    const gpu = newGpu(m);
    if (gpu.Kernel !== K) {
      throw new DeviceError("gpu", `gpu.js picked ${kernelClassName(gpu.Kernel)} for mode '${m}' instead of ${entry.name}`);
    }
    return { gpu, mode: m, kernelClass: entry.name, Kernel: K, maxTextureSize: features?.maxTextureSize ?? 4096 };
  }
  const why =
    modes[0] === "headlessgl"
      ? headlessGlDiagnosis()
      : `this browser gives no ${modes.join(" or ")} context (WebGL disabled, or no GPU/SwiftShader)`;
  throw new DeviceError("gpu", `no GL context for the gpu backend (mode ${modes.join("/")}): ${why}`);
}
