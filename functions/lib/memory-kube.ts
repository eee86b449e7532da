// An in-memory Kube for unit tests and the cross-runtime behavioural suite. It keeps the parts of
// apiserver behaviour the functions rely on: names unique per kind (409 AlreadyExists), 404s,
// resourceVersion, the status subresource, label selectors, limit/continue, and spec validation
// (422 Invalid with field causes) from the same zod schemas the CRDs are generated from. Pods and
// TokenReviews are what tests put in `pods` and `tokens`.
// Integration tests use the real apiserver instead; this is a convenience, never the proof.
import { definitionOf, type Kind } from '../../api/v1alpha1/index.ts';
import {
  type Kube,
  KubeError,
  type KubeObject,
  type ListOptions,
  type SecretData,
  type TokenReviewStatus,
} from './kube.ts';

const clone = <T>(v: T): T => structuredClone(v);

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: string | undefined,
): boolean {
  if (!selector) return true;
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      const neq = term.indexOf('!=');
      if (neq > 0) return labels?.[term.slice(0, neq)] !== term.slice(neq + 2);
      const eq = term.indexOf('=');
      if (eq > 0) return labels?.[term.slice(0, eq)] === term.slice(term[eq + 1] === '=' ? eq + 2 : eq + 1);
      if (term.startsWith('!')) return labels?.[term.slice(1)] === undefined;
      return labels?.[term] !== undefined;
    });
}

export interface MemoryKube extends Kube {
  /** Secrets visible to listSecrets, with their labels. */
  secrets: { name: string; labels: Record<string, string>; data: Record<string, string> }[];
  /** Pods visible to getPod, by name. */
  pods: Map<string, KubeObject>;
  /** Tokens the TokenReview knows (any other is not authenticated): their audiences and user. */
  tokens: Map<string, { audiences: string[]; user: NonNullable<TokenReviewStatus['user']> }>;
  /** Count of calls by verb (tests read it to prove "no write happened"). */
  calls: Record<string, number>;
  /** Every object of a kind, sorted by name. */
  all(kind: Kind): KubeObject[];
  /** Make the next call of a verb fail with this error (once). */
  failNext(verb: string, err: Error): void;
}

