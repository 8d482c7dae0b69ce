import { DLError, IndexError, type Tensor } from "@dl/tensor";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";

function wrapIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new IndexError(op, `index ${i} is out of range for a container of length ${n}`);
  return i < 0 ? i + n : i;
}

/**
 * Runs modules in order, feeding each one's output to the next (torch.nn.Sequential).
 * new Sequential(a, b, c) names children "0", "1", ...; new Sequential({ conv: a, relu: b }) keeps names.
 */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== undefined && !(first instanceof Module)) {
      for (const [k, m] of Object.entries(first)) this.registerModule(k, m);
    } else {
      for (const [i, m] of (modules as Module[]).entries()) this.registerModule(String(i), m);
    }
  }

  override get length(): number {
    return [...this.children()].length;
  }

  at(i: number): Module {
    const list = [...this.children()];
    return list[wrapIndex("Sequential.at", i, list.length)] as Module;
  }

  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children();
  }

  /** Each child's output is the next one's input (typed for the usual tensor-to-tensor chain). */
  forward(input: Tensor): Tensor {
    let x: unknown = input;
    for (const m of this.children()) x = m.call(x as never);
    return x as Tensor;
  }
}

/** A list of submodules, registered under "0", "1", ... (torch.nn.ModuleList). */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  override get length(): number {
    return [...this.children()].length;
  }

  at(i: number): Module {
    const list = [...this.children()];
    return list[wrapIndex("ModuleList.at", i, list.length)] as Module;
  }

  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  insert(index: number, module: Module): this {
    const list = [...this.children()];
    const at = index < 0 ? index + list.length : index;
    list.splice(Math.max(0, Math.min(at, list.length)), 0, module);
    for (const [i, m] of list.entries()) this.registerModule(String(i), m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children();
  }

  forward(): never {
    throw new DLError("ModuleList", "ModuleList has no forward(); iterate over it in the parent's forward");
  }
}

/** Submodules by name (torch.nn.ModuleDict). */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.registerModule(k, m);
  }

  get(key: string): Module {
    const m = (this as unknown as Record<string, unknown>)[key];
    if (!(m instanceof Module)) throw new DLError("ModuleDict", `no module named '${key}'`);
    return m;
  }

  set(key: string, module: Module): void {
    this.registerModule(key, module);
  }

  has(key: string): boolean {
    return (this as unknown as Record<string, unknown>)[key] instanceof Module;
  }

  keys(): string[] {
    return [...this.namedChildren()].map(([k]) => k);
  }

  values(): Module[] {
    return [...this.children()];
  }

  entries(): [string, Module][] {
    return [...this.namedChildren()];
  }

  forward(): never {
    throw new DLError("ModuleDict", "ModuleDict has no forward(); look modules up in the parent's forward");
  }
}

/** A list of parameters registered under "0", "1", ... (torch.nn.ParameterList). */
export class ParameterList extends Module {
  constructor(params: Iterable<Tensor> = []) {
    super();
    for (const p of params) this.append(p);
  }

  override get length(): number {
    return [...this.parameters(false)].length;
  }

  at(i: number): Parameter {
    const list = [...this.parameters(false)];
    return list[wrapIndex("ParameterList.at", i, list.length)] as Parameter;
  }

  append(p: Tensor): this {
    this.registerParameter(String(this.length), p instanceof Parameter ? p : new Parameter(p));
    return this;
  }

  [Symbol.iterator](): Iterator<Parameter> {
    return this.parameters(false);
  }

  forward(): never {
    throw new DLError("ParameterList", "ParameterList has no forward()");
  }
}

/** Parameters by name (torch.nn.ParameterDict). */
export class ParameterDict extends Module {
  constructor(params: Record<string, Tensor> = {}) {
    super();
    for (const [k, p] of Object.entries(params)) this.set(k, p);
  }

  get(key: string): Parameter {
    const p = (this as unknown as Record<string, unknown>)[key];
    if (!(p instanceof Parameter)) throw new DLError("ParameterDict", `no parameter named '${key}'`);
    return p;
  }

  set(key: string, p: Tensor): void {
    this.registerParameter(key, p instanceof Parameter ? p : new Parameter(p));
  }

  keys(): string[] {
    return [...this.namedParameters({ recurse: false })].map(([k]) => k);
  }

  forward(): never {
    throw new DLError("ParameterDict", "ParameterDict has no forward()");
  }
}
