// Size-budget entry: GPT-2 inference in a browser tab: AutoTokenizer (@huggingface/tokenizers) and
// GPT2LMHeadModel loaded from a URL base, greedy generation with the KV cache, on the CPU backend.
import { cpuBackend } from "@dl/backend-cpu";
import { registerBackend } from "@dl/tensor";
import { AutoTokenizer, GPT2LMHeadModel } from "@dl/transformers";

registerBackend(cpuBackend);

async function main() {
  const base = "https://huggingface.co/gpt2/resolve/main";
  const tokenizer = await AutoTokenizer.fromPretrained(base);
  const model = await GPT2LMHeadModel.fromPretrained(base);
  const { inputIds, attentionMask } = tokenizer.call("Hello, my dog is", { returnTensors: "dl" });
  const out = await model.generate(inputIds, { attentionMask, maxNewTokens: 20 });
  console.log(tokenizer.batchDecode(out, { skipSpecialTokens: true }));
}
main();
