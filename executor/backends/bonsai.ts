// bonsai: the llama backend with the Bonsai-8B preset — PrismML's 1-bit (Q1_0_g128) build of a Qwen3-8B
// dense model; its GGUF carries the Qwen chat template, which node-llama-cpp picks up ('auto').
import { LlamaBackend, type LlamaPreset } from './llama.ts';

export const BONSAI_8B: LlamaPreset & { modelUrl: string } = {
  name: 'bonsai',
  modelFile: 'Bonsai-8B.gguf',
  modelUrl: 'https://huggingface.co/prism-ml/Bonsai-8B-gguf/resolve/main/Bonsai-8B.gguf',
  contextSize: 8192,
  maxTokens: 2048,
  // Qwen3's recommended sampling for non-thinking use
  temperature: 0.7,
  topK: 20,
  topP: 0.8,
};

export function bonsaiBackend(): LlamaBackend {
  return new LlamaBackend(BONSAI_8B);
}
