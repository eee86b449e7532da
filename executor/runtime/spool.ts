// On-disk event spool: every event is written here before it is sent, so an ingest outage, a crash or a
// SIGTERM loses nothing, and a retried pod on the same workspace continues the sequence where it stopped.
//
// Layout in the state dir: `events.jsonl` (one spooled event a line, append-only) and `spool-state.json`
// ({ base, acked }). An event's sequence number is `base + index`; the base only moves when ingest shows
// that an earlier attempt (whose spool was lost) already used the numbers we were about to send.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { EventType, ExecutorEvent } from '../../api/v1alpha1/events.ts';

export interface SpooledEvent {
  /** 1, 2, 3, … in this spool. */
  index: number;
  type: EventType;
  time: string;
  message?: string;
  data?: Record<string, unknown>;
}

interface SpoolState {
  base: number;
  acked: number;
}

export class EventSpool {
  readonly dir: string;
  #fd: number;
  #state: SpoolState = { base: 0, acked: 0 };
  #last = 0;
  #pending: SpooledEvent[] = [];
  #all: SpooledEvent[] | undefined;

  /** Opens (creating if needed) the spool in `dir`, recovering events written by an earlier process. */
  constructor(dir: string, options: { keepAll?: boolean } = {}) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    if (options.keepAll) this.#all = [];
    try {
      this.#state = JSON.parse(readFileSync(this.#statePath, 'utf8')) as SpoolState;
    } catch {
      this.#state = { base: 0, acked: 0 };
    }
    let text = '';
    try {
      text = readFileSync(this.#eventsPath, 'utf8');
    } catch {
      text = '';
    }
    let validBytes = 0;
    for (const line of text.split('\n')) {
      if (line === '') break;
      let event: SpooledEvent;
      try {
        event = JSON.parse(line) as SpooledEvent;
      } catch {
        break; // a torn last line from a crash mid-write: drop it and everything after
      }
      if (event.index !== this.#last + 1) break;
      this.#last = event.index;
      validBytes += Buffer.byteLength(line) + 1;
      this.#all?.push(event);
      if (event.index > this.#state.acked) this.#pending.push(event);
    }
    if (validBytes !== Buffer.byteLength(text)) {
      writeFileSync(this.#eventsPath, text.length === 0 ? '' : Buffer.from(text).subarray(0, validBytes));
    }
    this.#fd = openSync(this.#eventsPath, 'a');
  }

  get #eventsPath(): string {
    return path.join(this.dir, 'events.jsonl');
  }

  get #statePath(): string {
    return path.join(this.dir, 'spool-state.json');
  }

  /** Highest index written so far. */
  get lastIndex(): number {
    return this.#last;
  }

  get base(): number {
    return this.#state.base;
  }

  get ackedIndex(): number {
    return this.#state.acked;
  }

  /** Events not yet acknowledged by ingest, oldest first. */
  get pending(): readonly SpooledEvent[] {
    return this.#pending;
  }

  /** Every event of this spool (only when opened with keepAll). */
  get all(): readonly SpooledEvent[] {
    return this.#all ?? [];
  }

  seqOf(event: SpooledEvent): number {
    return this.#state.base + event.index;
  }

  toWire(event: SpooledEvent): ExecutorEvent {
    const wire: ExecutorEvent = { seq: this.seqOf(event), type: event.type, time: event.time };
    if (event.message !== undefined) wire.message = event.message;
    if (event.data !== undefined) wire.data = event.data;
    return wire;
  }

  append(event: Omit<SpooledEvent, 'index'>): SpooledEvent {
    const spooled: SpooledEvent = { index: this.#last + 1, ...event };
    writeSync(this.#fd, `${JSON.stringify(spooled)}\n`);
    this.#last = spooled.index;
    this.#pending.push(spooled);
    this.#all?.push(spooled);
    return spooled;
  }

  /** Marks every event up to and including `index` as delivered. */
  ack(index: number): void {
    if (index <= this.#state.acked) return;
    this.#state = { ...this.#state, acked: Math.min(index, this.#last) };
    while (this.#pending.length > 0 && this.#pending[0]!.index <= this.#state.acked) this.#pending.shift();
    this.#writeState();
  }

  /** Renumbers the undelivered events so that `firstIndex` gets sequence number `firstSeq`. */
  rebase(firstIndex: number, firstSeq: number): void {
    this.#state = { ...this.#state, base: firstSeq - firstIndex };
    this.#writeState();
  }

  /** Makes the written events durable (called before the process exits). */
  sync(): void {
    try {
      fsyncSync(this.#fd);
    } catch {
      // best effort: some filesystems refuse fsync
    }
  }

  close(): void {
    this.sync();
    closeSync(this.#fd);
  }

  #writeState(): void {
    const tmp = `${this.#statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state));
    renameSync(tmp, this.#statePath);
  }
}
