// The webhook receiver, independent of HTTP framing: look the source up, check the signature,
// parse, match rules, create one InferenceRequest per matched rule (named from the delivery id, so
// redeliveries and concurrent duplicates make one), apply the rule's concurrency policy, and write
// the delivery to the source's ledger.
import { createHash } from 'node:crypto';
import {
  type InferenceRequest,
  type InferenceRequestSpecInput,
  inferenceRequestSpec,
  isTerminal,
  type WebhookRule,
  type WebhookSource,
} from '../../api/v1alpha1/index.ts';
import { nameFromKey } from '../../api/v1alpha1/names.ts';
import { ApiError } from '../lib/errors.ts';
import { isKubeError, type Kube, type KubeObject } from '../lib/kube.ts';
import { kubeToApiError } from '../lib/kube-errors.ts';
import type { Logger } from '../lib/log.ts';
import {
  createLedger,
  type DeliveryOutcome,
  type Ledger,
  type LedgerEntry,
  type LedgerRequest,
} from './ledger.ts';
import { type DeliveryFacts, deliveryFacts, matchRules, type RuleMatch, type RuleMiss } from './rules.ts';
import { type SignatureRefusal, verifySignature } from './signature.ts';
import { createSourceCache, type WebhookCore } from './store.ts';
import { renderTemplate, TemplateError, toView } from './template.ts';

export const LABEL = {
  partOf: 'app.kubernetes.io/part-of',
  source: 'labrats.work/source',
  webhookSource: 'labrats.work/webhook-source',
  rule: 'labrats.work/webhook-rule',
  agent: 'labrats.work/agent',
  caller: 'labrats.work/caller',
  concurrencyKey: 'labrats.work/concurrency-key',
} as const;
export const ANNOTATION = {
  delivery: 'labrats.work/webhook-delivery',
  event: 'labrats.work/webhook-event',
  receivedAt: 'labrats.work/received-at',
} as const;

const DEFAULT_HEADERS = {
  github: { delivery: 'X-GitHub-Delivery', event: 'X-GitHub-Event' },
  gitlab: { delivery: 'X-Gitlab-Event-UUID', event: 'X-Gitlab-Event' },
  generic: { delivery: 'X-Delivery-Id', event: 'X-Event-Type' },
} as const;

export interface ReceiverDeps {
  kube: Kube;
  core: WebhookCore;
  log: Logger;
  now?: () => number;
  ledger?: Ledger;
  /** How long a source and its secret are cached (default 5 s). */
  sourceCacheMs?: number;
  /**
   * Answer before the delivery's ledger entry is stored (default true): the answer waits only for
   * the requests. Entries are written within about a second (group commit); when more than
   * `maxPendingLedger` wait, answers wait for theirs again (back-pressure).
   */
  answerBeforeLedger?: boolean;
  maxPendingLedger?: number;
}

export interface DeliveryAnswer {
  status: 200 | 202;
  body: {
    delivery: string;
    event: string;
    action?: string;
    outcome: DeliveryOutcome;
    message: string;
    requests: (LedgerRequest & { links?: { self: string } })[];
    misses?: RuleMiss[];
    replayOf?: string;
  };
}

export interface Receiver {
  /** A delivery as received: raw body and headers. Throws ApiError (404, 401, 400, 503). */
  receive(sourceName: string, headers: Headers, body: Uint8Array): Promise<DeliveryAnswer>;
  /** Runs a kept delivery again under the current rules, as a new delivery. */
  replay(sourceName: string, id: string): Promise<DeliveryAnswer>;
  deliveries(sourceName: string, limit?: number): Promise<LedgerEntry[]>;
  /** Whether the source exists (cached): a delivery for another gets 404 before its body is read. */
  exists(sourceName: string): Promise<boolean>;
  readonly ledger: Ledger;
}

