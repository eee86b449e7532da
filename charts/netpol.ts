// A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), used to check the
// rendered policies against the deployment guide's rules. It implements what the API documents:
// a pod selected by no policy of a type is open for that direction; otherwise a connection must be
// allowed by at least one rule; a connection needs the source's egress and the destination's
// ingress. Peers: podSelector (policy namespace), namespaceSelector, both (AND), ipBlock (IPv4
// CIDR with except, matched against endpoints outside the cluster's pods).

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}

export interface NetworkPolicy {
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: Rule[];
    egress?: Rule[];
  };
}

export interface PodEndpoint {
  kind: 'pod';
  name: string;
  namespace: string;
  namespaceLabels?: Record<string, string>;
  labels: Record<string, string>;
}

export interface ExternalEndpoint {
  kind: 'ip';
  name: string;
  ip: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

export function matches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = Number(bits);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return (ipv4(ip) & mask) >>> 0 === (ipv4(base!) & mask) >>> 0;
}

function namespaceLabels(p: PodEndpoint): Record<string, string> {
  return { 'kubernetes.io/metadata.name': p.namespace, ...p.namespaceLabels };
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (other.kind !== 'ip') return false;
    return (
      inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c))
    );
  }
  if (other.kind !== 'pod') return false;
  if (peer.namespaceSelector) {
    if (!matches(peer.namespaceSelector, namespaceLabels(other))) return false;
  } else if (other.namespace !== policyNamespace) {
    return false;
  }
  return matches(peer.podSelector, other.labels);
}

function portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') throw new Error(`named ports are not evaluated: ${p.port}`);
    return p.endPort ? port >= p.port && port <= p.endPort : port === p.port;
  });
}

function selecting(policies: NetworkPolicy[], pod: PodEndpoint, type: 'Ingress' | 'Egress'): NetworkPolicy[] {
  return policies.filter((p) => {
    const types = p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
    return (
      (p.metadata.namespace ?? 'default') === pod.namespace &&
      types.includes(type) &&
      matches(p.spec.podSelector, pod.labels)
    );
  });
}

function allowedBy(
  policies: NetworkPolicy[],
  pod: PodEndpoint,
  type: 'Ingress' | 'Egress',
  other: Endpoint,
  port: number,
  protocol: string,
): { allowed: boolean; by: string[] } {
  const relevant = selecting(policies, pod, type);
  if (relevant.length === 0) return { allowed: true, by: ['(not isolated)'] };
  const by: string[] = [];
  for (const p of relevant) {
    const rules = (type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? [];
    for (const r of rules) {
      const peers = type === 'Ingress' ? r.from : r.to;
      const peerOk =
        !peers ||
        peers.length === 0 ||
        peers.some((x) => peerMatches(x, p.metadata.namespace ?? 'default', other));
      if (peerOk && portMatches(r.ports, port, protocol)) by.push(p.metadata.name);
    }
  }
  return { allowed: by.length > 0, by };
}

/** Whether `from` may open a connection to `to` on port/protocol under the given policies. */
export function connectionAllowed(
  policies: NetworkPolicy[],
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol = 'TCP',
): boolean {
  if (from.kind === 'pod' && !allowedBy(policies, from, 'Egress', to, port, protocol).allowed) return false;
  if (to.kind === 'pod' && !allowedBy(policies, to, 'Ingress', from, port, protocol).allowed) return false;
  return true;
}
