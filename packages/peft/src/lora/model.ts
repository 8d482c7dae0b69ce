import { Linear, Module } from "@dl/nn";
import { ArgumentError } from "@dl/tensor";
import { Conv1D } from "@dl/transformers";
import { DEFAULT_LORA_TARGET_MODULES, INCLUDE_LINEAR_LAYERS_SHORTHAND, type LoraConfig } from "../config.js";
import { ModulesToSaveWrapper } from "../modules-to-save.js";
import { isTargeted, patternKey } from "../targets.js";
import { isLoraSupported, LoraLayer } from "./layer.js";

/** What dl reads from a Hugging Face-style model, when it has it. */
interface HFLike {
  config?: { modelType?: string; model_type?: string };
  getOutputEmbeddings?: () => Module | null;
}

/** The parent module and attribute name of a dotted path ("h.0.attn.c_attn" → h.0.attn, "c_attn"). */
export function getSubmodules(root: Module, key: string): { parent: Module; name: string; target: Module } {
  const at = key.lastIndexOf(".");
  const parent = at < 0 ? root : root.getSubmodule(key.slice(0, at));
  const name = at < 0 ? key : key.slice(at + 1);
  return { parent, name, target: root.getSubmodule(key) };
}

/** Replaces parent.name in place (the attribute keeps its position, so state-dict order is kept). */
function replaceModule(parent: Module, name: string, m: Module): void {
  (parent as unknown as Record<string, unknown>)[name] = m;
}

/** Module names strictly inside an adapter wrapper (their internals are never targets themselves). */
function wrapperInternals(model: Module): Set<string> {
  const out = new Set<string>();
  for (const [prefix, m] of model.namedModules()) {
    if (!(m instanceof LoraLayer || m instanceof ModulesToSaveWrapper)) continue;
    for (const [sub] of m.namedModules(prefix)) if (sub !== prefix) out.add(sub);
  }
  return out;
}

/**
 * PEFT's LoraModel: holds the base model as `model` (so keys read base_model.model.<path>),
 * replaces targeted Linear / Conv1D layers by LoraLayer and wraps modulesToSave.
 */
export class LoraModel extends Module {
  model: Module;
  readonly peftConfig: Record<string, LoraConfig> = {};
  private _active: string[];

  constructor(model: Module, config: LoraConfig, adapterName = "default") {
    super();
    this.model = model;
    this._active = [adapterName];
    this.injectAdapter(adapterName, config);
  }

  get activeAdapters(): readonly string[] {
    return this._active;
  }

  /** Adds adapter `name` to every targeted layer (PEFT's inject_adapter). */
  injectAdapter(name: string, config: LoraConfig): void {
    const op = "getPeftModel";
    if (name in this.peftConfig) throw new ArgumentError(op, `an adapter named '${name}' already exists`);
    const hf = this.model as unknown as HFLike;
    if (config.targetModules === null) {
      const type = hf.config?.modelType ?? hf.config?.model_type;
      const def = type ? DEFAULT_LORA_TARGET_MODULES[type] : undefined;
      if (!def) throw new ArgumentError(op, "Please specify `targetModules` in `LoraConfig` (the model type has no default)");
      config.targetModules = [...def];
    }
    if (typeof config.targetModules === "string" && config.targetModules.toLowerCase() === INCLUDE_LINEAR_LAYERS_SHORTHAND) {
      config.targetModules = this.allLinearNames(config);
    }
    const inside = wrapperInternals(this.model);
    const keys = [...this.model.namedModules()].map(([k]) => k).filter((k) => k !== "" && !inside.has(k));
    let found = 0;
    for (const key of keys) {
      if (!isTargeted(config, key)) continue;
      const { parent, name: child, target } = getSubmodules(this.model, key);
      const rk = patternKey(Object.keys(config.rankPattern), key);
      const ak = patternKey(Object.keys(config.alphaPattern), key);
      const r = rk !== undefined ? (config.rankPattern[rk] as number) : config.r;
      const loraAlpha = ak !== undefined ? (config.alphaPattern[ak] as number) : config.loraAlpha;
      if (target instanceof LoraLayer) {
        target.updateLayer(name, { r, loraAlpha, config });
      } else if (isLoraSupported(target)) {
        replaceModule(parent, child, new LoraLayer(target, name, { r, loraAlpha, config }));
      } else {
        throw new ArgumentError(
          op,
          `Target module ${key} (${target.constructor.name}) is not supported. Currently, only the following modules are supported: nn.Linear, Conv1D (@dl/transformers)`,
        );
      }
      found++;
    }
    if (found === 0) {
      throw new ArgumentError(
        op,
        `Target modules ${JSON.stringify(config.targetModules)} not found in the base model. Please check the target modules and try again.`,
      );
    }
    this.peftConfig[name] = config;
    if (config.modulesToSave) this.wrapModulesToSave(name, config.modulesToSave);
    // Layers follow the model's active adapters (a new adapter stays frozen until setAdapter).
    this.setAdapter(this._active);
  }

