// Sends spooled events to ingest in ordered batches, one batch in flight at a time, retrying with
// back-off until ingest acknowledges them. Ingest is idempotent on seq, so a batch whose answer was lost
// is simply sent again. 409 means the request has ended: nothing more is accepted, sending stops.
import { MAX_BATCH_EVENTS } from '../../api/v1alpha1/events.ts';
import type { IngestConfig } from './config.ts';
import type { EventSpool } from './spool.ts';

export interface SenderOptions {
  batchMs: number;
  maxRetryDelayMs: number;
  /** Per-POST timeout. */
  requestTimeoutMs?: number;
  /** Largest batch body in bytes (ingest bodies are bounded). */
  maxBatchBytes?: number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

export type SenderState = 'running' | 'ended' | 'rejected' | 'stopped';

interface IngestAnswer {
  accepted?: number;
  duplicates?: number;
  lastSeq?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** details.expectedSeq of ingest's 409 `sequence_gap` answer, if that is what it is. */
function gapExpectedSeq(text: string): number | undefined {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; details?: { expectedSeq?: unknown } } };
    const expected = body.error?.details?.expectedSeq;
    return body.error?.code === 'sequence_gap' && typeof expected === 'number' ? expected : undefined;
  } catch {
    return undefined;
  }
}

export class IngestSender {
  readonly #spool: EventSpool;
  readonly #ingest: IngestConfig;
  readonly #options: Required<Omit<SenderOptions, 'log' | 'fetch'>> & Pick<SenderOptions, 'log'>;
  readonly #fetch: typeof fetch;
  #state: SenderState = 'running';
  #wake = new AbortController();
  #flushing = false;
  #urgent = new AbortController();
  #stopped = new AbortController();
  #loop: Promise<void> | undefined;
  #maxBatchEvents = MAX_BATCH_EVENTS;
  #highestSentSeq = 0;
  #failures = 0;
  /** Why ingest refused us for good (401, 403, 400), if it did. */
  rejection: string | undefined;
  /** Number of POSTs made, for tests and logs. */
  posts = 0;
  onEnded: (() => void) | undefined;

