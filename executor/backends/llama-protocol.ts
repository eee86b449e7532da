// Messages between the llama backend and its worker process.
export interface LlamaJob {
  modelPath: string;
  systemPrompt: string;
  prompt: string;
  contextSize?: number;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed?: number;
  threads: number;
  gpu: 'auto' | 'cuda' | 'vulkan' | 'metal' | false;
}

export interface LoadedInfo {
  architecture: string;
  name: string;
  contextSize: number;
  gpu: string | false;
  threads: number;
  trainContextSize: number;
}

export type WorkerMessage =
  | { type: 'loaded'; info: LoadedInfo }
  | { type: 'text'; text: string }
  | { type: 'tokens'; count: number }
  | {
      type: 'done';
      output: string;
      usage: { inputTokens: number; outputTokens: number };
      chatWrapper: string;
    }
  | { type: 'error'; stage: 'load' | 'generate'; message: string };
