// cronjob-token-refresh: refreshes the OAuth credentials of claude AiModels that have been idle
// longer than a threshold, so their refresh tokens never expire unused, and writes the new tokens
// back to the model's credentials Secret (the format Claude Code keeps in .credentials.json).
//   node controller/housekeeping/token-refresh.ts --idle-seconds 21600 --token-url URL --client-id ID

import { fileURLToPath } from 'node:url';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, jsonLog, type Kube, kubeFromEnvironment, type Log, listAll, parseFlags } from './common.ts';

interface AiModel {
  metadata: { name: string; creationTimestamp?: string };
  spec: { executor: string; credentialsRef?: { name: string; key?: string } };
  status?: { lastUsedAt?: string; credentialsRefreshedAt?: string };
}

interface ClaudeCredentials {
  claudeAiOauth?: {
    accessToken: string;
    refreshToken?: string;
    expiresAt?: number;
    scopes?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface TokenRefreshOptions {
  kube: Kube;
  idleSeconds: number;
  tokenUrl: string;
  clientId: string;
  now?: () => number;
  log?: Log;
  fetch?: typeof fetch;
}

export type Outcome = 'refreshed' | 'recently used' | 'no refresh token' | 'not claude' | 'failed';
export interface TokenRefreshResult {
  models: { name: string; outcome: Outcome; detail?: string }[];
}

const DEFAULT_KEY = 'credentials.json';

/** Last use or refresh; a model never used nor refreshed counts as idle. */
function lastActivity(m: AiModel): number {
  const times = [m.status?.lastUsedAt, m.status?.credentialsRefreshedAt]
    .filter((t): t is string => Boolean(t))
    .map((t) => Date.parse(t))
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : 0;
}

async function refreshOne(
  opts: TokenRefreshOptions,
  model: AiModel,
): Promise<{ outcome: Outcome; detail?: string }> {
  const now = opts.now ?? Date.now;
  const { kube } = opts;
  const ref = model.spec.credentialsRef!;
  const key = ref.key ?? DEFAULT_KEY;
  const secret = await kube.core.readNamespacedSecret({ name: ref.name, namespace: kube.namespace });
  const raw = secret.data?.[key];
  if (!raw) return { outcome: 'failed', detail: `Secret ${ref.name} has no key ${key}` };
  let creds: ClaudeCredentials;
  try {
    creds = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as ClaudeCredentials;
  } catch {
    return { outcome: 'failed', detail: `Secret ${ref.name}/${key} is not JSON` };
  }
  const oauth = creds.claudeAiOauth;
  if (!oauth?.refreshToken) return { outcome: 'no refresh token' };

  const response = await (opts.fetch ?? fetch)(opts.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      grant_type: 'refresh_token',
      refresh_token: oauth.refreshToken,
      client_id: opts.clientId,
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    // the body of an OAuth error names the error (invalid_grant, …) and carries no token
    let error = '';
    try {
      error = String((JSON.parse(text) as { error?: unknown }).error ?? '');
    } catch {}
    return {
      outcome: 'failed',
      detail: `token endpoint answered ${response.status}${error ? ` (${error})` : ''}`,
    };
  }
  const token = JSON.parse(text) as {
    access_token?: string;
    refresh_token?: string;
    expires_in?: number;
    scope?: string;
  };
  if (!token.access_token)
    return { outcome: 'failed', detail: 'token endpoint answered without access_token' };

  const refreshed: ClaudeCredentials = {
    ...creds,
    claudeAiOauth: {
      ...oauth,
      accessToken: token.access_token,
      refreshToken: token.refresh_token ?? oauth.refreshToken,
      expiresAt: now() + (token.expires_in ?? 3600) * 1000,
      ...(token.scope ? { scopes: token.scope.split(' ') } : {}),
    },
  };
  // replace with the resourceVersion we read: if an executor wrote newer tokens meanwhile, the
  // apiserver answers 409 and theirs win
  await kube.core.replaceNamespacedSecret({
    name: ref.name,
    namespace: kube.namespace,
    body: {
      ...secret,
      data: { ...secret.data, [key]: Buffer.from(JSON.stringify(refreshed)).toString('base64') },
    },
  });
  await kube.custom.patchNamespacedCustomObjectStatus(
    {
      ...GROUP,
      namespace: kube.namespace,
      plural: 'aimodels',
      name: model.metadata.name,
      body: { status: { credentialsRefreshedAt: new Date(now()).toISOString() } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return { outcome: 'refreshed' };
}

export async function tokenRefresh(opts: TokenRefreshOptions): Promise<TokenRefreshResult> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const result: TokenRefreshResult = { models: [] };
  for (const model of await listAll<AiModel>(opts.kube, 'aimodels')) {
    const name = model.metadata.name;
    let r: { outcome: Outcome; detail?: string };
    if (model.spec.executor !== 'claude' || !model.spec.credentialsRef) r = { outcome: 'not claude' };
    else if (now() - lastActivity(model) < opts.idleSeconds * 1000) r = { outcome: 'recently used' };
    else {
      try {
        r = await refreshOne(opts, model);
      } catch (e) {
        const code = (e as { code?: number }).code;
        r = {
          outcome: 'failed',
          detail: code ? `Kubernetes API answered ${code}` : e instanceof Error ? e.message : String(e),
        };
      }
    }
    result.models.push({ name, ...r });
    if (r.outcome === 'refreshed' || r.outcome === 'failed') {
      log(r.outcome === 'failed' ? 'error' : 'info', `model ${r.outcome}`, { model: name, detail: r.detail });
    }
  }
  log('info', 'token refresh finished', {
    refreshed: result.models.filter((m) => m.outcome === 'refreshed').length,
    failed: result.models.filter((m) => m.outcome === 'failed').length,
  });
  return result;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    'idle-seconds': 'number',
    'token-url': 'string',
    'client-id': 'string',
  });
  if (!flags['token-url'] || !flags['client-id']) throw new Error('--token-url and --client-id are required');
  const result = await tokenRefresh({
    kube: kubeFromEnvironment(),
    idleSeconds: Number(flags['idle-seconds'] ?? 6 * 3600),
    tokenUrl: String(flags['token-url']),
    clientId: String(flags['client-id']),
    log: jsonLog('token-refresh'),
  });
  if (result.models.some((m) => m.outcome === 'failed')) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    jsonLog('token-refresh')('error', 'token refresh failed', {
      error: e instanceof Error ? e.message : String(e),
    });
    process.exit(1);
  });
}
