// A local fake of the parts of the GitHub REST API the executor uses: App JWT → installation lookup and
// installation access token (the JWT's RS256 signature is checked against the App's public key), then
// repository and pull-request calls authenticated with that token.
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  html_url: string;
}

export interface FakeGitHub {
  url: string;
  appId: string;
  installationId: number;
  /** Installation tokens minted, with what they were asked for. */
  minted: { token: string; repositories?: string[]; permissions?: Record<string, string> }[];
  pulls: FakePull[];
  calls: string[];
  close(): Promise<void>;
}

function verifyJwt(jwt: string, key: KeyObject, appId: string): boolean {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return false;
  const verify = createVerify('RSA-SHA256');
  verify.update(`${h}.${p}`);
  if (!verify.verify(key, Buffer.from(s, 'base64url'))) return false;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg: string };
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {
    iss: string | number;
    exp: number;
    iat: number;
  };
  const now = Math.floor(Date.now() / 1000);
  return (
    header.alg === 'RS256' && String(payload.iss) === appId && payload.exp > now && payload.iat <= now + 60
  );
}

export async function startFakeGitHub(options: {
  appId: string;
  publicKeyPem: string;
  owner: string;
  repo: string;
}): Promise<FakeGitHub> {
  const key = createPublicKey(options.publicKeyPem);
  const installationId = 4242;
  const minted: FakeGitHub['minted'] = [];
  const pulls: FakePull[] = [];
  const calls: string[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const read = (req: IncomingMessage) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        resolve(
          chunks.length
            ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
            : {},
        ),
      );
    });
  let base = '';
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const route = `${req.method} ${url.pathname}`;
    calls.push(route);
    const auth = req.headers.authorization ?? '';
    const bearer = auth.replace(/^(bearer|token) /i, '');
    const body = await read(req);
    const repoPath = `/repos/${options.owner}/${options.repo}`;
    const jwtOk = () => verifyJwt(bearer, key, options.appId);
    const tokenOk = () => minted.some((m) => m.token === bearer);

    if (route === `GET ${repoPath}/installation`) {
      if (!jwtOk()) return send(res, 401, { message: 'A JSON web token could not be decoded' });
      return send(res, 200, { id: installationId, app_id: Number(options.appId) });
    }
    if (route === `POST /app/installations/${installationId}/access_tokens`) {
      if (!jwtOk()) return send(res, 401, { message: 'A JSON web token could not be decoded' });
      const token = `ghs_fake${minted.length + 1}${Math.random().toString(36).slice(2, 10)}`;
      minted.push({
        token,
        repositories: body.repositories as string[] | undefined,
        permissions: body.permissions as Record<string, string> | undefined,
      });
      return send(res, 201, {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: body.permissions ?? {},
        repository_selection: 'selected',
      });
    }
    if (!tokenOk()) return send(res, 401, { message: 'Bad credentials' });
    if (route === `GET ${repoPath}`)
      return send(res, 200, {
        name: options.repo,
        full_name: `${options.owner}/${options.repo}`,
        default_branch: 'main',
      });
    if (route === `GET ${repoPath}/pulls`) {
      const head = url.searchParams.get('head');
      const state = url.searchParams.get('state') ?? 'open';
      return send(
        res,
        200,
        pulls.filter((p) => `${options.owner}:${p.head}` === head && (state === 'all' || p.state === state)),
      );
    }
    if (route === `POST ${repoPath}/pulls`) {
      const number = pulls.length + 1;
      const pull: FakePull = {
        number,
        head: String(body.head),
        base: String(body.base),
        title: String(body.title),
        body: String(body.body ?? ''),
        state: 'open',
        html_url: `${base}/${options.owner}/${options.repo}/pull/${number}`,
      };
      pulls.push(pull);
      return send(res, 201, pull);
    }
    const patch = url.pathname.match(new RegExp(`^${repoPath}/pulls/(\\d+)$`));
    if (req.method === 'PATCH' && patch) {
      const pull = pulls.find((p) => p.number === Number(patch[1]));
      if (!pull) return send(res, 404, { message: 'Not Found' });
      if (body.title) pull.title = String(body.title);
      if (body.body) pull.body = String(body.body);
      return send(res, 200, pull);
    }
    send(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    appId: options.appId,
    installationId,
    minted,
    pulls,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
