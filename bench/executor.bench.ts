// Executor benchmarks: how fast the runtime turns backend output into delivered events (spool on disk +
// ordered batches over HTTP to a local ingest), against the ingest target of 2,000 events/s per pod.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventStream } from '../executor/runtime/events.ts';
import { IngestSender } from '../executor/runtime/sender.ts';
import { EventSpool } from '../executor/runtime/spool.ts';
import { startIngestReceiver } from '../executor/testing/ingest-receiver.ts';
import type { BenchContext, BenchRow } from './harness.ts';

export default async function executorBench(ctx: BenchContext): Promise<BenchRow[]> {
  const count = 20_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'ai-agents-exec-bench-'));
  const ingest = await startIngestReceiver({ request: 'bench' });
  try {
    const spool = new EventSpool(path.join(dir, 'spool'));
    const sender = new IngestSender(
      spool,
      { url: ingest.url, token: () => ingest.token, request: 'bench' },
      { batchMs: 20, maxRetryDelayMs: 500 },
    );
    const events = new EventStream(spool, () => sender.notify());
    sender.start();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      events.emit('message', `token ${i}`, { role: 'assistant', delta: true, tokens: 1 });
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // a backend yields now and then
    }
    const delivered = await sender.flush(60_000);
    const seconds = (performance.now() - started) / 1000;
    await sender.stop();
    spool.close();
    if (!delivered || ingest.events.length !== count)
      throw new Error(`delivered ${ingest.events.length} of ${count}`);
    const perSecond = count / seconds;
    ctx.log(
      `executor: ${count} events spooled and delivered in ${seconds.toFixed(2)} s (${ingest.posts} POSTs)`,
    );
    return [
      {
        measure: 'executor events spooled + delivered to ingest',
        value: Math.round(perSecond),
        unit: 'events/s',
        target: '>= 2000',
        pass: perSecond >= 2000,
      },
    ];
  } finally {
    await ingest.close();
    await rm(dir, { recursive: true, force: true });
  }
}
