// Leader election on a coordination.k8s.io/v1 Lease, following client-go's algorithm: a replica
// takes the Lease when it is free or when the holder has not renewed it for leaseDuration as
// measured on *our* clock (we never compare against the holder's timestamps), renews every
// retryPeriod, and steps down if it cannot renew within renewDeadline. Writes use the Lease's
// resourceVersion, so two candidates can never both win.
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, RESOURCES } from './kube.ts';
import type { Logger } from './log.ts';

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading: () => void;
  /** Called once when leadership is lost; the process should stop acting (usually exit). */
  onStoppedLeading: () => void;
  now?: () => number;
}

export interface LeaderElector {
  run(): void;
  isLeader(): boolean;
  /** Stop campaigning; a leader releases the Lease so another replica takes over at once. */
  stop(): Promise<void>;
}

/** RFC 3339 with microseconds, as MicroTime requires. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function createLeaderElector(opts: LeaderElectionOptions): LeaderElector {
  const now = opts.now ?? Date.now;
  const { client, namespace, name, identity, log } = opts;
  let leader = false;
  let stopped = false;
  let observed: { holder: string; renewTime: string; rv: string; seenAt: number } | undefined;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      wake = r;
      timer = setTimeout(r, ms);
    });

  function leaseBody(existing: Lease | undefined, t: number): Lease {
    const takingOver = existing?.spec.holderIdentity !== identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(opts.leaseDurationMs / 1000),
        acquireTime: takingOver ? microTime(t) : (existing?.spec.acquireTime ?? microTime(t)),
        renewTime: microTime(t),
        leaseTransitions: (existing?.spec.leaseTransitions ?? 0) + (takingOver && existing ? 1 : 0),
      },
    };
  }

  /** One attempt to acquire or renew; true when we hold the Lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const t = now();
    let existing: Lease | undefined;
    try {
      existing = await client.get<Lease>(RESOURCES.leases, namespace, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!existing) {
      try {
        await client.create(RESOURCES.leases, namespace, leaseBody(undefined, t));
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const holder = existing.spec.holderIdentity ?? '';
    const renewTime = existing.spec.renewTime ?? '';
    const rv = existing.metadata.resourceVersion ?? '';
    if (!observed || observed.holder !== holder || observed.renewTime !== renewTime || observed.rv !== rv) {
      observed = { holder, renewTime, rv, seenAt: t };
    }
    const durationMs = (existing.spec.leaseDurationSeconds ?? Math.ceil(opts.leaseDurationMs / 1000)) * 1000;
    const held = holder !== '' && holder !== identity && observed.seenAt + durationMs > t;
    if (held) return false;
    try {
      await client.replace(RESOURCES.leases, namespace, name, leaseBody(existing, t));
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  async function campaign() {
    while (!stopped) {
      let ok = false;
      try {
        ok = await tryAcquireOrRenew();
      } catch (e) {
        log.warn('lease request failed', { error: String(e) });
      }
      if (stopped) return;
      const t = now();
      if (ok) {
        lastRenew = t;
        if (!leader) {
          leader = true;
          log.info('became leader', { lease: `${namespace}/${name}`, identity });
          opts.onStartedLeading();
        }
      } else if (leader && t - lastRenew > opts.renewDeadlineMs) {
        leader = false;
        log.error('lost leadership', { lease: `${namespace}/${name}` });
        opts.onStoppedLeading();
        return;
      }
      await sleep(opts.retryPeriodMs * (leader ? 1 : 0.8 + Math.random() * 0.4));
    }
  }

  return {
    run() {
      loop ??= campaign();
    },
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
      if (!leader) return;
      leader = false;
      try {
        const existing = await client.get<Lease>(RESOURCES.leases, namespace, name);
        if (existing.spec.holderIdentity !== identity) return;
        await client.replace(RESOURCES.leases, namespace, name, {
          ...existing,
          spec: {
            ...existing.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            renewTime: microTime(now()),
          },
        });
        log.info('released lease');
      } catch (e) {
        log.warn('could not release lease', { error: String(e) });
      }
    },
  };
}
