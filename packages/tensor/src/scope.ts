import { gradState } from "./grad-hooks.js";
import { Tensor } from "./tensor.js";

/**
 * Scopes free temporaries deterministically: tidy(fn) disposes every tensor created inside fn
 * except those it returns (or passes to keep()). They are an optimisation, never a requirement:
 * a tensor nobody references is reclaimed by its backend (the garbage collector on the CPU; on the
 * gpu, the collector plus a texture budget), also inside a synchronous loop. Scopes free at once,
 * so memory is reused sooner (the CPU backend's pool, GPU textures without eviction).
 */
export interface Disposable {
  /** `reason`: what disposed it, for the error a later use throws. */
  dispose(reason?: string): void;
  readonly isDisposed: boolean;
  /** Called when the object leaves every scope alive (returned from the outermost tidy, or kept). */
  escape?(): void;
}

const stack: Set<Disposable>[] = [];
const kept = new WeakSet<Disposable>();

/** Called by every new tensor. */
/** Called by every new tensor; returns false when no scope owns it (the GC backstop must). */
export function trackInScope(t: Disposable): boolean {
  const scope = stack[stack.length - 1];
  scope?.add(t);
  return scope !== undefined;
}

/** Exempts a tensor from disposal by the scopes it was created in. */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  for (const s of stack) s.delete(t);
  t.escape?.();
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if (typeof (value as Disposable).dispose === "function" && "isDisposed" in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

export function tidy<T>(fn: () => T): T {
  return runScope(fn, undefined);
}

/**
 * @internal tidy() that also reports which of the scope's own tensors survived (those the result
 * holds): the autograd engine frees intermediate gradients it made once they are consumed.
 */
export function tidyOwned<T>(fn: () => T): [T, Set<Disposable>] {
  const owned = new Set<Disposable>();
  return [runScope(fn, owned), owned];
}

function runScope<T>(fn: () => T, ownedSurvivors: Set<Disposable> | undefined): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) if (!kept.has(t) && !t.isDisposed) t.dispose("the tidy() scope that created it, when its function threw");
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) throw new Error("tidy: the function must not be async (tensors would be freed while in use)");
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  // A returned tensor's autograd graph must survive too: what its nodes saved for backward.
  const recorder = gradState.recorder;
  if (recorder !== null) {
    const roots = [...survivors].filter((t): t is Tensor => t instanceof Tensor && t.gradFn !== null);
    if (roots.length) for (const h of recorder.reachableSaved(roots)) survivors.add(h);
  }
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) {
      ownedSurvivors?.add(t);
      if (parent) parent.add(t);
      else t.escape?.();
    }
    else if (!kept.has(t) && !t.isDisposed) t.dispose("the tidy() scope that created it, when the scope ended");
  }
  return result;
}
