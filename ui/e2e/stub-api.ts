// A tiny in-memory stand-in for /api, mounted in `vite preview` for the UI smoke test only. It
// answers in the shapes the functions document; the real API is exercised by the e2e suite.
import type { IncomingMessage, ServerResponse } from 'node:http';

type Role = 'viewer' | 'operator' | 'admin';
const now = Date.now();
const iso = (msAgo: number) => new Date(now - msAgo).toISOString();

export interface StubState {
  role: Role | undefined;
  calls: { method: string; url: string; lastEventId?: string }[];
}

const summary = (id: string, phase: string, i: number) => ({
  id,
  phase,
  agent: i % 2 ? 'reviewer' : 'developer',
  model: i % 3 ? 'sonnet' : 'qwen-local',
  source: ['api', 'webhook', 'ui'][i % 3],
  caller: ['ci-bot', 'ada', 'github'][i % 3],
  queuePosition: phase === 'Queued' ? i : undefined,
  createdAt: iso(i * 7 * 60_000 + 30_000),
  usage:
    phase === 'Succeeded'
      ? { inputTokens: 12_000 * i, outputTokens: 900 * i, costUsd: 0.031 * i }
      : undefined,
});

const JOBS = [
  summary('req-live', 'Running', 1),
  summary('req-running', 'Running', 2),
  summary('req-queued-a', 'Queued', 3),
  summary('req-queued-b', 'Queued', 4),
  summary('req-done', 'Succeeded', 5),
  summary('req-failed', 'Failed', 6),
  summary('req-pending', 'Pending', 7),
];
const phases = new Map(JOBS.map((j) => [j.id, j.phase]));

const detail = (id: string) => {
  const phase = phases.get(id) ?? 'Pending';
  const done = phase === 'Succeeded';
  return {
    id,
    metadata: { name: id, creationTimestamp: iso(600_000) },
    spec: {
      agent: 'developer',
      model: 'sonnet',
      prompt: 'The test `jobs.int.test.ts` is flaky on CI. Find out why and fix it.',
      repository: {
        url: 'https://git.example/acme/platform.git',
        ref: 'main',
        branch: 'ai/fix-flaky',
        pullRequest: true,
      },
      priority: 10,
      maxRetries: 1,
      cancel: false,
      source: { kind: 'ui' },
      caller: 'ada',
      labels: { team: 'platform', ticket: 'OPS-42' },
    },
    status: {
      phase,
      jobName: `ir-${id}-7f3k2`,
      executor: 'claude',
      resolvedModel: 'sonnet',
      attempts: 1,
      startedAt: iso(590_000),
      ...(done && {
        completedAt: iso(470_000),
        usage: { inputTokens: 48_210, outputTokens: 3_904, costUsd: 0.2032, durationMs: 120_400 },
        result: {
          summary: 'The test raced the informer cache; it now waits for the watch to sync.',
          output:
            'diff --git a/jobs.int.test.ts b/jobs.int.test.ts\n- await create()\n+ await cacheSynced(); await create()',
          pullRequestUrl: 'https://git.example/acme/platform/pull/128',
        },
      }),
      promptHash: 'sha256:9c1d…e4',
      eventCount: 6,
      conditions: [
        { type: 'Admitted', status: 'True', reason: 'Admitted', lastTransitionTime: iso(595_000) },
        { type: 'Ready', status: done ? 'True' : 'False', reason: phase, lastTransitionTime: iso(470_000) },
      ],
    },
  };
};

const EVENTS = [
  { type: 'started', message: 'executor claude started' },
  { type: 'message', message: 'Reading the failing test and the informer code.' },
  {
    type: 'tool_call',
    message: 'npm test',
    data: { name: 'Bash', input: { command: 'npx vitest run jobs.int' } },
  },
  { type: 'tool_result', data: { name: 'Bash', output: '1 failed: expected 1 Job, got 0' } },
  { type: 'usage', data: { inputTokens: 48210, outputTokens: 3904, costUsd: 0.2032 } },
  { type: 'completed', message: 'all tests pass' },
];

