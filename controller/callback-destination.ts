// Where callbacks may go. A callback URL comes from whoever submitted the request, and the
// controller runs inside the cluster, so without a rule a submitter could make it POST to its own
// pod (loopback), the cloud's metadata service (link-local) or anything else it can reach, and
// read the outcome back from status. By default loopback, link-local, unspecified and multicast
// addresses are refused; CALLBACK_ALLOWED_HOSTS, when set, is the complete list instead: host
// names (`hooks.example.com`), subdomain wildcards (`*.example.com`), IP addresses and CIDR
// ranges. Addresses are checked after DNS resolution, at connect time, so a name that resolves to
// a refused address is refused too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Ranges no callback goes to unless CALLBACK_ALLOWED_HOSTS lists them. */
const REFUSED_BY_DEFAULT: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 4],
  ['255.255.255.255', 32],
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['ff00::', 8],
  // the AWS instance metadata service's IPv6 address (inside fc00::/7, which stays allowed)
  ['fd00:ec2::254', 128],
];

export class DestinationRefused extends Error {
  readonly code = 'EDESTINATIONREFUSED';
}

export interface CallbackDestinations {
  /** Why this URL may not be called, or undefined when it may (its addresses are checked later). */
  refusal(url: URL): string | undefined;
  /** A `lookup` for net.connect that keeps only the addresses this URL's host may reach. */
  lookupFor(url: URL): LookupFunction;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

function addRange(list: BlockList, address: string, prefix?: number) {
  const family = familyOf(address);
  list.addSubnet(address, prefix ?? (family === 'ipv6' ? 128 : 32), family);
}

/** `[::1]` → `::1`; names lower-cased without a trailing dot. */
function hostOf(url: URL): string {
  const h = url.hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * Parses CALLBACK_ALLOWED_HOSTS (comma-separated). Throws with the offending entry named when one
 * is neither a host name, a `*.` wildcard, an IP address nor a CIDR range.
 */
export function callbackDestinations(setting: string | undefined): CallbackDestinations {
  const entries = (setting ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const restricted = entries.length > 0;
  const addresses = new BlockList();
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const bits = slash < 0 ? undefined : entry.slice(slash + 1);
    if (bits !== undefined && isIP(address)) {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (familyOf(address) === 'ipv6' ? 128 : 32)) {
        throw new Error(`"${entry}" is not a CIDR range (e.g. 10.0.0.0/8)`);
      }
      addRange(addresses, address, prefix);
    } else if (isIP(entry)) {
      addRange(addresses, entry);
    } else if (/^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(entry)) {
      if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
      else names.add(entry);
    } else {
      throw new Error(`"${entry}" is not a host name, *.wildcard, IP address or CIDR range`);
    }
  }
  const refusedByDefault = new BlockList();
  for (const [address, prefix] of REFUSED_BY_DEFAULT) addRange(refusedByDefault, address, prefix);

  const nameAllowed = (host: string) => names.has(host) || suffixes.some((s) => host.endsWith(s));
  const addressAllowed = (address: string) =>
    restricted
      ? addresses.check(address, familyOf(address))
      : !refusedByDefault.check(address, familyOf(address));
  const refusedMessage = (host: string) =>
    restricted
      ? `callback destination ${host} is not in CALLBACK_ALLOWED_HOSTS`
      : `callback destination ${host} is a loopback, link-local, unspecified or multicast address; CALLBACK_ALLOWED_HOSTS can allow it`;

  return {
    refusal(url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return `callback URL scheme ${url.protocol} is not http or https`;
      const host = hostOf(url);
      // a name's addresses are checked when it is resolved (lookupFor)
      return isIP(host) && !addressAllowed(host) ? refusedMessage(host) : undefined;
    },
    lookupFor(url) {
      const host = hostOf(url);
      const trusted = restricted && nameAllowed(host);
      return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        dnsLookup(hostname, { ...options, all: true }, (err, found: LookupAddress[]) => {
          if (err) return callback(err);
          const usable = trusted ? found : found.filter((a) => addressAllowed(a.address));
          const first = usable[0];
          if (!first) return callback(new DestinationRefused(refusedMessage(host)));
          if (options.all) return callback(null, usable);
          return callback(null, first.address, first.family);
        });
      }) as LookupFunction;
    },
  };
}
