// Who may upload: a dashboard user with the operator role, or a script with a submit API key
// (so it can attach files before it submits). Uploads belong to that identity:
//   user:<sub>     a logged-in user (OIDC subject or ForwardAuth user)
//   key:<caller>   an API key's caller, the same name submit writes to spec.caller
import type { Context, MiddlewareHandler } from 'hono';
import { type ApiKeyStore, type Caller, presentedKey } from '../lib/api-keys.ts';
import { ApiError } from '../lib/errors.ts';
import { type AuthUser, type RequireRole, type Role, roleAtLeast } from '../lib/roles.ts';

export interface Principal {
  owner: string;
  /** May read and delete every upload. */
  admin: boolean;
}

declare module 'hono' {
  interface ContextVariableMap {
    uploader?: Principal;
  }
}

export const ownerOfCaller = (caller: Pick<Caller, 'caller'>): string => `key:${caller.caller}`;
export const ownerOfUser = (user: Pick<AuthUser, 'sub'>): string => `user:${user.sub}`;

export function principalOfUser(user: AuthUser): Principal {
  return { owner: ownerOfUser(user), admin: roleAtLeast(user.roles, 'admin') };
}

export interface UploadAuthDeps {
  apiKeys: ApiKeyStore;
  requireRole: RequireRole;
  /** The user requireRole let in; defaults to c.get('user'), which requireRole sets. */
  userOf?: (c: Context) => AuthUser | undefined | Promise<AuthUser | undefined>;
}

/**
 * An API key (Authorization: Bearer / X-API-Key) that checks out admits its caller; otherwise
 * the request needs a session with `role`. A presented key that is not valid, without a
 * session, is answered 401 "the API key is not valid".
 */
export function uploadAuth(deps: UploadAuthDeps, role: Role): MiddlewareHandler {
  const gate = deps.requireRole(role);
  const userOf = deps.userOf ?? ((c: Context) => c.get('user'));
  return async function uploadAuthMiddleware(c, next) {
    const key = presentedKey(c.req.raw.headers);
    if (key) {
      const caller = await deps.apiKeys.verify(key);
      if (caller) {
        c.set('caller', caller);
        c.set('uploader', { owner: ownerOfCaller(caller), admin: false });
        return next();
      }
    }
    let admitted = false;
    try {
      await gate(c, async () => {
        admitted = true;
        const user = await userOf(c);
        if (!user) throw new ApiError('internal', 'the auth middleware admitted a request without a user');
        c.set('uploader', principalOfUser(user));
        await next();
      });
    } catch (err) {
      if (!admitted && key && err instanceof ApiError && err.status === 401) {
        throw new ApiError('unauthorized', 'the API key is not valid', {
          headers: { 'WWW-Authenticate': 'Bearer realm="ai-agents", error="invalid_token"' },
        });
      }
      throw err;
    }
  };
}
