import { describe, expect, it } from 'vitest';
import type { WebhookRule } from '../../api/v1alpha1/index.ts';
import { example, githubRules } from './fixtures.ts';
import { deliveryFacts, findCommand, globMatch, matchRule, matchRules } from './rules.ts';

const rule = (over: Partial<WebhookRule>): WebhookRule => ({
  name: 'r',
  event: 'issues',
  agent: 'developer',
  promptTemplate: 'x',
  concurrencyPolicy: 'queue',
  ...over,
});

describe('deliveryFacts from real GitHub payloads', () => {
  it('issues.labeled', () => {
    const f = deliveryFacts('github', example('issues', 'labeled'), 'issues');
    expect(f).toMatchObject({
      event: 'issues',
      action: 'labeled',
      changedLabel: 'bug',
      labels: ['bug'],
      repository: 'Codertocat/Hello-World',
      sender: 'Codertocat',
      number: 1,
    });
  });
  it('pull_request.synchronize: base branch, number', () => {
    const f = deliveryFacts('github', example('pull_request', 'synchronize'), 'pull_request');
    expect(f).toMatchObject({ event: 'pull_request', action: 'synchronize', branch: 'master', number: 2 });
  });
  it('push: branch from refs/heads, none for tags', () => {
    const push = example('push', undefined, (p) => p.ref === 'refs/heads/master');
    expect(deliveryFacts('github', push, 'push').branch).toBe('master');
    const tag = example('push', undefined, (p) => p.ref === 'refs/tags/simple-tag');
    expect(deliveryFacts('github', tag, 'push').branch).toBeUndefined();
  });
  it('gitlab note with a command', () => {
    const f = deliveryFacts('gitlab', {
      object_kind: 'note',
      user: { username: 'alice' },
      project: { path_with_namespace: 'group/app' },
      object_attributes: { note: '/ai review', noteable_type: 'MergeRequest' },
      merge_request: { iid: 4, target_branch: 'main' },
    });
    expect(f).toMatchObject({
      event: 'note',
      comment: '/ai review',
      repository: 'group/app',
      sender: 'alice',
      number: 4,
    });
  });
});

describe('matchRule: table', () => {
  const labeled = deliveryFacts('github', example('issues', 'labeled'), 'issues');
  const comment = example('issue_comment', 'created');
  (comment.comment as Record<string, unknown>).body = 'Thanks!\n/ai review focus on tests\n';
  const commented = deliveryFacts('github', comment, 'issue_comment');
  const cases: {
    name: string;
    rule: Partial<WebhookRule>;
    facts: typeof labeled;
    match: boolean;
    why?: RegExp;
  }[] = [
    { name: 'event matches', rule: {}, facts: labeled, match: true },
    { name: 'event "*" matches anything', rule: { event: '*' }, facts: commented, match: true },
    { name: 'other event', rule: { event: 'push' }, facts: labeled, match: false, why: /event is "issues"/ },
    { name: 'action listed', rule: { actions: ['opened', 'labeled'] }, facts: labeled, match: true },
    {
      name: 'action not listed',
      rule: { actions: ['opened'] },
      facts: labeled,
      match: false,
      why: /action is "labeled"/,
    },
    { name: 'label that was added', rule: { filters: { labels: ['bug'] } }, facts: labeled, match: true },
    { name: 'label glob', rule: { filters: { labels: ['b*'] } }, facts: labeled, match: true },
    {
      name: 'another label was added',
      rule: { filters: { labels: ['ai:developer'] } },
      facts: labeled,
      match: false,
      why: /label "bug" is not one of ai:developer/,
    },
    {
      name: 'repository exact (case-insensitive)',
      rule: { filters: { repositories: ['codertocat/hello-world'] } },
      facts: labeled,
      match: true,
    },
    {
      name: 'repository glob',
      rule: { filters: { repositories: ['Codertocat/*'] } },
      facts: labeled,
      match: true,
    },
    {
      name: 'repository not listed',
      rule: { filters: { repositories: ['other/*'] } },
      facts: labeled,
      match: false,
      why: /repository/,
    },
    {
      name: 'sender allowed',
      rule: { filters: { senders: { allow: ['Codertocat'] } } },
      facts: labeled,
      match: true,
    },
    {
      name: 'sender not allowed',
      rule: { filters: { senders: { allow: ['alice'] } } },
      facts: labeled,
      match: false,
      why: /not allowed/,
    },
    {
      name: 'deny wins over allow',
      rule: { filters: { senders: { allow: ['*'], deny: ['codertocat'] } } },
      facts: labeled,
      match: false,
      why: /denied/,
    },
    {
      name: 'bots denied by glob',
      rule: { filters: { senders: { deny: ['*[bot]'] } } },
      facts: labeled,
      match: true,
    },
    {
      name: 'branch filter without a branch',
      rule: { filters: { branches: ['main'] } },
      facts: labeled,
      match: false,
      why: /branch ""/,
    },
    {
      name: 'command on its own line',
      rule: { event: 'issue_comment', filters: { command: '/ai review' } },
      facts: commented,
      match: true,
    },
    {
      name: 'other command',
      rule: { event: 'issue_comment', filters: { command: '/ai fix' } },
      facts: commented,
      match: false,
      why: /no "\/ai fix" command/,
    },
    {
      name: 'command on an event without comment',
      rule: { filters: { command: '/ai review' } },
      facts: labeled,
      match: false,
      why: /no comment/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = matchRule(rule(c.rule), c.facts);
      expect(r.ok).toBe(c.match);
      if (!r.ok && c.why) expect(r.reason).toMatch(c.why);
    });
  }
  it('returns the command and its arguments', () => {
    const r = matchRule(rule({ event: 'issue_comment', filters: { command: '/ai review' } }), commented);
    expect(r).toEqual({ ok: true, command: { name: '/ai review', args: 'focus on tests' } });
  });
});

describe('matchRules over the test rules', () => {
  it('each real payload matches its rule and says why the others miss', () => {
    const { matches, misses } = matchRules(
      githubRules(),
      deliveryFacts('github', example('issues', 'labeled'), 'issues'),
    );
    expect(matches.map((m) => m.rule.name)).toEqual(['label-bug']);
    expect(misses).toEqual([
      { rule: 'comment-review', reason: 'event is "issues", rule wants "issue_comment"' },
      { rule: 'pr-review', reason: 'event is "issues", rule wants "pull_request"' },
      { rule: 'push-master', reason: 'event is "issues", rule wants "push"' },
    ]);
  });
});

describe('helpers', () => {
  it('globMatch escapes regex characters', () => {
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('release/*', 'release/1.2')).toBe(true);
    expect(globMatch('(x)+', '(x)+')).toBe(true);
  });
  it('findCommand needs the command at a line start, followed by space or end', () => {
    expect(findCommand('please /ai review', '/ai review')).toBeUndefined();
    expect(findCommand('/ai reviewer', '/ai review')).toBeUndefined();
    expect(findCommand('  /AI Review now', '/ai review')).toEqual({ name: '/ai review', args: 'now' });
  });
});
