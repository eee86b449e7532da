// Child process that runs llama.cpp (node-llama-cpp) for the llama backend. Loading an untrusted GGUF can
// abort the process (GGML_ASSERT), so it never happens in the executor itself. Protocol over IPC:
//   parent → { type: 'run', ...LlamaJob }
//   child  → { type: 'loaded', info } | { type: 'text', text } | { type: 'tokens', count }
//            | { type: 'done', output, usage } | { type: 'error', stage: 'load' | 'generate', message }
import type { LlamaJob, WorkerMessage } from './llama-protocol.ts';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

async function run(job: LlamaJob): Promise<void> {
  const logs: string[] = [];
  const { getLlama, LlamaChatSession, LlamaLogLevel, readGgufFileInfo } = await import('node-llama-cpp');
  let stage: 'load' | 'generate' = 'load';
  try {
    // Reads and checks the header, metadata and tensor table first: a precise message for most corruptions.
    const info = await readGgufFileInfo(job.modelPath, { readTensorInfo: true });
    const llama = await getLlama({
      gpu: job.gpu,
      build: 'never',
      maxThreads: job.threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const line = message.trim();
        if (line) logs.push(`${level}: ${line}`);
        if (logs.length > 50) logs.shift();
      },
    });
    const model = await llama.loadModel({
      modelPath: job.modelPath,
      gpuLayers: job.gpu === false ? 0 : 'auto',
    });
    const context = await model.createContext({
      contextSize: job.contextSize ?? { max: 8192 },
      threads: job.threads,
    });
    const sequence = context.getSequence();
    await send({
      type: 'loaded',
      info: {
        architecture: String(info.metadata.general?.architecture ?? 'unknown'),
        name: String(info.metadata.general?.name ?? ''),
        contextSize: context.contextSize,
        gpu: llama.gpu,
        threads: context.currentThreads,
        trainContextSize: model.trainContextSize,
      },
    });
    stage = 'generate';
    const session = new LlamaChatSession({
      contextSequence: sequence,
      systemPrompt: job.systemPrompt,
      chatWrapper: 'auto',
    });
    const output = await session.prompt(job.prompt, {
      maxTokens: job.maxTokens,
      temperature: job.temperature,
      topK: job.topK,
      topP: job.topP,
      seed: job.seed,
      onTextChunk: (text) => void send({ type: 'text', text }),
      onToken: (tokens) => void send({ type: 'tokens', count: tokens.length }),
    });
    await send({
      type: 'done',
      output,
      usage: {
        inputTokens: sequence.tokenMeter.usedInputTokens,
        outputTokens: sequence.tokenMeter.usedOutputTokens,
      },
      chatWrapper: session.chatWrapper.wrapperName,
    });
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  } catch (error) {
    // llama.cpp's log lines reach the logger asynchronously: give the reason a moment to arrive (bounded).
    const relevant = () => logs.filter((l) => /error|fail|invalid|wrong|missing|expected/i.test(l));
    for (let i = 0; i < 50 && relevant().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 20));
    const reason = relevant().slice(-5);
    const message = [(error as Error).message, ...reason].join(' — ');
    await send({ type: 'error', stage, message });
  }
}

process.on('message', (message: { type: string } & LlamaJob) => {
  if (message.type !== 'run') return;
  run(message).finally(() => process.disconnect?.());
});
