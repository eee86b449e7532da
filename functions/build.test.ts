// The api and webhook images start their programs as the benchmark and the tests do (the flags and
// the snapshot).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { startArgs } from './build.ts';
import { webhookStartArgs } from './webhooks/build.ts';

/** The CMD of one target (`FROM … AS <target>`) of functions/Dockerfile, as an exec-form array. */
function dockerCmd(target: string): string[] {
  const text = readFileSync(join(import.meta.dirname, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m);
  const stage = stages.find((s) => new RegExp(`^\\S+ AS ${target}\\s*$`, 'm').test(s.split('\n')[0] ?? ''));
  if (!stage) throw new Error(`no stage ${target}`);
  const cmd = /^CMD (\[.*\])\s*$/m.exec(stage);
  if (!cmd) throw new Error(`no exec-form CMD in stage ${target}`);
  return JSON.parse(cmd[1]!) as string[];
}

test('the api image starts from the snapshot as functions/build.ts says', () => {
  expect(dockerCmd('api')).toEqual(['node', ...startArgs('dist/functions')]);
});

test('the webhook image starts from the snapshot as functions/webhooks/build.ts says', () => {
  expect(dockerCmd('webhook')).toEqual(['node', ...webhookStartArgs('dist/webhook')]);
});
