// The executor's one way to report: emit() bounds the event, stamps it, spools it and wakes the sender.
import { type EventType, MAX_EVENT_DATA_CHARS } from '../../api/v1alpha1/events.ts';
import type { EventSpool, SpooledEvent } from './spool.ts';

export interface EventSink {
  emit(type: EventType, message?: string, data?: Record<string, unknown>): void;
}

const TRUNCATED = '…[truncated]';

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, Math.max(0, max - TRUNCATED.length)) + TRUNCATED;
}

function shrinkStrings(value: unknown, max: number): unknown {
  if (typeof value === 'string') return truncate(value, max);
  if (Array.isArray(value)) return value.map((v) => shrinkStrings(v, max));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrinkStrings(v, max)]));
  }
  return value;
}

/** Keeps an event's data within MAX_EVENT_DATA_CHARS of JSON, shortening long strings first. */
export function boundData(data: Record<string, unknown>): Record<string, unknown> {
  const size = (v: unknown) => JSON.stringify(v)?.length ?? 0;
  if (size(data) <= MAX_EVENT_DATA_CHARS) return data;
  for (const max of [8192, 2048, 512]) {
    const shrunk = shrinkStrings(data, max) as Record<string, unknown>;
    if (size(shrunk) <= MAX_EVENT_DATA_CHARS) return { ...shrunk, truncated: true };
  }
  return { truncated: true, preview: truncate(JSON.stringify(data), MAX_EVENT_DATA_CHARS / 2) };
}

/** Drops undefined values and functions so spooled JSON equals what is sent. */
function plain(data: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
}

export class EventStream implements EventSink {
  readonly #spool: EventSpool;
  readonly #onEvent: (event: SpooledEvent) => void;
  readonly #echo: ((line: string) => void) | undefined;
  #closed = false;

  constructor(spool: EventSpool, onEvent: (event: SpooledEvent) => void, echo?: (line: string) => void) {
    this.#spool = spool;
    this.#onEvent = onEvent;
    this.#echo = echo;
  }

  /** After close() (the completed event is written) further events are ignored. */
  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  emit(type: EventType, message?: string, data?: Record<string, unknown>): void {
    if (this.#closed) return;
    const event: Omit<SpooledEvent, 'index'> = { type, time: new Date().toISOString() };
    if (message !== undefined) event.message = truncate(message, MAX_EVENT_DATA_CHARS);
    // A completion's fields are bounded by its own schema; other events' data is kept under the limit.
    if (data !== undefined) event.data = type === 'completed' ? plain(data) : boundData(plain(data));
    const spooled = this.#spool.append(event);
    if (this.#echo && type !== 'message' && type !== 'heartbeat') {
      this.#echo(`[${this.#spool.seqOf(spooled)}] ${type}${message ? `: ${truncate(message, 300)}` : ''}`);
    }
    this.#onEvent(spooled);
  }
}
