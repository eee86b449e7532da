// Who is signed in and what they may do. Roles are cumulative: admin ⊃ operator ⊃ viewer.
import { computed, signal } from '@preact/signals';
import { type ApiError, api } from '../lib/api.ts';
import type { Me, Role } from '../lib/types.ts';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export const me = signal<Me | undefined>(undefined);
export const authState = signal<'loading' | 'ready' | 'signedOut' | 'error'>('loading');
export const authError = signal<ApiError | undefined>(undefined);

/** The highest role the user holds, if any. */
export const topRole = computed<Role | undefined>(() =>
  (me.value?.roles ?? []).reduce<Role | undefined>(
    (top, r) => (RANK[r] && (!top || RANK[r] > RANK[top]) ? r : top),
    undefined,
  ),
);

export function can(role: Role): boolean {
  const top = topRole.value;
  return top !== undefined && RANK[top] >= RANK[role];
}

/** Why an action is unavailable, or undefined when the user may do it. */
export function denied(role: Role): string | undefined {
  if (can(role)) return undefined;
  return `Requires the ${role} role; you are signed in as ${topRole.value ?? 'a user without roles'}.`;
}

export async function loadMe(): Promise<void> {
  authState.value = 'loading';
  try {
    me.value = await api.get<Me>('/api/auth/me');
    authState.value = 'ready';
  } catch (err) {
    // A 401 has already sent the browser to the login page; keep showing "loading" meanwhile.
    if ((err as ApiError).status === 401) return;
    authError.value = err as ApiError;
    authState.value = 'error';
  }
}

/** Ends the session; when the API names the OpenID provider's logout page, goes there too. */
export async function logout(): Promise<void> {
  const r = await api.post<{ redirectTo?: string } | undefined>('/api/auth/logout');
  me.value = undefined;
  authState.value = 'signedOut';
  const to = r?.redirectTo;
  if (to && new URL(to, location.href).origin !== location.origin) location.assign(to);
}
