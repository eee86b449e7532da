// A real OpenID provider for the tests: panva's `oidc-provider` (a certified OP) on 127.0.0.1, with
// one confidential client, password-checked test accounts carrying groups, and minimal interaction
// pages of our own (a login form and a consent form) in place of the dev interactions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { TestAccount } from './fixtures.ts';

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  provider: Provider;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  redirectUri: string;
  postLogoutRedirectUri: string;
  accounts: Record<string, TestAccount>;
  clientId?: string;
  clientSecret?: string;
}

export async function startTestProvider(opts: TestProviderOptions): Promise<TestProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = opts.clientId ?? 'ai-agents';
  const clientSecret = opts.clientSecret ?? 'test-client-secret-0123456789abcdef';

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        post_logout_redirect_uris: [opts.postLogoutRedirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups'],
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const account = opts.accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: account.name,
            email: account.email,
            email_verified: true,
            groups: account.groups,
          };
        },
      };
    },
  });
  const callback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(url.pathname);
    if (!m) {
      callback(req, res);
      return;
    }
    interaction(req, res, m[2]).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });

  async function interaction(req: IncomingMessage, res: ServerResponse, action: string | undefined) {
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    if (req.method === 'GET' && action === undefined) {
      if (prompt.name === 'login') return html(res, 200, loginPage(uid));
      if (prompt.name === 'consent') return html(res, 200, consentPage(uid, String(params.scope)));
      return html(res, 501, 'unsupported prompt');
    }
    if (req.method === 'POST' && action === 'login') {
      const form = new URLSearchParams(await readBody(req));
      const login = form.get('login') ?? '';
      const account = opts.accounts[login];
      if (!account || account.password !== form.get('password')) {
        return html(res, 401, loginPage(uid, 'Invalid username or password.'));
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (req.method === 'POST' && action === 'confirm') {
      if (prompt.name !== 'consent' || !details.session?.accountId)
        return html(res, 400, 'nothing to confirm');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: String(params.client_id) });
      if (!grant) return html(res, 400, 'grant not found');
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    return html(res, 405, 'method not allowed');
  }

  return {
    issuer,
    clientId,
    clientSecret,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loginPage(uid: string, error?: string): string {
  return `<!doctype html><title>Sign in</title>
${error ? `<p class="error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <input name="login" autocomplete="username"><input name="password" type="password">
  <button type="submit">Sign in</button>
</form>`;
}

function consentPage(uid: string, scope: string): string {
  return `<!doctype html><title>Authorize</title><p>ai-agents asks for: ${scope.replace(/[<>&"]/g, '')}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Continue</button></form>`;
}

function html(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