  /** PEFT's _maybe_include_all_linear_layers: every Linear / Conv1D, minus the output layer of a HF model. */
  private allLinearNames(config: LoraConfig): string[] {
    const names: string[] = [];
    for (const [k, m] of this.model.namedModules())
      if (k && (m instanceof Linear || m instanceof Conv1D || m instanceof LoraLayer)) names.push(k);
    const exclude = wrapperInternals(this.model);
    const hf = this.model as unknown as HFLike & Record<string, unknown>;
    const find = (target: unknown) => [...this.model.namedModules()].find(([, m]) => m === target)?.[0];
    if (typeof hf.getOutputEmbeddings === "function") {
      const out = hf.getOutputEmbeddings();
      const n = out ? find(out) : undefined;
      if (n !== undefined) exclude.add(n);
    } else if (config.taskType === "SEQ_CLS") {
      for (const head of ["score", "classifier"]) {
        const n = hf[head] instanceof Module ? find(hf[head]) : undefined;
        if (n !== undefined) {
          exclude.add(n);
          break;
        }
      }
    }
    return names.filter((n) => !exclude.has(n));
  }

  private wrapModulesToSave(name: string, modulesToSave: readonly string[]): void {
    const inside = wrapperInternals(this.model);
    const keys = [...this.model.namedModules()].map(([k]) => k).filter((k) => k !== "" && !inside.has(k));
    for (const key of keys) {
      if (!modulesToSave.some((t) => key.endsWith(t))) continue;
      const { parent, name: child, target } = getSubmodules(this.model, key);
      if (target instanceof ModulesToSaveWrapper) target.update(name);
      else replaceModule(parent, child, new ModulesToSaveWrapper(target, name));
    }
  }

  private *loraLayers(): Generator<LoraLayer> {
    for (const m of this.model.modules()) if (m instanceof LoraLayer) yield m;
  }

  private *wrappers(): Generator<ModulesToSaveWrapper> {
    for (const m of this.model.modules()) if (m instanceof ModulesToSaveWrapper) yield m;
  }

  /**
   * Freezes everything but the active adapters (PEFT's _mark_only_adapters_as_trainable), then
   * unfreezes biases per the config's bias mode: "all" every bias, "lora_only" the wrapped layers'.
   */
  markOnlyAdaptersAsTrainable(): void {
    const adapterParams = new Set<unknown>();
    for (const l of this.loraLayers()) {
      for (const p of l.lora_A.parameters()) adapterParams.add(p);
      for (const p of l.lora_B.parameters()) adapterParams.add(p);
    }
    for (const w of this.wrappers()) for (const p of w.parameters()) adapterParams.add(p);
    for (const p of this.model.parameters()) if (!adapterParams.has(p)) p.requiresGrad_(false);
    for (const a of this._active) {
      const bias = this.peftConfig[a]?.bias ?? "none";
      if (bias === "all") {
        for (const [n, p] of this.model.namedParameters()) if (n === "bias" || n.endsWith(".bias")) p.requiresGrad_(true);
      } else if (bias === "lora_only") {
        for (const l of this.loraLayers()) l.base_layer.bias?.requiresGrad_(true);
      }
    }
  }

