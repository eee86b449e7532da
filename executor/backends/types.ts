// What a backend gets from the runtime and gives back.
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';
import type { ExecutorPaths } from '../runtime/config.ts';
import type { EventSink } from '../runtime/events.ts';

export type Env = Record<string, string | undefined>;

export interface BackendContext {
  request: ExecutorRequest;
  /** Composed instructions (the system prompt). */
  instructions: string;
  /** The prompt as the backend should send it (the request's prompt plus workspace notes). */
  prompt: string;
  /** Where the agent works: the repository checkout, or the workspace. */
  cwd: string;
  paths: ExecutorPaths;
  env: Env;
  events: EventSink;
  /** Aborted on SIGTERM or when ingest says the request has ended. */
  signal: AbortSignal;
  log(line: string): void;
}

export interface BackendUsage {
  inputTokens: number;
  outputTokens: number;
  /** When the provider reports a cost itself (Claude Code does). */
  costUsd?: number;
}

export interface BackendResult {
  /** The final answer. */
  output: string;
  summary?: string;
  usage: BackendUsage;
  artifacts?: { name: string; path?: string; url?: string; sizeBytes?: number }[];
}

export interface Backend {
  readonly name: string;
  run(context: BackendContext): Promise<BackendResult>;
}