export function createMemoryKube(namespace = 'ai-agents'): MemoryKube {
  const store = new Map<Kind, Map<string, KubeObject>>();
  let rv = 1;
  const failures = new Map<string, Error>();
  const calls: Record<string, number> = {};
  const bucket = (kind: Kind) => {
    let b = store.get(kind);
    if (!b) {
      b = new Map();
      store.set(kind, b);
    }
    return b;
  };
  const enter = (verb: string) => {
    calls[verb] = (calls[verb] ?? 0) + 1;
    const f = failures.get(verb);
    if (f) {
      failures.delete(verb);
      throw f;
    }
  };
  const notFound = (kind: Kind, name: string) =>
    new KubeError(404, 'NotFound', `${definitionOf(kind).plural}.labrats.work "${name}" not found`);
  const validate = (kind: Kind, obj: KubeObject): KubeObject => {
    const def = definitionOf(kind);
    const name = obj.metadata?.name;
    if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      throw new KubeError(422, 'Invalid', `${def.kind} "${name}" is invalid: metadata.name: Invalid value`, [
        { field: 'metadata.name', message: 'Invalid value', reason: 'FieldValueInvalid' },
      ]);
    }
    const parsed = def.spec.safeParse(obj.spec);
    if (!parsed.success) {
      const causes = parsed.error.issues.map((i) => ({
        field: ['spec', ...i.path.map(String)].join('.'),
        message: i.message,
        reason: 'FieldValueInvalid',
      }));
      throw new KubeError(422, 'Invalid', `${def.kind}.labrats.work "${name}" is invalid`, causes);
    }
    if (kind === 'AiInstruction') {
      const s = parsed.data as { type: string; agents?: string[] };
      if (s.type === 'local' && !s.agents?.length) {
        throw new KubeError(422, 'Invalid', `${def.kind}.labrats.work "${name}" is invalid`, [
          {
            field: 'spec',
            message: 'a local instruction must list the agents it applies to',
            reason: 'FieldValueInvalid',
          },
        ]);
      }
    }
    return { ...obj, spec: parsed.data as Record<string, unknown> };
  };

  return {
    namespace,
    secrets: [],
    pods: new Map(),
    tokens: new Map(),
    calls,
    failNext(verb, err) {
      failures.set(verb, err);
    },
    all(kind) {
      return [...bucket(kind).values()]
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
        .map(clone);
    },
    async list<T extends KubeObject>(kind: Kind, opts: ListOptions = {}) {
      enter('list');
      const items = [...bucket(kind).values()]
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
        .filter((o) => matchesSelector(o.metadata.labels, opts.labelSelector));
      const start = opts.continue ? Number(opts.continue) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw new KubeError(400, 'BadRequest', 'invalid continue token');
      const end = opts.limit ? start + opts.limit : items.length;
      const page = items.slice(start, end).map(clone) as T[];
      return end < items.length ? { items: page, continue: String(end) } : { items: page };
    },
    async get<T extends KubeObject>(kind: Kind, name: string) {
      enter('get');
      const o = bucket(kind).get(name);
      if (!o) throw notFound(kind, name);
      return clone(o) as T;
    },
    async create<T extends KubeObject>(kind: Kind, body: KubeObject) {
      enter('create');
      const b = bucket(kind);
      let name = body.metadata?.name;
      if (!name && body.metadata?.generateName) {
        name = `${body.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
      }
      const obj = validate(kind, { ...clone(body), metadata: { ...clone(body.metadata), name: name ?? '' } });
      if (b.has(obj.metadata.name)) {
        throw new KubeError(
          409,
          'AlreadyExists',
          `${definitionOf(kind).plural}.labrats.work "${name}" already exists`,
        );
      }
      const stored: KubeObject = {
        apiVersion: 'labrats.work/v1alpha1',
        kind,
        ...obj,
        metadata: {
          ...obj.metadata,
          namespace,
          uid: crypto.randomUUID(),
          resourceVersion: String(++rv),
          generation: 1,
          creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      };
      delete stored.status;
      b.set(stored.metadata.name, stored);
      return clone(stored) as T;
    },
    async replace<T extends KubeObject>(kind: Kind, name: string, body: KubeObject) {
      enter('replace');
      const b = bucket(kind);
      const cur = b.get(name);
      if (!cur) throw notFound(kind, name);
      if (body.metadata.resourceVersion && body.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        throw new KubeError(
          409,
          'Conflict',
          'the object has been modified; please apply your changes to the latest version',
        );
      }
      const obj = validate(kind, clone(body));
      const stored: KubeObject = {
        ...obj,
        apiVersion: cur.apiVersion,
        kind: cur.kind,
        metadata: {
          ...cur.metadata,
          labels: obj.metadata.labels,
          annotations: obj.metadata.annotations,
          resourceVersion: String(++rv),
          generation:
            (cur.metadata.generation ?? 1) + (JSON.stringify(cur.spec) === JSON.stringify(obj.spec) ? 0 : 1),
        },
        ...(cur.status ? { status: cur.status } : {}),
      };
      b.set(name, stored);
      return clone(stored) as T;
    },
    async patch<T extends KubeObject>(kind: Kind, name: string, patch: unknown) {
      enter('patch');
      const b = bucket(kind);
      const cur = b.get(name);
      if (!cur) throw notFound(kind, name);
      const p = clone(patch) as Record<string, unknown>;
      delete p.status;
      const merged = mergePatch(cur, p) as KubeObject;
      const obj = validate(kind, merged);
      const specChanged = JSON.stringify(cur.spec) !== JSON.stringify(obj.spec);
      const stored = {
        ...obj,
        metadata: {
          ...obj.metadata,
          resourceVersion: String(++rv),
          generation: (cur.metadata.generation ?? 1) + (specChanged ? 1 : 0),
        },
      };
      b.set(name, stored);
      return clone(stored) as T;
    },
    async patchStatus<T extends KubeObject>(kind: Kind, name: string, patch: unknown) {
      enter('patchStatus');
      const b = bucket(kind);
      const cur = b.get(name);
      if (!cur) throw notFound(kind, name);
      const p = (patch ?? {}) as { status?: unknown };
      const status = mergePatch(cur.status ?? {}, p.status ?? {}) as Record<string, unknown>;
      const parsed = definitionOf(kind).status.safeParse(status);
      if (!parsed.success) {
        throw new KubeError(
          422,
          'Invalid',
          `${kind} "${name}" is invalid`,
          parsed.error.issues.map((i) => ({
            field: ['status', ...i.path.map(String)].join('.'),
            message: i.message,
          })),
        );
      }
      const stored = { ...cur, status, metadata: { ...cur.metadata, resourceVersion: String(++rv) } };
      b.set(name, stored);
      return clone(stored) as T;
    },
    async delete(kind: Kind, name: string) {
      enter('delete');
      if (!bucket(kind).delete(name)) throw notFound(kind, name);
    },
    async listSecrets(labelSelector: string): Promise<SecretData[]> {
      enter('listSecrets');
      return this.secrets
        .filter((s) => matchesSelector(s.labels, labelSelector))
        .map((s) => ({ name: s.name, data: { ...s.data } }));
    },
    // as the apiserver: a token is authenticated for the requested audiences it was issued for
    async reviewToken(token: string, audiences: string[]): Promise<TokenReviewStatus> {
      enter('reviewToken');
      const known = this.tokens.get(token);
      if (!known) return { authenticated: false, error: 'invalid bearer token' };
      const valid = audiences.length ? audiences.filter((a) => known.audiences.includes(a)) : known.audiences;
      if (!valid.length) {
        return { authenticated: false, error: 'token audiences is invalid for the target audiences' };
      }
      return { authenticated: true, audiences: valid, user: clone(known.user) };
    },
    async getPod(name: string) {
      enter('getPod');
      const pod = this.pods.get(name);
      if (!pod) throw new KubeError(404, 'NotFound', `pods "${name}" not found`);
      return clone(pod);
    },
  };
}
