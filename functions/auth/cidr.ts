// IP addresses and CIDR ranges without node:net, so the same code runs on Deno. IPv4-mapped IPv6
// addresses (::ffff:10.0.0.1, what a dual-stack Node server reports) match IPv4 ranges.

export interface Cidr {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  bytes: Uint8Array;
  prefix: number;
}

export function parseIp(input: string): Uint8Array | undefined {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.includes(':')) return parseIpv6(s);
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (const [i, g] of items.entries()) {
      if (g.includes('.')) {
        if (i !== items.length - 1) return undefined;
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (const [i, g] of all.entries()) {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  return out;
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a single-host range). */
export function parseCidr(input: string): Cidr | undefined {
  const [addr, len, extra] = input.trim().split('/');
  if (extra !== undefined || !addr) return undefined;
  const bytes = parseIp(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (len === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > max) return undefined;
  return { bytes, prefix };
}

/** ::ffff:a.b.c.d → a.b.c.d; anything else unchanged. */
function unmap(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const raw = parseIp(address);
  if (!raw) return false;
  const ip = unmap(raw);
  const net = unmap(cidr.bytes);
  const prefix = net.length === cidr.bytes.length ? cidr.prefix : cidr.prefix - 96;
  if (ip.length !== net.length || prefix < 0) return false;
  let bits = prefix;
  for (let i = 0; i < ip.length && bits > 0; i++) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (net[i]! & mask)) return false;
    bits -= 8;
  }
  return true;
}

export function isTrustedPeer(address: string | undefined, proxies: readonly Cidr[]): boolean {
  if (!address) return false;
  return proxies.some((c) => cidrContains(c, address));
}
