import { describe, expect, it } from 'vitest';
import { ConfigError, executorImage, loadConfig } from './config.ts';

const secret = 'x'.repeat(32);

describe('loadConfig', () => {
  it('applies defaults from the deployment guide', () => {
    const c = loadConfig({ INGEST_TOKEN_SECRET: secret });
    expect(c).toMatchObject({ PORT: 3001, LOG_LEVEL: 'info', WORKER_CONCURRENCY: 5, LEADER_ELECTION: true });
    expect(c.NAMESPACE).toBeUndefined();
    expect(c.UPLOADS_PVC_NAME).toBeUndefined();
  });

  it('parses numbers and names', () => {
    const c = loadConfig({
      INGEST_TOKEN_SECRET: secret,
      WORKER_CONCURRENCY: '12',
      NAMESPACE: 'ai-agents',
      UPLOADS_PVC_NAME: 'uploads',
      LEADER_ELECTION: 'false',
    });
    expect(c).toMatchObject({ WORKER_CONCURRENCY: 12, NAMESPACE: 'ai-agents', UPLOADS_PVC_NAME: 'uploads' });
    expect(c.LEADER_ELECTION).toBe(false);
  });

  it('names every bad variable and never echoes the secret', () => {
    let err: unknown;
    try {
      loadConfig({ INGEST_TOKEN_SECRET: 'short-secret-value', WORKER_CONCURRENCY: '0', NAMESPACE: 'Bad_NS' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('INGEST_TOKEN_SECRET');
    expect(msg).toContain('WORKER_CONCURRENCY');
    expect(msg).toContain('NAMESPACE');
    expect(msg).not.toContain('short-secret-value');
  });

  it('requires INGEST_TOKEN_SECRET only for the process runtime (Jobs get a projected token)', () => {
    expect(loadConfig({}).INGEST_TOKEN_SECRET).toBeUndefined();
    expect(() => loadConfig({ EXECUTOR_RUNTIME: 'process' })).toThrow(/INGEST_TOKEN_SECRET/);
    expect(loadConfig({ EXECUTOR_RUNTIME: 'process', INGEST_TOKEN_SECRET: secret }).INGEST_TOKEN_SECRET).toBe(
      secret,
    );
  });
});

describe('loadConfig cross-checks', () => {
  it('refuses lease timings that would let two leaders act, and a subPath prefix outside the volume', () => {
    const base = { INGEST_TOKEN_SECRET: 'x'.repeat(40) };
    expect(() =>
      loadConfig({ ...base, LEASE_DURATION_SECONDS: '5', LEASE_RENEW_DEADLINE_SECONDS: '20' }),
    ).toThrow(/LEASE_RENEW_DEADLINE_SECONDS: must be less than LEASE_DURATION_SECONDS \(5\)/);
    expect(() => loadConfig({ ...base, LEASE_RETRY_PERIOD_SECONDS: '10' })).toThrow(
      /LEASE_RETRY_PERIOD_SECONDS: must be less than LEASE_RENEW_DEADLINE_SECONDS \(10\)/,
    );
    for (const prefix of ['../../etc', '/etc', 'jobs/../..'])
      expect(() => loadConfig({ ...base, WORKSPACE_SUBPATH_PREFIX: prefix }), prefix).toThrow(
        /WORKSPACE_SUBPATH_PREFIX: must be a folder inside the workspace volume/,
      );
    expect(loadConfig({ ...base, WORKSPACE_SUBPATH_PREFIX: 'tenants/a/jobs' }).WORKSPACE_SUBPATH_PREFIX).toBe(
      'tenants/a/jobs',
    );
  });

  it('checks every CALLBACK_ALLOWED_HOSTS entry at start', () => {
    expect(() => loadConfig({ CALLBACK_ALLOWED_HOSTS: 'hooks.example.com,10.0.0.0/40' })).toThrow(
      /CALLBACK_ALLOWED_HOSTS: "10.0.0.0\/40" is not a CIDR range/,
    );
    expect(loadConfig({ CALLBACK_ALLOWED_HOSTS: ' *.example.com,10.0.0.0/8 ' }).CALLBACK_ALLOWED_HOSTS).toBe(
      '*.example.com,10.0.0.0/8',
    );
    expect(loadConfig({}).CALLBACK_ALLOWED_HOSTS).toBeUndefined();
  });
});

describe('executorImage', () => {
  it('substitutes the executor kind', () => {
    expect(executorImage('ghcr.io/x/executor-{executor}:1.2.3', 'codex')).toBe(
      'ghcr.io/x/executor-codex:1.2.3',
    );
    expect(executorImage('ghcr.io/x/executor:1', 'codex')).toBe('ghcr.io/x/executor:1');
  });
});