  constructor(spool: EventSpool, ingest: IngestConfig, options: SenderOptions) {
    this.#spool = spool;
    this.#ingest = ingest;
    this.#fetch = options.fetch ?? fetch;
    this.#options = {
      batchMs: options.batchMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      maxBatchBytes: options.maxBatchBytes ?? 4 * 1024 * 1024,
      log: options.log,
    };
  }

  get state(): SenderState {
    return this.#state;
  }

  /** Number of events still waiting for ingest. */
  get backlog(): number {
    return this.#spool.pending.length;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Tells the sender new events are spooled. */
  notify(): void {
    this.#wake.abort();
  }

  /**
   * Sends everything spooled so far without waiting for more. Resolves true when ingest has it all (or the
   * request has ended, so nothing more can be delivered), false if the deadline passed first.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    this.#flushing = true;
    this.#urgent.abort();
    this.notify();
    const deadline = Date.now() + timeoutMs;
    while (this.#state === 'running' && this.#spool.pending.length > 0 && Date.now() < deadline) {
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    }
    return this.#state !== 'running' || this.#spool.pending.length === 0;
  }

  /** Stops the loop after the batch in flight. */
  async stop(): Promise<void> {
    if (this.#state === 'running') this.#state = 'stopped';
    this.#urgent.abort();
    this.#stopped.abort();
    this.notify();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      if (this.#spool.pending.length === 0) {
        await this.#waitForWork();
        continue;
      }
      if (!this.#flushing && this.#spool.pending.length < this.#maxBatchEvents) {
        await sleep(this.#options.batchMs, this.#flushSignal());
      }
      if (this.#state !== 'running') break;
      const delivered = await this.#sendOne();
      if (!delivered && this.#state === 'running') {
        this.#failures += 1;
        const delay = Math.min(this.#options.maxRetryDelayMs, 100 * 2 ** Math.min(this.#failures - 1, 16));
        await sleep(delay, this.#stopSignal());
      } else {
        this.#failures = 0;
      }
    }
  }

  /** Aborted once by stop(): cuts every wait short. */
  #stopSignal(): AbortSignal {
    return this.#stopped.signal;
  }

  /** Aborted once by flush() or stop(): from then on events are sent without gathering. */
  #flushSignal(): AbortSignal {
    return this.#urgent.signal;
  }

  async #waitForWork(): Promise<void> {
    this.#wake = new AbortController();
    if (this.#spool.pending.length > 0 || this.#state !== 'running') return;
    await sleep(1000, AbortSignal.any([this.#wake.signal, this.#stopped.signal]));
  }

  #takeBatch() {
    const batch = [];
    let bytes = 64;
    // A fresh spool's first POST carries one event: if an earlier attempt (whose spool is gone) already
    // used these sequence numbers, ingest answers it as a duplicate with a higher lastSeq, and nothing of
    // ours was mixed into the earlier attempt's numbers.
    const limit = this.#spool.ackedIndex === 0 && this.#spool.base === 0 ? 1 : this.#maxBatchEvents;
    for (const event of this.#spool.pending) {
      if (batch.length >= limit) break;
      const wire = this.#spool.toWire(event);
      const size = Buffer.byteLength(JSON.stringify(wire)) + 1;
      if (batch.length > 0 && bytes + size > this.#options.maxBatchBytes) break;
      bytes += size;
      batch.push({ event, wire });
    }
    return batch;
  }

  /** One POST. Returns true when the batch was acknowledged (or the sender reached an end state). */
  async #sendOne(): Promise<boolean> {
    const batch = this.#takeBatch();
    if (batch.length === 0) return true;
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const body = JSON.stringify({ request: this.#ingest.request, events: batch.map((b) => b.wire) });
    let response: Response;
    this.posts += 1;
    try {
      response = await this.#fetch(this.#ingest.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#ingest.token()}` },
        body,
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
      });
    } catch (error) {
      this.#options.log?.(`ingest unreachable (${(error as Error).message}); ${this.backlog} events spooled`);
      return false;
    }
    const text = await response.text().catch(() => '');
    if (response.status === 200 || response.status === 201 || response.status === 202) {
      let answer: IngestAnswer = {};
      try {
        answer = JSON.parse(text) as IngestAnswer;
      } catch {
        answer = {};
      }
      const lastSentSeq = last.wire.seq;
      if (
        typeof answer.lastSeq === 'number' &&
        answer.accepted === 0 &&
        answer.lastSeq > lastSentSeq &&
        answer.lastSeq > this.#highestSentSeq
      ) {
        // An earlier attempt of this request already used these numbers (its spool is gone): continue after it.
        this.#options.log?.(`ingest is at seq ${answer.lastSeq}; renumbering ${this.backlog} spooled events`);
        this.#spool.rebase(first.event.index, answer.lastSeq + 1);
        return true;
      }
      this.#highestSentSeq = Math.max(this.#highestSentSeq, lastSentSeq);
      this.#spool.ack(last.event.index);
      return true;
    }
    if (response.status === 409) {
      const expected = gapExpectedSeq(text);
      if (expected !== undefined && expected < first.wire.seq) {
        // Ingest's log ends before our first unacknowledged event (an earlier attempt's numbering):
        // continue right after it, so the log stays gap-free.
        this.#options.log?.(`ingest expects seq ${expected}; renumbering ${this.backlog} spooled events`);
        this.#spool.rebase(first.event.index, expected);
        return true;
      }
      this.#options.log?.('ingest: the request has ended; no more events are accepted');
      this.#state = 'ended';
      this.onEnded?.();
      return true;
    }
    if (response.status === 413 && this.#maxBatchEvents > 1) {
      this.#maxBatchEvents = Math.max(1, Math.floor(batch.length / 2));
      return true;
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      this.rejection = `ingest refused events with ${response.status}: ${text.slice(0, 500)}`;
      this.#options.log?.(this.rejection);
      this.#state = 'rejected';
      return true;
    }
    this.#options.log?.(`ingest answered ${response.status}; ${this.backlog} events spooled, retrying`);
    return false;
  }
}
