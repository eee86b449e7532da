// What a delivery is about (event, action, labels, repository, branch, sender, comment) for each
// source type, and which rules it matches. Every rule that does not match says why, so the
// answer and the delivery ledger can explain "no rule matched".
import type { WebhookRule, WebhookSourceSpec } from '../../api/v1alpha1/index.ts';

export interface DeliveryFacts {
  event: string;
  action?: string;
  /** The label just added or removed (labeled/unlabeled), else undefined. */
  changedLabel?: string;
  /** Labels currently on the issue, pull/merge request. */
  labels: string[];
  repository?: string;
  branch?: string;
  sender?: string;
  /** Comment text for comment events. */
  comment?: string;
  /** Issue or pull/merge request number. */
  number?: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const names = (v: unknown, key = 'name'): string[] =>
  Array.isArray(v)
    ? v.flatMap((x) => {
        const s = typeof x === 'string' ? x : (str(obj(x)?.[key]) ?? str(obj(x)?.title));
        return s ? [s] : [];
      })
    : [];
const branchOf = (ref: string | undefined): string | undefined =>
  ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;

/** GitLab's `object_kind` values, named as rules are written (issue, merge_request, note, push …). */
function gitlabFacts(payload: Json, eventHeader: string | undefined): DeliveryFacts {
  const attrs = obj(payload.object_attributes) ?? {};
  const project = obj(payload.project) ?? {};
  const kind = str(payload.object_kind) ?? str(payload.event_name) ?? eventHeader ?? 'unknown';
  const mr = obj(payload.merge_request);
  const labels = names(payload.labels, 'title');
  const facts: DeliveryFacts = {
    event: kind,
    labels: labels.length ? labels : names(attrs.labels, 'title'),
  };
  const action = str(attrs.action);
  if (action) facts.action = action;
  const repo = str(project.path_with_namespace);
  if (repo) facts.repository = repo;
  const branch =
    branchOf(str(payload.ref)) ?? str(attrs.target_branch) ?? str(mr?.target_branch) ?? undefined;
  if (branch) facts.branch = branch;
  const sender = str(payload.user_username) ?? str(obj(payload.user)?.username);
  if (sender) facts.sender = sender;
  if (kind === 'note') {
    const note = str(attrs.note);
    if (note !== undefined) facts.comment = note;
  }
  const n = num(attrs.iid) ?? num(mr?.iid) ?? num(obj(payload.issue)?.iid);
  if (n !== undefined) facts.number = n;
  return facts;
}

function githubFacts(payload: Json, event: string): DeliveryFacts {
  const item = obj(payload.pull_request) ?? obj(payload.issue);
  const facts: DeliveryFacts = { event, labels: names(item?.labels) };
  const action = str(payload.action);
  if (action) facts.action = action;
  const changed = str(obj(payload.label)?.name);
  if (changed) facts.changedLabel = changed;
  const repo = str(obj(payload.repository)?.full_name);
  if (repo) facts.repository = repo;
  const pr = obj(payload.pull_request);
  const branch = branchOf(str(payload.ref)) ?? str(obj(pr?.base)?.ref);
  if (branch) facts.branch = branch;
  const sender = str(obj(payload.sender)?.login);
  if (sender) facts.sender = sender;
  const comment = str(obj(payload.comment)?.body);
  if (comment !== undefined) facts.comment = comment;
  const n = num(payload.number) ?? num(item?.number);
  if (n !== undefined) facts.number = n;
  return facts;
}

function genericFacts(payload: Json, event: string | undefined): DeliveryFacts {
  const facts = githubFacts(payload, event ?? str(payload.event) ?? str(payload.type) ?? 'unknown');
  if (!facts.repository) {
    const repo = str(payload.repository);
    if (repo) facts.repository = repo;
  }
  if (!facts.branch) {
    const b = str(payload.branch);
    if (b) facts.branch = b;
  }
  if (!facts.sender) {
    const s = str(payload.sender);
    if (s) facts.sender = s;
  }
  return facts;
}

/** Facts from a parsed payload and the event header's value (if the source has one). */
export function deliveryFacts(
  type: WebhookSourceSpec['type'],
  payload: Json,
  eventHeader?: string,
): DeliveryFacts {
  if (type === 'gitlab') return gitlabFacts(payload, eventHeader);
  if (type === 'github') return githubFacts(payload, eventHeader ?? 'unknown');
  return genericFacts(payload, eventHeader);
}

/** `*` matches any run of characters; comparison ignores case (GitHub names do). */
export function globMatch(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (!p.includes('*')) return p === v;
  const re = new RegExp(`^${p.split('*').map(escapeRe).join('.*')}$`, 's');
  return re.test(v);
}
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The command on a line of the comment: `/ai review please` → {name: '/ai review', args: 'please'}. */
export function findCommand(comment: string, command: string): { name: string; args: string } | undefined {
  const want = command.trim().toLowerCase();
  for (const raw of comment.split(/\r?\n/)) {
    const line = raw.trim();
    const lower = line.toLowerCase();
    if (lower === want) return { name: command.trim(), args: '' };
    if (lower.startsWith(want) && /\s/.test(line[want.length] ?? '')) {
      return { name: command.trim(), args: line.slice(want.length).trim() };
    }
  }
  return undefined;
}

export interface RuleMatch {
  rule: WebhookRule;
  command?: { name: string; args: string };
}

export interface RuleMiss {
  rule: string;
  reason: string;
}

/** Why a rule does not match, or undefined (with the command it found) when it does. */
export function matchRule(
  rule: WebhookRule,
  f: DeliveryFacts,
): { ok: true; command?: { name: string; args: string } } | { ok: false; reason: string } {
  const no = (reason: string) => ({ ok: false as const, reason });
  if (rule.event !== '*' && rule.event !== f.event)
    return no(`event is "${f.event}", rule wants "${rule.event}"`);
  if (rule.actions?.length && !rule.actions.includes(f.action ?? '')) {
    return no(`action is "${f.action ?? ''}", rule wants one of ${rule.actions.join(', ')}`);
  }
  const flt = rule.filters;
  if (flt?.senders?.deny?.length && f.sender && flt.senders.deny.some((p) => globMatch(p, f.sender!))) {
    return no(`sender "${f.sender}" is denied`);
  }
  if (flt?.senders?.allow?.length && !(f.sender && flt.senders.allow.some((p) => globMatch(p, f.sender!)))) {
    return no(`sender "${f.sender ?? ''}" is not allowed`);
  }
  if (
    flt?.repositories?.length &&
    !(f.repository && flt.repositories.some((p) => globMatch(p, f.repository!)))
  ) {
    return no(`repository "${f.repository ?? ''}" is not in the rule's repositories`);
  }
  if (flt?.branches?.length && !(f.branch && flt.branches.some((p) => globMatch(p, f.branch!)))) {
    return no(`branch "${f.branch ?? ''}" is not in the rule's branches`);
  }
  if (flt?.labels?.length) {
    // A labeled/unlabeled event is about the label that changed; anything else about the
    // labels the item carries.
    const candidates = f.changedLabel !== undefined ? [f.changedLabel] : f.labels;
    if (!candidates.some((l) => flt.labels!.some((p) => globMatch(p, l)))) {
      return no(
        f.changedLabel !== undefined
          ? `label "${f.changedLabel}" is not one of ${flt.labels.join(', ')}`
          : `no label among ${flt.labels.join(', ')}`,
      );
    }
  }
  if (flt?.command) {
    if (f.comment === undefined)
      return no(`rule wants command "${flt.command}" but the event has no comment`);
    const command = findCommand(f.comment, flt.command);
    if (!command) return no(`comment has no "${flt.command}" command`);
    return { ok: true, command };
  }
  return { ok: true };
}

export function matchRules(
  rules: readonly WebhookRule[],
  facts: DeliveryFacts,
): { matches: RuleMatch[]; misses: RuleMiss[] } {
  const matches: RuleMatch[] = [];
  const misses: RuleMiss[] = [];
  for (const rule of rules) {
    const r = matchRule(rule, facts);
    if (r.ok) matches.push(r.command ? { rule, command: r.command } : { rule });
    else misses.push({ rule: rule.name, reason: r.reason });
  }
  return { matches, misses };
}
