// Errors that decide the executor's exit code (see api/v1alpha1/executor-contract.ts).
import { EXIT_BAD_REQUEST, EXIT_INTERRUPTED, EXIT_TIMED_OUT } from '../../api/v1alpha1/executor-contract.ts';

export const EXIT_RETRIABLE = 1;

/** The request itself is unusable (bad request.json, missing or corrupt model, escaping path): never retried. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
  readonly exitCode = EXIT_BAD_REQUEST;
}

/** The run was stopped from outside (SIGTERM: deadline or cancel). */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  readonly exitCode: number = EXIT_INTERRUPTED;
}

/** The run reached the request's timeout and stopped itself. */
export class TimedOutError extends InterruptedError {
  override name = 'TimedOutError';
  override readonly exitCode: number = EXIT_TIMED_OUT;
}

/** Exit code for an error thrown anywhere in a run: bad requests and interruptions keep theirs, the rest may be retried. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof BadRequestError || error instanceof InterruptedError) return error.exitCode;
  return EXIT_RETRIABLE;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
