// Shared bits of the housekeeping CronJob programs: JSON-line logs, flag parsing and the
// Kubernetes client (in-cluster config inside the Job, KUBECONFIG elsewhere).
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export const jsonLog =
  (program: string): Log =>
  (level, msg, fields = {}) => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, program, msg, ...fields });
    (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
  };

/** --name value / --name=value / --flag; unknown flags are an error so typos never go unnoticed. */
export function parseFlags(
  argv: string[],
  spec: Record<string, 'string' | 'number' | 'boolean'>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const type = spec[rawName];
    if (!type)
      throw new Error(
        `unknown flag --${rawName} (known: ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(', ')})`,
      );
    if (type === 'boolean') {
      out[rawName] = inline === undefined ? true : inline === 'true';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${rawName} needs a value`);
    if (type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0)
        throw new Error(`--${rawName} must be a non-negative number (got "${value}")`);
      out[rawName] = n;
    } else out[rawName] = value;
  }
  return out;
}

export interface Kube {
  namespace: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

export function kubeFromEnvironment(): Kube {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const namespace =
    process.env.NAMESPACE || kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
  return { namespace, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

export function kubeFrom(kc: KubeConfig, namespace: string): Kube {
  return { namespace, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

export const GROUP = { group: 'labrats.work', version: 'v1alpha1' } as const;

/** Lists every item of a namespaced custom resource, following `continue` tokens. */
export async function listAll<T>(kube: Kube, plural: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = (await kube.custom.listNamespacedCustomObject({
      ...GROUP,
      namespace: kube.namespace,
      plural,
      limit: 500,
      _continue: next,
    })) as { items: T[]; metadata?: { _continue?: string; continue?: string } };
    items.push(...page.items);
    next = page.metadata?.continue ?? page.metadata?._continue;
  } while (next);
  return items;
}
