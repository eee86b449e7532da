// The backends by executor kind, imported lazily so each image only needs its own dependencies.
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';
import { BadRequestError } from '../runtime/errors.ts';
import type { Backend } from './types.ts';

export async function loadBackend(kind: ExecutorRequest['executor']): Promise<Backend> {
  switch (kind) {
    case 'claude':
      return new (await import('./claude.ts')).ClaudeBackend();
    case 'codex':
      return new (await import('./codex.ts')).CodexBackend();
    case 'llama':
      return new (await import('./llama.ts')).LlamaBackend();
    case 'bonsai':
      return (await import('./bonsai.ts')).bonsaiBackend();
    default:
      throw new BadRequestError(`unknown executor ${String(kind)}`);
  }
}
