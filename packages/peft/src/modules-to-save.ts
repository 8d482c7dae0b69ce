import { deepcopy, Module, ModuleDict } from "@dl/nn";

/** A deep copy of a module (copy.deepcopy; @dl/nn's deepcopy). */
export function cloneModule<M extends Module>(m: M): M {
  return deepcopy(m);
}

/**
 * PEFT's ModulesToSaveWrapper: keeps the original module frozen as `original_module` and trains a
 * copy per adapter in `modules_to_save` (state-dict keys `<path>.modules_to_save.default.weight`,
 * saved as `<path>.weight`). With no active adapter (or adapters disabled) the original runs.
 */
export class ModulesToSaveWrapper extends Module {
  original_module: Module;
  modules_to_save = new ModuleDict();
  private _active: string | null = null;
  private _disabled = false;

  constructor(original: Module, adapterName: string) {
    super();
    this.original_module = original;
    this.update(adapterName);
    this.setAdapter(adapterName);
  }

  /** Adds a trainable copy for adapter `name`. */
  update(name: string): void {
    if (!this.modules_to_save.has(name)) this.modules_to_save.set(name, cloneModule(this.original_module));
    this.original_module.requiresGrad_(false);
  }

  get activeAdapter(): string | null {
    return this._active;
  }

  get adapterNames(): string[] {
    return this.modules_to_save.keys();
  }

  /** Activates adapter `name` (its copy trains, the others are frozen); null or a name it lacks runs the original. */
  setAdapter(name: string | null): void {
    for (const k of this.modules_to_save.keys()) this.modules_to_save.get(k).requiresGrad_(k === name);
    this._active = name !== null && this.modules_to_save.has(name) ? name : null;
  }

  enableAdapters(enabled: boolean): void {
    this._disabled = !enabled;
    if (this._active) this.modules_to_save.get(this._active).requiresGrad_(enabled);
  }

  deleteAdapter(name: string): void {
    if (!this.modules_to_save.has(name)) return;
    delete (this.modules_to_save as unknown as Record<string, unknown>)[name];
    if (this._active === name) this._active = null;
  }

  /** The module that runs now. */
  get current(): Module {
    return this._disabled || this._active === null ? this.original_module : this.modules_to_save.get(this._active);
  }

  forward(...args: unknown[]): unknown {
    return (this.current.call as (...a: unknown[]) => unknown)(...args);
  }
}
