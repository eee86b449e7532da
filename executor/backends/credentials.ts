// Claude credentials from AiModel.spec.credentialsRef. An API key arrives as ANTHROPIC_API_KEY (or an
// OAuth token as CLAUDE_CODE_OAUTH_TOKEN); OAuth credentials (the CLI's .credentials.json, which it
// refreshes) arrive as a mounted file, are given to the CLI in its private HOME, and when the CLI has
// refreshed them they are written back to that one Secret (RBAC: update on that resource name only).
import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';

type Env = Record<string, string | undefined>;

export const CREDENTIALS_ENV = {
  file: 'AI_AGENTS_CLAUDE_CREDENTIALS_FILE', // mounted Secret key holding .credentials.json
  secretName: 'AI_AGENTS_CREDENTIALS_SECRET', // credentialsRef.name
  secretKey: 'AI_AGENTS_CREDENTIALS_SECRET_KEY', // credentialsRef.key
  namespace: 'AI_AGENTS_NAMESPACE',
  apiUrl: 'AI_AGENTS_KUBE_API_URL', // default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  tokenFile: 'AI_AGENTS_KUBE_TOKEN_FILE', // default the service account token
  caFile: 'AI_AGENTS_KUBE_CA_FILE', // default the service account CA
} as const;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function credentialsPath(home: string): string {
  return path.join(home, '.claude', '.credentials.json');
}

/** Copies mounted OAuth credentials into the CLI's HOME; returns the original text (or undefined). */
export async function installCredentials(env: Env, home: string): Promise<string | undefined> {
  const source = env[CREDENTIALS_ENV.file];
  if (!source) return undefined;
  const target = credentialsPath(home);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  await copyFile(source, target);
  await chmod(target, 0o600);
  return readFile(target, 'utf8');
}

/** The CLI's credentials after the run, when they differ from what it was given (a refresh happened). */
export async function refreshedCredentials(
  home: string,
  original: string | undefined,
): Promise<string | undefined> {
  if (original === undefined) return undefined;
  const now = await readFile(credentialsPath(home), 'utf8').catch(() => undefined);
  if (!now || now === original) return undefined;
  try {
    JSON.parse(now);
  } catch {
    return undefined; // half-written or foreign: never overwrite good credentials with it
  }
  return now;
}

/** JSON-merge-patches one key of the credentials Secret through the Kubernetes API. */
export async function writeBackCredentials(env: Env, content: string): Promise<void> {
  const name = env[CREDENTIALS_ENV.secretName];
  const key = env[CREDENTIALS_ENV.secretKey];
  const namespace = env[CREDENTIALS_ENV.namespace];
  if (!name || !key || !namespace)
    throw new Error('credentials write-back needs the Secret name, key and namespace');
  const base =
    env[CREDENTIALS_ENV.apiUrl] ||
    `https://${env.KUBERNETES_SERVICE_HOST ?? 'kubernetes.default.svc'}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  const token = (await readFile(env[CREDENTIALS_ENV.tokenFile] || path.join(SA_DIR, 'token'), 'utf8')).trim();
  const ca = await readFile(env[CREDENTIALS_ENV.caFile] || path.join(SA_DIR, 'ca.crt')).catch(
    () => undefined,
  );
  const url = new URL(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    base,
  );
  const body = JSON.stringify({ data: { [key]: Buffer.from(content).toString('base64') } });
  await new Promise<void>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'PATCH',
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/merge-patch+json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode && res.statusCode < 300) return resolve();
          reject(
            new Error(
              `writing credentials back to Secret ${namespace}/${name} failed: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`,
            ),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out writing credentials back')));
    req.on('error', reject);
    req.end(body);
  });
}
