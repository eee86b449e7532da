// Test fixtures: real GitHub payloads from @octokit/webhooks-examples, signed as GitHub signs them,
// and WebhookSources that use them. Used by the unit and integration tests and the benchmark.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import type { WebhookSource, WebhookSourceSpec } from '../../api/v1alpha1/index.ts';

type Payload = Record<string, unknown> & { action?: string };
interface ExampleDefinition {
  name: string;
  examples: Payload[];
}

let cached: ExampleDefinition[] | undefined;
function definitions(): ExampleDefinition[] {
  if (!cached) {
    const path = createRequire(import.meta.url).resolve('@octokit/webhooks-examples');
    cached = JSON.parse(readFileSync(path, 'utf8')) as ExampleDefinition[];
  }
  return cached;
}

/** A fresh copy of the first real example of an event (and action). */
export function example(event: string, action?: string, where?: (p: Payload) => boolean): Payload {
  const def = definitions().find((d) => d.name === event);
  const found = def?.examples.find(
    (e) => (action === undefined || e.action === action) && (!where || where(e)),
  );
  if (!found)
    throw new Error(`no @octokit/webhooks-examples payload for ${event}${action ? `.${action}` : ''}`);
  return structuredClone(found);
}

export const SECRET = 'It’s a Secret to Everybody — 0123456789abcdef';

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** Headers and body as GitHub sends them. */
export async function githubDelivery(
  event: string,
  payload: unknown,
  opts: { id?: string; secret?: string } = {},
): Promise<SignedRequest> {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': opts.id ?? crypto.randomUUID(),
      'x-hub-signature-256': await sign(opts.secret ?? SECRET, body),
    },
  };
}

/** The rules the tests exercise, one per real payload kind. */
export function githubRules(): WebhookSourceSpec['rules'] {
  return [
    {
      name: 'label-bug',
      event: 'issues',
      actions: ['labeled'],
      filters: { labels: ['bug'] },
      agent: 'developer',
      promptTemplate:
        'Resolve issue #{{issue.number}} in {{repository.full_name}}: {{issue.title}}\n\n{{issue.body}}',
      concurrencyKey: '{{repository.full_name}}#{{issue.number}}',
      concurrencyPolicy: 'queue',
    },
    {
      name: 'comment-review',
      event: 'issue_comment',
      actions: ['created'],
      filters: { command: '/ai review' },
      agent: 'reviewer',
      promptTemplate: 'Review #{{issue.number}} as asked by {{comment.user.login}}: {{webhook.command.args}}',
      concurrencyPolicy: 'queue',
    },
    {
      name: 'pr-review',
      event: 'pull_request',
      actions: ['opened', 'synchronize'],
      agent: 'reviewer',
      model: 'claude-sonnet',
      promptTemplate: 'Review pull request #{{number}} "{{pull_request.title}}" ({{webhook.branch}})',
      repository: { pullRequest: true },
      priority: 5,
      concurrencyKey: '{{repository.full_name}}#{{number}}',
      concurrencyPolicy: 'cancel-previous',
    },
    {
      name: 'push-master',
      event: 'push',
      filters: { branches: ['master', 'main'] },
      agent: 'developer',
      promptTemplate: 'Check commit {{after}} pushed to {{webhook.branch}} by {{sender.login}}',
      repository: {},
      concurrencyPolicy: 'queue',
    },
  ];
}

export function githubSource(name: string, secretName = `${name}-secret`, uid?: string): WebhookSource {
  return {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'WebhookSource',
    metadata: { name, ...(uid ? { uid } : {}) },
    spec: {
      type: 'github',
      secretRef: { name: secretName, key: 'secret' },
      rules: githubRules(),
      replicas: 1,
      suspend: false,
    },
  };
}
