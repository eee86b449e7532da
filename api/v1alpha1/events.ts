// The one event schema every executor backend emits and ingest accepts.
import { z } from 'zod';
import { EVENT_TYPES } from './event-types.ts';
import { result, usage } from './inferencerequest.ts';

export { EVENT_TYPES, type EventType } from './event-types.ts';

export const MAX_EVENT_DATA_CHARS = 64 * 1024;
export const MAX_BATCH_EVENTS = 500;

export const executorEvent = z.strictObject({
  /** 1, 2, 3, … per request, gap-free; ingest is idempotent on it. */
  seq: z.int().min(1),
  type: z.enum(EVENT_TYPES),
  time: z.iso.datetime(),
  /** Human-readable line (a message's text, a log line, an error). */
  message: z.string().max(MAX_EVENT_DATA_CHARS).optional(),
  /** Structured payload: tool name and input, token counts, artifact facts, … */
  data: z.record(z.string(), z.unknown()).optional(),
});
export type ExecutorEvent = z.infer<typeof executorEvent>;

/** Payload of the final `completed` event's data. */
export const completion = z.strictObject({
  outcome: z.enum(['succeeded', 'failed']),
  result: result.optional(),
  usage: usage.optional(),
  error: z.string().max(4096).optional(),
});
export type Completion = z.infer<typeof completion>;

export const ingestBatch = z.strictObject({
  request: z.string().min(1).max(253),
  events: z.array(executorEvent).min(1).max(MAX_BATCH_EVENTS),
});
export type IngestBatch = z.infer<typeof ingestBatch>;