  /** Activates adapter(s) `names` on every layer; only their weights train. */
  setAdapter(names: string | readonly string[]): void {
    const list = typeof names === "string" ? [names] : [...names];
    for (const n of list)
      if (!(n in this.peftConfig))
        throw new ArgumentError("setAdapter", `adapter '${n}' not found (have: ${Object.keys(this.peftConfig).join(", ")})`);
    for (const l of this.loraLayers()) {
      if (l.merged) {
        console.warn("Adapter cannot be set when the model is merged. Unmerging the model first.");
        l.unmerge();
      }
      l.setAdapter(list);
    }
    for (const w of this.wrappers()) w.setAdapter(list.find((n) => w.adapterNames.includes(n)) ?? null);
    this._active = list;
    this.markOnlyAdaptersAsTrainable();
  }

  /** Turns every adapter layer off (base model outputs) or back on. */
  enableAdapterLayers(enabled = true): void {
    for (const l of this.loraLayers()) l.enableAdapters(enabled);
    for (const w of this.wrappers()) w.enableAdapters(enabled);
    if (enabled) this.markOnlyAdaptersAsTrainable();
  }

  disableAdapterLayers(): void {
    for (const a of this._active) {
      const bias = this.peftConfig[a]?.bias ?? "none";
      if (bias !== "none")
        console.warn(
          `Careful, disabling adapter layers with bias configured to be '${bias}' does not produce the same output as the base model would without adaption.`,
        );
    }
    this.enableAdapterLayers(false);
  }

  /** Merges the active adapters into the base weights (PEFT's merge_adapter). */
  mergeAdapter(options: { adapterNames?: readonly string[]; safeMerge?: boolean } = {}): void {
    for (const l of this.loraLayers()) l.merge(options);
  }

  /** Subtracts merged adapters from the base weights (PEFT's unmerge_adapter). */
  unmergeAdapter(): void {
    for (const l of this.loraLayers()) if (l.merged) l.unmerge();
  }

  deleteAdapter(name: string): void {
    if (!(name in this.peftConfig)) throw new ArgumentError("deleteAdapter", `adapter '${name}' does not exist`);
    delete this.peftConfig[name];
    for (const l of this.loraLayers()) l.deleteAdapter(name);
    for (const w of this.wrappers()) w.deleteAdapter(name);
    const left = this._active.filter((a) => a !== name);
    const remaining = Object.keys(this.peftConfig);
    this._active = left.length ? left : remaining.length ? [remaining[remaining.length - 1] as string] : [];
    if (this._active.length) this.setAdapter(this._active);
  }

  /**
   * Puts the base layers back (merging the active adapters first when `merge`), unwraps
   * modulesToSave (keeping the trained copy), and returns the base model (PEFT's merge_and_unload / unload).
   */
  unloadAndOptionallyMerge(merge: boolean, options: { safeMerge?: boolean; adapterNames?: readonly string[] } = {}): Module {
    const entries = [...this.model.namedModules()].filter(([k, m]) => k && (m instanceof LoraLayer || m instanceof ModulesToSaveWrapper));
    for (const [key, m] of entries) {
      const { parent, name } = getSubmodules(this.model, key);
      if (m instanceof LoraLayer) {
        if (merge) m.merge(options);
        replaceModule(parent, name, m.base_layer);
      } else if (m instanceof ModulesToSaveWrapper) {
        const keep = m.activeAdapter !== null ? m.modules_to_save.get(m.activeAdapter) : m.original_module;
        replaceModule(parent, name, keep);
      }
    }
    return this.model;
  }

  forward(...args: unknown[]): unknown {
    return (this.model.call as (...a: unknown[]) => unknown)(...args);
  }
}
