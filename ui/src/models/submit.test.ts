import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api.ts';
import { buildBody, emptyForm, fieldErrors } from './submit.ts';

describe('submit form', () => {
  it('builds the POST /api/jobs body from the form', () => {
    const { body, errors } = buildBody(
      {
        ...emptyForm(),
        agent: 'developer',
        model: 'sonnet',
        prompt: 'Fix the bug',
        repositoryUrl: ' https://git.example/org/repo.git ',
        ref: 'main',
        pullRequest: true,
        timeoutSeconds: '600',
        priority: '-5',
        labels: 'team=core\nticket = 42',
      },
      ['a1', 'a2'],
    );
    expect(errors).toEqual({});
    expect(body).toEqual({
      agent: 'developer',
      model: 'sonnet',
      prompt: 'Fix the bug',
      repository: { url: 'https://git.example/org/repo.git', ref: 'main', pullRequest: true },
      timeoutSeconds: 600,
      priority: -5,
      labels: { team: 'core', ticket: '42' },
      attachments: ['a1', 'a2'],
    });
  });

  it('stops an incomplete form before it is sent', () => {
    const { body, errors } = buildBody({ ...emptyForm(), branch: 'x', priority: '1.5', labels: 'oops' });
    expect(body).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(['agent', 'labels', 'priority', 'prompt', 'repositoryUrl']);
  });

  it('maps the API field paths onto the form fields', () => {
    const err = new ApiError(400, 'invalid_body', 'request body is invalid', [
      { path: 'repository.url', message: 'must be a git URL' },
      { path: 'repository.branch', message: 'bad branch' },
      { path: 'labels.team', message: 'too long' },
      { path: 'agent', message: 'no such agent' },
      { path: 'callback.url', message: 'not allowed' },
    ]);
    expect(fieldErrors(err)).toEqual({
      repositoryUrl: 'must be a git URL',
      branch: 'bad branch',
      labels: 'too long',
      agent: 'no such agent',
      form: 'callback.url: not allowed',
    });
  });
});
