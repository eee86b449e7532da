// A request deleted while its run runs, on the process runtime (whose runs no owner reference
// collects): the controller stops the run, and frees its slot only then — a waiting request never
// runs beside it.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { loadConfig } from './config.ts';
import { type Controller, createController } from './controller.ts';
import { type KubeClient, RESOURCES } from './kube.ts';
import { createLogger } from './log.ts';
import { createProcessRuntime } from './process-runtime.ts';
import { adminClient, createFixtures, createRequest, getRequest, testEnv } from './testing.ts';

// stands in for `node executor/main.ts`: records its pid, then waits until it is signalled
const STUB = `
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const ws = process.env.AI_AGENTS_WORKSPACE;
writeFileSync(join(ws, 'pid'), String(process.pid));
process.on('SIGTERM', () => { appendFileSync(join(ws, 'signals'), 'TERM\\n'); process.exit(143); });
setInterval(() => {}, 1000);
`;

let ns: TestNamespace;
let client: KubeClient;
let controller: Controller;
let dataDir: string;

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-deleted');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
  const root = mkdtempSync(path.join(tmpdir(), 'request-deleted-'));
  const stub = path.join(root, 'stub-executor.mjs');
  writeFileSync(stub, STUB);
  dataDir = path.join(root, 'data');
  const config = loadConfig(
    testEnv(ns.name, { EXECUTOR_RUNTIME: 'process', PROCESS_DATA_DIR: dataDir, WORKER_CONCURRENCY: '1' }),
  );
  const log = createLogger('error');
  const runtime = createProcessRuntime({
    config,
    log,
    client,
    executorCommand: [process.execPath, stub],
    killGraceMs: 300,
    env: { PATH: process.env.PATH },
  });
  controller = createController({ client, config, log, runtime });
  controller.startInformers();
  await controller.waitForSync();
  await controller.startWorkers();
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
});

const workspaceOf = (name: string) => path.join(dataDir, 'workspace', 'jobs', name);

it('stops the run of a deleted request before the next one takes its slot', async () => {
  await createRequest(client, ns.name, 'first', { prompt: 'wait' });
  await eventually('first running', async () =>
    (await getRequest(client, ns.name, 'first')).status?.phase === 'Running' ? true : undefined,
  );
  const pid = Number(
    await eventually('pid', () =>
      existsSync(path.join(workspaceOf('first'), 'pid'))
        ? readFileSync(path.join(workspaceOf('first'), 'pid'), 'utf8')
        : undefined,
    ),
  );
  await createRequest(client, ns.name, 'second', { prompt: 'wait' });
  await eventually('second queued', async () =>
    (await getRequest(client, ns.name, 'second')).status?.phase === 'Queued' ? true : undefined,
  );
  await client.delete(RESOURCES.inferencerequests, ns.name, 'first');
  await eventually('second running', async () =>
    (await getRequest(client, ns.name, 'second')).status?.phase === 'Running' ? true : undefined,
  );
  // by then the first run had been told to stop and was gone
  expect(readFileSync(path.join(workspaceOf('first'), 'signals'), 'utf8')).toBe('TERM\n');
  expect(() => process.kill(pid, 0)).toThrow();
  expect([...controller.runtime.activeRuns()].map((r) => r.requestKey)).toEqual([`${ns.name}/second`]);
});