const hash = (s: string, n = 40) => createHash('sha256').update(s).digest('hex').slice(0, n);
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const isLabelValue = (v: string) => v.length <= 63 && LABEL_VALUE.test(v);
const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** `wh-<source>-<hash>`: deterministic per (source, delivery, rule[, replay]). */
export function requestName(source: string, deliveryId: string, rule: string, replayId?: string): string {
  const prefix = `wh-${source.slice(0, 24).replace(/[-.]+$/, '')}`;
  return nameFromKey(prefix, JSON.stringify([source, deliveryId, rule, ...(replayId ? [replayId] : [])]));
}

/** The caller the controller's fair share sees for a source. */
export const sourceCaller = (source: string) => `webhook-${source}`.slice(0, 63).replace(/[-.]+$/, '');

function repositoryDefaults(type: WebhookSource['spec']['type'], event: string) {
  if (type === 'github') {
    const pr =
      event === 'pull_request' || event === 'pull_request_review' || event === 'pull_request_review_comment';
    return {
      url: '{{repository.clone_url}}',
      ref: pr ? '{{pull_request.head.sha}}' : event === 'push' ? '{{after}}' : '',
      branch: pr ? '{{pull_request.head.ref}}' : event === 'push' ? '{{webhook.branch}}' : '',
    };
  }
  if (type === 'gitlab') {
    return {
      url: '{{project.git_http_url}}',
      ref:
        event === 'merge_request'
          ? '{{object_attributes.last_commit.id}}'
          : event === 'push'
            ? '{{checkout_sha}}'
            : '',
      branch:
        event === 'merge_request'
          ? '{{object_attributes.source_branch}}'
          : event === 'push'
            ? '{{webhook.branch}}'
            : '',
    };
  }
  return { url: '', ref: '', branch: '' };
}

export interface BuiltRequest {
  spec: InferenceRequestSpecInput;
  concurrencyKey?: string;
}

/** The request spec a matched rule asks for, rendered from the payload; throws TemplateError. */
export function buildRequestSpec(
  source: WebhookSource,
  match: RuleMatch,
  facts: DeliveryFacts,
  payload: Record<string, unknown>,
  deliveryId: string,
): BuiltRequest {
  const rule = match.rule;
  const view = toView(payload) as Record<string, unknown>;
  view.webhook = toView({
    source: source.metadata.name,
    deliveryId,
    event: facts.event,
    action: facts.action ?? '',
    repository: facts.repository ?? '',
    branch: facts.branch ?? '',
    sender: facts.sender ?? '',
    number: facts.number ?? '',
    labels: facts.labels,
    label: facts.changedLabel ?? '',
    command: match.command ?? { name: '', args: '' },
  });
  const prompt = renderTemplate(rule.promptTemplate, view, { kind: 'text' }).trim();
  if (!prompt) throw new TemplateError('promptTemplate rendered an empty prompt');
  const spec: InferenceRequestSpecInput = {
    agent: rule.agent,
    prompt,
    priority: rule.priority ?? 0,
    source: { kind: 'webhook', name: source.metadata.name, deliveryId },
    caller: sourceCaller(source.metadata.name),
  };
  if (rule.model) spec.model = rule.model;
  if (rule.repository) {
    const d = repositoryDefaults(source.spec.type, facts.event);
    const token = (t: string | undefined, def: string) => renderTemplate(t ?? def, view, { kind: 'token' });
    const url = token(rule.repository.urlTemplate, d.url);
    if (!url) throw new TemplateError('repository.urlTemplate rendered an empty URL');
    const ref = token(rule.repository.refTemplate, d.ref);
    const branch = token(rule.repository.branchTemplate, d.branch);
    spec.repository = {
      url,
      ...(ref ? { ref } : {}),
      ...(branch ? { branch } : {}),
      pullRequest: rule.repository.pullRequest ?? false,
    };
  }
  let concurrencyKey: string | undefined;
  if (rule.concurrencyKey) {
    const key = renderTemplate(rule.concurrencyKey, view, { kind: 'token' });
    if (key) {
      concurrencyKey = key.length > 253 ? `${key.slice(0, 180)}#${hash(key, 64)}` : key;
      spec.concurrencyKey = concurrencyKey;
    }
  }
  return concurrencyKey ? { spec, concurrencyKey } : { spec };
}

