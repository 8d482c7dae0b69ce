import { Linear, Module, ModuleList, load } from "@dl/nn";
import { type Tensor, add, relu, tanh } from "@dl/tensor";
import { Conv1D } from "@dl/transformers";
import { join } from "node:path";

/** The GPT-2-shaped tree of tooling/fixtures/gen_peft.py (Conv1D layers under transformer.h.N). */
class Attn extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  constructor(d: number) {
    super();
    this.c_attn = new Conv1D(3 * d, d);
    this.c_proj = new Conv1D(d, d);
  }
  forward(): never {
    throw new Error("not called");
  }
}

class Mlp extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  constructor(d: number) {
    super();
    this.c_fc = new Conv1D(4 * d, d);
    this.c_proj = new Conv1D(d, 4 * d);
  }
  forward(): never {
    throw new Error("not called");
  }
}

class Block extends Module {
  attn: Attn;
  mlp: Mlp;
  constructor(d: number) {
    super();
    this.attn = new Attn(d);
    this.mlp = new Mlp(d);
  }
  forward(x: Tensor): Tensor {
    const d = x.shape[x.ndim - 1] as number;
    const q = (this.attn.c_attn.call(x) as Tensor).narrow(-1, 0, d);
    const h = add(x, this.attn.c_proj.call(tanh(q)) as Tensor);
    return add(h, this.mlp.c_proj.call(relu(this.mlp.c_fc.call(h) as Tensor)) as Tensor);
  }
}

class Transformer extends Module {
  h: ModuleList;
  constructor(d: number) {
    super();
    this.h = new ModuleList([new Block(d), new Block(d)]);
  }
  forward(): never {
    throw new Error("not called");
  }
}

export class Gpt2Shaped extends Module {
  transformer: Transformer;
  lm_head: Linear;
  constructor(d = 4, vocab = 7) {
    super();
    this.transformer = new Transformer(d);
    this.lm_head = new Linear(d, vocab, { bias: false });
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const b of this.transformer.h) h = (b as Block).forward(h);
    return this.lm_head.call(h);
  }
}

export const fixtureDir = (name: string) => join(import.meta.dirname, "..", "fixtures", "peft", name);

/** Loads a case's base_model.safetensors into `model`. */
export async function loadBase<M extends Module>(model: M, name: string): Promise<M> {
  model.loadStateDict(await load(join(fixtureDir(name), "base_model.safetensors")));
  return model;
}
