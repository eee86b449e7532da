import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackDestinations, DestinationRefused } from './callback-destination.ts';

let server: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A real POST through the policy's lookup: the status code, or the error's constructor name. */
function post(setting: string | undefined, url: string): Promise<number | string> {
  const u = new URL(url);
  const lookup = callbackDestinations(setting).lookupFor(u);
  return new Promise((resolve) => {
    const req = request(u, { method: 'POST', lookup, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => resolve(e instanceof DestinationRefused ? 'refused' : String(e)));
    req.end();
  });
}

describe('by default', () => {
  const policy = callbackDestinations(undefined);
  it.each([
    'http://127.0.0.1/',
    'http://127.1.2.3:8080/x',
    'http://0x7f.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://224.0.0.1/',
  ])('refuses %s', (url) => {
    expect(policy.refusal(new URL(url))).toMatch(/loopback, link-local, unspecified or multicast/);
  });

  it.each([
    'https://203.0.113.7/hook',
    'http://10.1.2.3/',
    'http://192.168.0.10:8080/',
    'http://[fd12::1]/',
    'https://hooks.example.com/',
  ])('lets %s through to its lookup', (url) => {
    expect(policy.refusal(new URL(url))).toBeUndefined();
  });

  it('refuses schemes other than http and https', () => {
    expect(policy.refusal(new URL('ftp://example.com/'))).toMatch(/ftp: is not http or https/);
    expect(policy.refusal(new URL('file:///etc/passwd'))).toMatch(/file: is not http or https/);
  });

  it('refuses a name that resolves to loopback, before any connection', async () => {
    const before = hits;
    expect(await post(undefined, `http://localhost:${port}/`)).toBe('refused');
    expect(hits).toBe(before);
  });
});

describe('with CALLBACK_ALLOWED_HOSTS', () => {
  it('allows only what it lists: names, wildcards, addresses and ranges', () => {
    const policy = callbackDestinations(
      ' hooks.example.com, *.corp.example ,10.0.0.0/8,2001:db8::/32,127.0.0.1',
    );
    const refusal = (url: string) => policy.refusal(new URL(url));
    expect(refusal('http://127.0.0.1:9/')).toBeUndefined();
    expect(refusal('http://10.20.30.40/')).toBeUndefined();
    expect(refusal('http://[2001:db8::5]/')).toBeUndefined();
    expect(refusal('http://127.0.0.2/')).toMatch(/127\.0\.0\.2 is not in CALLBACK_ALLOWED_HOSTS/);
    expect(refusal('http://169.254.169.254/')).toMatch(/not in CALLBACK_ALLOWED_HOSTS/);
    expect(refusal('http://11.0.0.1/')).toMatch(/not in CALLBACK_ALLOWED_HOSTS/);
    // names are decided when they resolve
    expect(refusal('https://elsewhere.example.org/')).toBeUndefined();
  });

  it('connects to a listed name whatever it resolves to', async () => {
    const before = hits;
    expect(await post('localhost', `http://localhost:${port}/`)).toBe(204);
    expect(await post('*.localhost', `http://localhost:${port}/`)).toBe('refused');
    expect(hits).toBe(before + 1);
  });

  it('connects to an unlisted name only when it resolves to a listed address', async () => {
    expect(await post('127.0.0.0/8', `http://localhost:${port}/`)).toBe(204);
    expect(await post('10.0.0.0/8,hooks.example.com', `http://localhost:${port}/`)).toBe('refused');
  });

  it.each([
    ['http://hooks.example.com', /"http:\/\/hooks.example.com" is not a host name/],
    ['10.0.0.0/33', /"10.0.0.0\/33" is not a CIDR range/],
    ['10.0.0.0/8/9', /is not a CIDR range/],
    ['10.0.0/8', /is not a host name, \*\.wildcard, IP address or CIDR range/],
    ['*.', /is not a host name/],
    ['a b', /is not a host name/],
  ])('names a bad entry: %s', (setting, message) => {
    expect(() => callbackDestinations(setting)).toThrow(message);
  });
});