function headerId(value: string | null): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  return DELIVERY_ID.test(v) ? v : `h-${hash(v, 40)}`;
}

interface Incoming {
  source: WebhookSource;
  deliveryId: string;
  event: string;
  payload: Record<string, unknown>;
  body: string;
  receivedAt: number;
  replayOf?: string;
  replayId?: string;
}

export function createReceiver(deps: ReceiverDeps): Receiver {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const sources = createSourceCache(deps.kube, deps.core, { ttlMs: deps.sourceCacheMs ?? 5000, now });
  const ledger = deps.ledger ?? createLedger({ core: deps.core, log, now });
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  async function lookup(name: string) {
    if (!name || name.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
      throw new ApiError('not_found', 'webhook source not found');
    }
    let found: Awaited<ReturnType<typeof sources.get>>;
    try {
      found = await sources.get(name);
    } catch (e) {
      throw kubeToApiError(e, 'webhook source');
    }
    if (!found) throw new ApiError('not_found', `webhook source "${name}" not found`);
    return found;
  }

  const background = deps.answerBeforeLedger ?? true;
  const maxPending = deps.maxPendingLedger ?? 1000;
  async function record(incoming: Incoming, entry: Omit<LedgerEntry, 'key' | 'id' | 'receivedAt'>) {
    try {
      const written = ledger.record(
        incoming.source,
        {
          id: incoming.deliveryId,
          receivedAt: new Date(incoming.receivedAt).toISOString(),
          ...(incoming.replayOf ? { replayOf: incoming.replayOf } : {}),
          ...entry,
        },
        incoming.body,
      );
      written.catch(() => {}); // logged by the ledger
      if (!background || ledger.pending > maxPending) await written;
    } catch {
      // logged by the ledger; the delivery's requests exist regardless
    }
  }

  async function activeWithKey(key: string): Promise<InferenceRequest[]> {
    const list = await deps.kube.list<KubeObject>('InferenceRequest', {
      labelSelector: `${LABEL.concurrencyKey}=${hash(key)}`,
    });
    return (list.items as unknown as InferenceRequest[]).filter(
      (r) => r.spec.concurrencyKey === key && !r.spec.cancel && !isTerminal(r.status?.phase),
    );
  }

  const order = (r: { metadata: { name: string; annotations?: Record<string, string> } }) =>
    `${r.metadata.annotations?.[ANNOTATION.receivedAt] ?? ''}|${r.metadata.name}`;

  async function handleMatch(
    incoming: Incoming,
    facts: DeliveryFacts,
    match: RuleMatch,
  ): Promise<LedgerRequest> {
    const src = incoming.source;
    const rule: WebhookRule = match.rule;
    const name = requestName(src.metadata.name, incoming.deliveryId, rule.name, incoming.replayId);
    let built: BuiltRequest;
    try {
      built = buildRequestSpec(src, match, facts, incoming.payload, incoming.deliveryId);
    } catch (e) {
      if (e instanceof TemplateError) return { name, rule: rule.name, result: 'error', detail: e.message };
      throw e;
    }
    const parsed = inferenceRequestSpec.safeParse(built.spec);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
      return { name, rule: rule.name, result: 'error', detail: `the rendered request is invalid: ${detail}` };
    }
    const key = built.concurrencyKey;
    const policy = rule.concurrencyPolicy ?? 'queue';
    if (key && policy === 'skip') {
      const active = (await activeWithKey(key)).filter((r) => r.metadata.name !== name);
      if (active.length) {
        return {
          name,
          rule: rule.name,
          result: 'skipped',
          detail: `"${active[0]!.metadata.name}" with the same concurrency key is still active`,
        };
      }
    }
    const receivedAt = new Date(incoming.receivedAt).toISOString();
    const labels: Record<string, string> = {
      [LABEL.partOf]: 'ai-agents',
      [LABEL.source]: 'webhook',
      [LABEL.rule]: rule.name,
      [LABEL.caller]: sourceCaller(src.metadata.name),
    };
    if (isLabelValue(src.metadata.name)) labels[LABEL.webhookSource] = src.metadata.name;
    if (isLabelValue(rule.agent)) labels[LABEL.agent] = rule.agent;
    if (key) labels[LABEL.concurrencyKey] = hash(key);
    const body = {
      apiVersion: 'labrats.work/v1alpha1',
      kind: 'InferenceRequest',
      metadata: {
        name,
        labels,
        annotations: {
          [ANNOTATION.delivery]: incoming.deliveryId,
          [ANNOTATION.event]: facts.action ? `${facts.event}.${facts.action}` : facts.event,
          [ANNOTATION.receivedAt]: receivedAt,
        },
      },
      spec: built.spec as Record<string, unknown>,
    };
    try {
      await deps.kube.create('InferenceRequest', body);
    } catch (e) {
      if (isKubeError(e, 409)) return { name, rule: rule.name, result: 'duplicate' };
      throw e;
    }
    if (key && policy === 'cancel-previous') {
      // Cancel every older active request with the key. "Older" is a total order (receive time,
      // then name), so two deliveries racing never cancel each other.
      const mine = order(body);
      const older = (await activeWithKey(key)).filter((r) => r.metadata.name !== name && order(r) < mine);
      const cancelled: string[] = [];
      for (const r of older) {
        try {
          await deps.kube.patch('InferenceRequest', r.metadata.name, { spec: { cancel: true } });
          cancelled.push(r.metadata.name);
        } catch (e) {
          if (!isKubeError(e, 404)) throw e;
        }
      }
      if (cancelled.length)
        return { name, rule: rule.name, result: 'created', detail: `cancelled ${cancelled.join(', ')}` };
    }
    return { name, rule: rule.name, result: 'created' };
  }

  async function process(incoming: Incoming, facts: DeliveryFacts): Promise<DeliveryAnswer> {
    const src = incoming.source;
    const base = {
      delivery: incoming.deliveryId,
      event: facts.event,
      ...(facts.action ? { action: facts.action } : {}),
      ...(incoming.replayOf ? { replayOf: incoming.replayOf } : {}),
    };
    const ledgerBase = { event: facts.event, ...(facts.action ? { action: facts.action } : {}) };
    if (src.spec.suspend) {
      await record(incoming, { ...ledgerBase, outcome: 'suspended', matched: [], requests: [] });
      return {
        status: 200,
        body: { ...base, outcome: 'suspended', message: 'the webhook source is suspended', requests: [] },
      };
    }
    const { matches, misses } = matchRules(src.spec.rules ?? [], facts);
    if (!matches.length) {
      await record(incoming, { ...ledgerBase, outcome: 'no_match', matched: [], misses, requests: [] });
      return {
        status: 200,
        body: {
          ...base,
          outcome: 'no_match',
          message: misses.length ? 'no rule matched' : 'no rule matched: the source has no rules',
          requests: [],
          misses,
        },
      };
    }
    const matched = matches.map((m) => m.rule.name);
    let results: LedgerRequest[];
    try {
      results = await Promise.all(matches.map((m) => handleMatch(incoming, facts, m)));
    } catch (e) {
      log.warn('webhook delivery failed', {
        source: src.metadata.name,
        delivery: incoming.deliveryId,
        error: String(e).slice(0, 300),
      });
      await record(incoming, {
        ...ledgerBase,
        outcome: 'failed',
        matched,
        requests: [],
        message: String(e instanceof Error ? e.message : e).slice(0, 500),
      });
      throw kubeToApiError(e, 'inference request');
    }
    const has = (r: LedgerRequest['result']) => results.some((x) => x.result === r);
    const outcome: DeliveryOutcome = has('created')
      ? 'created'
      : has('duplicate')
        ? 'duplicate'
        : has('error')
          ? 'rule_error'
          : 'skipped';
    await record(incoming, {
      ...ledgerBase,
      outcome,
      matched,
      ...(misses.length ? { misses } : {}),
      requests: results,
    });
    const requests = results.map((r) =>
      r.result === 'created' || r.result === 'duplicate'
        ? { ...r, links: { self: `/api/jobs/${r.name}` } }
        : r,
    );
    const message = {
      created: 'requests created',
      duplicate: 'delivery already processed',
      rule_error: 'a matching rule could not build a request',
      skipped: 'skipped: a request with the same concurrency key is active',
    }[outcome as 'created' | 'duplicate' | 'rule_error' | 'skipped'];
    return {
      status: outcome === 'created' || outcome === 'duplicate' ? 202 : 200,
      body: { ...base, outcome, message, requests, ...(misses.length ? { misses } : {}) },
    };
  }

  function parse(text: string): Record<string, unknown> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new ApiError(
        'bad_request',
        'the body is not JSON (send the webhook with content type application/json)',
      );
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new ApiError('bad_request', 'the body must be a JSON object');
    }
    return payload as Record<string, unknown>;
  }

  return {
    ledger,
    async exists(name) {
      try {
        return (await sources.get(name)) !== undefined;
      } catch {
        return false;
      }
    },
    async receive(sourceName, headers, raw) {
      const receivedAt = now();
      const { source, secret } = await lookup(sourceName);
      if (!secret) {
        log.error('webhook source secret missing', {
          source: sourceName,
          secret: source.spec.secretRef.name,
        });
        throw new ApiError('upstream_unavailable', 'the webhook source is not ready', {
          headers: { 'Retry-After': '5' },
        });
      }
      const text = decoder.decode(raw);
      const sig = await verifySignature(source.spec, secret, { headers, body: raw, text }, receivedAt);
      if (!sig.ok) {
        log.info('webhook signature rejected', { source: sourceName, reason: sig.reason });
        const messages: Record<SignatureRefusal, string> = {
          missing: 'signature missing',
          missing_timestamp: `signature timestamp missing (header ${source.spec.signature?.timestampHeader})`,
          stale: 'signature timestamp outside the tolerance',
          invalid: 'signature does not match',
        };
        throw new ApiError('unauthorized', messages[sig.reason]);
      }
      const payload = parse(text);
      const type = source.spec.type;
      const event = headers.get(source.spec.eventHeader ?? DEFAULT_HEADERS[type].event) ?? undefined;
      const facts = deliveryFacts(type, payload, event);
      const deliveryId =
        headerId(headers.get(source.spec.deliveryIdHeader ?? DEFAULT_HEADERS[type].delivery)) ??
        `sha256-${hash(text, 40)}`;
      return process({ source, deliveryId, event: facts.event, payload, body: text, receivedAt }, facts);
    },
    async replay(sourceName, id) {
      const { source } = await lookup(sourceName);
      const kept = await ledger.payload(sourceName, id);
      if (!kept) throw new ApiError('not_found', `delivery "${id}" not found, or its body is no longer kept`);
      const payload = parse(kept.body);
      const receivedAt = now();
      const facts = deliveryFacts(source.spec.type, payload, kept.entry.event);
      const replayId = `replay-${receivedAt}-${Math.floor(Math.random() * 1e9)}`;
      return process(
        {
          source,
          deliveryId: kept.entry.id,
          event: kept.entry.event,
          payload,
          body: kept.body,
          receivedAt,
          replayOf: kept.entry.key,
          replayId,
        },
        facts,
      );
    },
    async deliveries(sourceName, limit) {
      await lookup(sourceName);
      return ledger.list(sourceName, limit);
    },
  };
}
