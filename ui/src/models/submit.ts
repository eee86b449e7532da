// The submit form: pickers filled from the API, the request body built from the form, and the
// API's validation issues mapped back onto the fields that caused them; attached files are
// uploaded as soon as they are chosen and their upload ids sent as `attachments`.
import { signal } from '@preact/signals';
import { type ApiError, api, upload } from '../lib/api.ts';
import { loadable } from '../lib/load.ts';
import type { AiAgent, AiModel, List } from '../lib/types.ts';

export interface SubmitForm {
  agent: string;
  model: string;
  prompt: string;
  repositoryUrl: string;
  ref: string;
  branch: string;
  pullRequest: boolean;
  timeoutSeconds: string;
  priority: string;
  labels: string;
}

/** A file chosen for the request: uploading, uploaded (with its id) or refused. */
export interface Attachment {
  key: number;
  name: string;
  state: 'uploading' | 'done' | 'error';
  id?: string;
  size?: number;
  error?: string;
}

export const emptyForm = (): SubmitForm => ({
  agent: '',
  model: '',
  prompt: '',
  repositoryUrl: '',
  ref: '',
  branch: '',
  pullRequest: false,
  timeoutSeconds: '',
  priority: '',
  labels: '',
});

/** Body path (from the API's details) → the form field that shows it. */
const FIELD_OF: [RegExp, keyof SubmitForm | 'attachments'][] = [
  [/^agent\b/, 'agent'],
  [/^model\b/, 'model'],
  [/^prompt\b/, 'prompt'],
  [/^repository\.ref\b/, 'ref'],
  [/^repository\.branch\b/, 'branch'],
  [/^repository\.pullRequest\b/, 'pullRequest'],
  [/^repository\b/, 'repositoryUrl'],
  [/^timeoutSeconds\b/, 'timeoutSeconds'],
  [/^priority\b/, 'priority'],
  [/^labels\b/, 'labels'],
  [/^attachments\b/, 'attachments'],
];

export type FieldErrors = Partial<Record<keyof SubmitForm | 'attachments' | 'form', string>>;

export function fieldErrors(err: ApiError): FieldErrors {
  const out: FieldErrors = {};
  for (const i of err.issues) {
    const field = FIELD_OF.find(([re]) => re.test(i.path))?.[1] ?? 'form';
    const msg = field === 'form' && i.path ? `${i.path}: ${i.message}` : i.message;
    out[field] = out[field] ? `${out[field]}; ${msg}` : msg;
  }
  return out;
}

/** Builds the POST /api/jobs body, or the client-side errors that stop it from being sent. */
export function buildBody(
  f: SubmitForm,
  attachments: readonly string[] = [],
): { body?: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = { agent: f.agent, prompt: f.prompt };
  if (!f.agent) errors.agent = 'Choose an agent.';
  if (!f.prompt.trim()) errors.prompt = 'Write a prompt.';
  if (f.model) body.model = f.model;
  const url = f.repositoryUrl.trim();
  if (url) {
    body.repository = {
      url,
      ...(f.ref.trim() && { ref: f.ref.trim() }),
      ...(f.branch.trim() && { branch: f.branch.trim() }),
      pullRequest: f.pullRequest,
    };
  } else if (f.ref.trim() || f.branch.trim() || f.pullRequest) {
    errors.repositoryUrl = 'A repository URL is needed for a ref, branch or pull request.';
  }
  for (const k of ['timeoutSeconds', 'priority'] as const) {
    const v = f[k].trim();
    if (!v) continue;
    const n = Number(v);
    if (!Number.isInteger(n)) errors[k] = 'Must be a whole number.';
    else body[k] = n;
  }
  const labels: Record<string, string> = {};
  for (const line of f.labels.split(/[\n,]/)) {
    const t = line.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) {
      errors.labels = `"${t}" is not key=value.`;
      continue;
    }
    labels[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  if (Object.keys(labels).length) body.labels = labels;
  if (attachments.length) body.attachments = [...attachments];
  return Object.keys(errors).length ? { errors } : { body, errors };
}

export function createSubmitModel() {
  const form = signal<SubmitForm>(emptyForm());
  const errors = signal<FieldErrors>({});
  const failure = signal<ApiError | undefined>(undefined);
  const submitting = signal(false);
  const files = signal<Attachment[]>([]);
  let keys = 0;
  const update = (key: number, a: Partial<Attachment>) => {
    files.value = files.value.map((f) => (f.key === key ? { ...f, ...a } : f));
  };
  const agents = loadable((s) => api.get<List<AiAgent>>('/api/resources/agents', s));
  const models = loadable((s) => api.get<List<AiModel>>('/api/resources/models', s));
  return {
    form,
    errors,
    failure,
    submitting,
    agents,
    models,
    files,
    /** Uploads each file; its id is attached once the upload is done. */
    attach(list: Iterable<File>) {
      for (const file of list) {
        const key = ++keys;
        files.value = [...files.value, { key, name: file.name, state: 'uploading' }];
        upload<{ id: string; size: number }>(file).then(
          (r) => update(key, { state: 'done', id: r.id, size: r.size }),
          (err: ApiError) => update(key, { state: 'error', error: err.message }),
        );
      }
      if (errors.value.attachments) errors.value = { ...errors.value, attachments: undefined };
    },
    /** Drops a file from the request; an uploaded one is deleted (cleanup catches any left). */
    detach(key: number) {
      const id = files.value.find((f) => f.key === key)?.id;
      files.value = files.value.filter((f) => f.key !== key);
      if (id) api.del(`/api/uploads/${encodeURIComponent(id)}`).catch(() => {});
    },
    set<K extends keyof SubmitForm>(k: K, v: SubmitForm[K]) {
      form.value = { ...form.value, [k]: v };
      if (errors.value[k]) errors.value = { ...errors.value, [k]: undefined };
    },
    /** Resolves to the new request's id, or undefined with `errors` / `failure` set. */
    async submit(): Promise<string | undefined> {
      const ids = files.value.flatMap((f) => (f.id ? [f.id] : []));
      const { body, errors: local } = buildBody(form.value, ids);
      if (files.value.some((f) => f.state === 'uploading'))
        local.attachments = 'Wait for the uploads to finish.';
      else if (files.value.some((f) => f.state === 'error'))
        local.attachments = 'Remove the files that could not be uploaded, or try them again.';
      errors.value = local;
      failure.value = undefined;
      if (!body || local.attachments) return undefined;
      submitting.value = true;
      try {
        return (await api.post<{ id: string }>('/api/jobs', body)).id;
      } catch (err) {
        const e = err as ApiError;
        const mapped = e.status === 400 || e.status === 422 ? fieldErrors(e) : {};
        errors.value = mapped;
        if (!Object.keys(mapped).length || mapped.form) failure.value = e;
        return undefined;
      } finally {
        submitting.value = false;
      }
    },
  };
}
export type SubmitModel = ReturnType<typeof createSubmitModel>;
