// A webhook source's delivery ledger and replays.
import { signal } from '@preact/signals';
import { type ApiError, api, enc } from '../lib/api.ts';
import { loadable } from '../lib/load.ts';
import type { Delivery, DeliveryRequest, List } from '../lib/types.ts';

export const requestName = (r: DeliveryRequest) => (typeof r === 'string' ? r : r.name);

export function createLedgerModel(source: string) {
  const base = `/api/webhooks/${enc(source)}/deliveries`;
  const deliveries = loadable((s) => api.get<List<Delivery>>(base, s));
  const replaying = signal<string | undefined>(undefined);
  const replayed = signal<{ id: string; message?: string; requests: string[] } | undefined>(undefined);
  const replayError = signal<ApiError | undefined>(undefined);
  return {
    source,
    deliveries,
    replaying,
    replayed,
    replayError,
    async replay(id: string) {
      replaying.value = id;
      replayError.value = undefined;
      replayed.value = undefined;
      try {
        const r = await api.post<{ message?: string; requests?: DeliveryRequest[] } | undefined>(
          `${base}/${enc(id)}/replay`,
        );
        replayed.value = {
          id,
          ...(r?.message && { message: r.message }),
          requests: (r?.requests ?? []).map(requestName),
        };
        await deliveries.load();
      } catch (err) {
        replayError.value = err as ApiError;
      } finally {
        replaying.value = undefined;
      }
    },
  };
}
export type LedgerModel = ReturnType<typeof createLedgerModel>;
