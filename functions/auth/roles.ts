import type { Role } from '../lib/roles.ts';
import type { AuthConfig } from './config.ts';

/** Lowest to highest; each role includes every role before it. */
export const ROLE_ORDER: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Every role the groups grant (highest mapped role and all below it), or the default role. */
export function rolesFor(
  groups: readonly string[],
  config: Pick<AuthConfig, 'roleGroups' | 'defaultRole'>,
): Role[] {
  const have = new Set(groups);
  let top = -1;
  for (const [i, role] of ROLE_ORDER.entries()) {
    if (config.roleGroups[role].some((g) => have.has(g))) top = i;
  }
  if (top < 0 && config.defaultRole) top = ROLE_ORDER.indexOf(config.defaultRole);
  return ROLE_ORDER.slice(0, top + 1);
}

export function hasRole(roles: readonly Role[], role: Role): boolean {
  return roles.includes(role);
}