const agents = {
  items: [
    {
      metadata: { name: 'developer', creationTimestamp: iso(86_400_000 * 3), resourceVersion: '12' },
      spec: {
        role: 'developer',
        model: 'sonnet',
        repositoryAccess: 'pr',
        description: 'Writes and fixes code, opens a PR',
      },
    },
    {
      metadata: { name: 'reviewer', creationTimestamp: iso(86_400_000 * 3) },
      spec: {
        role: 'reviewer',
        model: 'sonnet',
        repositoryAccess: 'read',
        description: 'Reviews pull requests',
      },
    },
  ],
};
const models = {
  items: [
    {
      metadata: { name: 'sonnet', creationTimestamp: iso(86_400_000 * 5) },
      spec: {
        provider: 'anthropic',
        executor: 'claude',
        model: 'claude-sonnet',
        displayName: 'Claude Sonnet',
        pricing: { inputPerMillionTokensUsd: 3, outputPerMillionTokensUsd: 15 },
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    },
    {
      metadata: { name: 'qwen-local', creationTimestamp: iso(86_400_000) },
      spec: { provider: 'llamacpp', executor: 'llama', model: 'qwen2.5-0.5b.gguf' },
    },
  ],
};
const instructions = {
  items: [
    {
      metadata: { name: 'safety', creationTimestamp: iso(86_400_000 * 9) },
      spec: {
        type: 'global',
        priority: 10,
        description: 'Never leak secrets',
        content: 'Never print secrets.',
      },
    },
    {
      metadata: { name: 'git-flow', creationTimestamp: iso(86_400_000 * 9) },
      spec: { type: 'local', priority: 100, agents: ['developer'], content: 'Work on a branch; open a PR.' },
    },
  ],
};
const sources = {
  items: [
    {
      metadata: { name: 'github', creationTimestamp: iso(86_400_000 * 2) },
      spec: {
        type: 'github',
        secretRef: { name: 'gh-hook', key: 'secret' },
        rules: [
          {
            name: 'review-prs',
            event: 'pull_request',
            actions: ['opened', 'synchronize'],
            agent: 'reviewer',
          },
          { name: 'triage', event: 'issues', actions: ['labeled'], agent: 'developer', model: 'sonnet' },
        ],
      },
      status: { url: 'https://hooks.example/github', deliveries: 2, lastDeliveryAt: iso(300_000) },
    },
  ],
};
const deliveries = {
  items: [
    {
      id: 'a1b2c3',
      event: 'pull_request',
      action: 'opened',
      receivedAt: iso(300_000),
      matchedRules: ['review-prs'],
      outcome: 'created',
      requests: ['req-done'],
    },
    {
      id: 'd4e5f6',
      event: 'push',
      receivedAt: iso(900_000),
      matchedRules: [],
      outcome: 'ignored',
      reason: 'no rule matched',
    },
  ],
};

const series = (metric: string) => {
  const pts = (f: (i: number) => number) =>
    Array.from({ length: 60 }, (_, i) => [Math.floor(now / 1000) - (59 - i) * 60, f(i)]);
  const wave = (i: number, base: number, amp: number) => Math.max(0, base + amp * Math.sin(i / 6));
  if (metric === 'throughput')
    return [
      { labels: { phase: 'Succeeded' }, points: pts((i) => wave(i, 0.5, 0.3)) },
      { labels: { phase: 'Failed' }, points: pts((i) => wave(i + 9, 0.05, 0.04)) },
    ];
  const base: Record<string, number> = {
    duration_p50: 42,
    duration_p95: 130,
    queue_depth: 4,
    tokens: 900,
    cost: 0.02,
  };
  return [{ labels: {}, points: pts((i) => wave(i, base[metric] ?? 1, (base[metric] ?? 1) / 3)) }];
};

function send(res: ServerResponse, status: number, body?: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
const fail = (res: ServerResponse, status: number, code: string, message: string, details?: unknown) =>
  send(res, status, { error: { code, message, details, requestId: 'stub-1' } });

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

/** connect-style middleware for vite preview. */
export function stubApi(state: StubState) {
  return async (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (!url.pathname.startsWith('/api/')) return next();
    const method = req.method ?? 'GET';
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    state.calls.push({ method, url: url.pathname + url.search, ...(lastEventId && { lastEventId }) });
    const p = url.pathname;
    // /api/jobs/:id/:action and /api/webhooks/:source/deliveries/:id/replay
    const [, , area, id = '', action, delivery, verb] = p.split('/');
    const job = area === 'jobs' && id !== '';

    if (p === '/api/auth/login') {
      state.role ??= 'operator';
      res.writeHead(302, { location: url.searchParams.get('returnTo') ?? '/' });
      return res.end();
    }
    if (!state.role) return fail(res, 401, 'unauthorized', 'authentication required');
    const need = (r: Role) => {
      const rank = { viewer: 1, operator: 2, admin: 3 };
      if (rank[state.role!] >= rank[r]) return true;
      fail(res, 403, 'forbidden', `${r} role required`);
      return false;
    };
    if (p === '/api/auth/me')
      return send(res, 200, {
        user: { sub: 'u-ada', name: 'Ada Lovelace', email: 'ada@example.test', groups: ['platform'] },
        roles:
          state.role === 'admin'
            ? ['viewer', 'operator', 'admin']
            : state.role === 'operator'
              ? ['viewer', 'operator']
              : ['viewer'],
      });
    if (p === '/api/auth/logout' && method === 'POST') {
      state.role = undefined;
      return send(res, 204);
    }
    if (p === '/api/stats/summary') {
      const byPhase: Record<string, number> = {};
      for (const ph of phases.values()) byPhase[ph] = (byPhase[ph] ?? 0) + 1;
      return send(res, 200, { byPhase });
    }
    if (p === '/api/stats/timeseries') {
      const metric = url.searchParams.get('metric') ?? '';
      return send(res, 200, { metric, series: series(metric) });
    }
    if (p === '/api/jobs' && method === 'GET') {
      const phase = url.searchParams.get('phase');
      const items = JOBS.filter((j) => !phase || phases.get(j.id) === phase).map((j) => ({
        ...j,
        phase: phases.get(j.id),
      }));
      return send(res, 200, { items });
    }
    if (p === '/api/jobs' && method === 'POST') {
      if (!need('operator')) return;
      const body = await readBody(req);
      const repo = body.repository as { url?: string } | undefined;
      if (repo?.url && !/^https?:\/\//.test(repo.url))
        return fail(res, 400, 'invalid_body', 'request body is invalid', [
          { path: 'repository.url', message: 'must be a git URL', code: 'invalid_format' },
        ]);
      phases.set('req-new', 'Pending');
      return send(res, 202, { id: 'req-new' });
    }
    if (job && action === 'events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 300\n\n');
      const from = Number(lastEventId ?? 0);
      const live = id === 'req-live';
      // The live request drops the connection after its third event, once, to prove the resume.
      const stopAt = live && from === 0 ? 3 : EVENTS.length;
      let seq = from;
      const tick = () => {
        if (res.destroyed) return;
        if (seq >= stopAt) {
          if (stopAt === EVENTS.length) res.write('event: end\ndata: {}\n\n');
          return res.end();
        }
        const e = EVENTS[seq]!;
        seq += 1;
        const ev = { seq, time: new Date().toISOString(), ...e };
        res.write(`id: ${seq}\nevent: ${e.type}\ndata: ${JSON.stringify(ev)}\n\n`);
        setTimeout(tick, live ? 150 : 0);
      };
      tick();
      return;
    }
    if (job && action === 'prompt')
      return send(res, 200, {
        text: 'Never print secrets.\n\nWork on a branch; open a PR.',
        hash: 'sha256:51f0…aa',
        parts: [
          { source: 'safety', kind: 'global' },
          { source: 'git-flow', kind: 'local' },
        ],
      });
    if (job && action === 'cancel' && method === 'POST') {
      if (!need('operator')) return;
      phases.set(id, 'Cancelled');
      return send(res, 202, { id });
    }
    if (job && action === 'retry' && method === 'POST') {
      if (!need('operator')) return;
      return send(res, 202, { id: 'req-new' });
    }
    if (job && action === undefined)
      return phases.has(id) ? send(res, 200, detail(id)) : fail(res, 404, 'not_found', 'no such request');
    if (p === '/api/resources/agents') return send(res, 200, agents);
    if (p === '/api/resources/models') return send(res, 200, models);
    if (p === '/api/resources/instructions') return send(res, 200, instructions);
    if (p === '/api/resources/webhooksources') return send(res, 200, sources);
    if (p === '/api/resources/agents/developer/preview')
      return send(res, 200, {
        text: 'Never print secrets.\n\nWork on a branch; open a PR.',
        hash: 'sha256:51f0…aa',
        parts: [
          { source: 'safety', kind: 'global' },
          { source: 'git-flow', kind: 'local' },
        ],
      });
    if (p === '/api/webhooks/github/deliveries') return send(res, 200, deliveries);
    if (area === 'webhooks' && delivery && verb === 'replay' && method === 'POST') {
      if (!need('operator')) return;
      return send(res, 202, {
        delivery,
        event: 'pull_request',
        outcome: 'created',
        message: '1 request created',
        requests: [{ name: 'req-new', rule: 'review-prs', result: 'created' }],
      });
    }
    return fail(res, 404, 'not_found', `no route for ${method} ${p}`);
  };
}
