// Executor entry point: `node executor/main.ts`. Reads the contract (api/v1alpha1/executor-contract.ts),
// runs the backend named by the request and exits with the contract's codes.
import { loadBackend } from './backends/index.ts';
import { runExecutor } from './runtime/run.ts';

const interrupt = new AbortController();
let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 2) process.exit(143); // a third signal: give up flushing
    interrupt.abort();
  });
}

const code = await runExecutor({ loadBackend, interrupt: interrupt.signal });
process.exit(code);
