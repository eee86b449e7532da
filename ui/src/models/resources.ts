// Models, agents, instructions, configs and webhook sources: a list, one selected item and the
// admin's create / replace / delete actions.
import { signal } from '@preact/signals';
import { type ApiError, api, enc } from '../lib/api.ts';
import { type Loadable, loadable } from '../lib/load.ts';
import type { AnyResource, Composed, List } from '../lib/types.ts';

export type ResourceKind = 'models' | 'agents' | 'instructions' | 'configs' | 'webhooksources';

export function createResourceModel(kind: ResourceKind) {
  const base = `/api/resources/${kind}`;
  const list = loadable((s) => api.get<List<AnyResource>>(base, s));
  const preview = signal<Loadable<Composed> | undefined>(undefined);
  const busy = signal(false);
  const actionError = signal<ApiError | undefined>(undefined);

  async function act(fn: () => Promise<unknown>): Promise<boolean> {
    busy.value = true;
    actionError.value = undefined;
    try {
      await fn();
      await list.load();
      return true;
    } catch (err) {
      actionError.value = err as ApiError;
      return false;
    } finally {
      busy.value = false;
    }
  }

  return {
    kind,
    list,
    preview,
    busy,
    actionError,
    /** The composition preview of an agent (agents only). */
    loadPreview(name: string) {
      const l = loadable((s) => api.get<Composed>(`${base}/${enc(name)}/preview`, s));
      preview.value = l;
      void l.load();
    },
    create: (body: unknown) => act(() => api.post(base, body)),
    replace: (name: string, body: unknown) => act(() => api.put(`${base}/${enc(name)}`, body)),
    remove: (name: string) => act(() => api.del(`${base}/${enc(name)}`)),
    clearError() {
      actionError.value = undefined;
    },
  };
}
export type ResourceModel = ReturnType<typeof createResourceModel>;
