import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { ApiError } from '../lib/api.ts';
import { can, logout, me, topRole } from '../models/auth.ts';
import { Problem } from './State.tsx';

const NAV: { href: string; label: string; operator?: boolean }[] = [
  { href: '/jobs', label: 'Jobs' },
  { href: '/submit', label: 'Submit', operator: true },
  { href: '/stats', label: 'Stats' },
  { href: '/models', label: 'Models' },
  { href: '/agents', label: 'Agents' },
  { href: '/instructions', label: 'Instructions' },
  { href: '/webhooks', label: 'Webhooks' },
];

const logoutError = signal<ApiError | undefined>(undefined);

export function UserMenu() {
  const m = me.value;
  if (!m) return null;
  const signOut = async () => {
    logoutError.value = undefined;
    try {
      await logout();
    } catch (err) {
      logoutError.value = err as ApiError;
    }
  };
  return (
    <details
      class="menu"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.currentTarget.open = false;
          e.currentTarget.querySelector('summary')?.focus();
        }
      }}
    >
      <summary aria-label={`User menu for ${m.user.name ?? m.user.email ?? m.user.sub}`}>
        {m.user.name ?? m.user.email ?? m.user.sub}
        {topRole.value && <span class="badge">{topRole.value}</span>}
      </summary>
      <div class="menu-body">
        <div>{m.user.name ?? m.user.sub}</div>
        {m.user.email && <div class="muted">{m.user.email}</div>}
        <div>
          Roles:{' '}
          {m.roles.length ? (
            m.roles.map((r) => (
              <span class="badge" key={r}>
                {r}
              </span>
            ))
          ) : (
            <em>none</em>
          )}
        </div>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
        {logoutError.value && <Problem error={logoutError.value} />}
      </div>
    </details>
  );
}

export function Layout({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const section = `/${path.split('/')[1] ?? ''}`;
  const first = useRef(true);
  // A new page: move focus to it (screen readers announce it) and name the tab after it.
  useEffect(() => {
    const label = NAV.find((n) => n.href === section)?.label;
    document.title = label ? `${label} · ai-agents` : 'ai-agents';
    if (first.current) first.current = false;
    else document.getElementById('main')?.focus();
  }, [path, section]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/jobs">
          ai-agents
        </a>
        <nav aria-label="Main">
          {NAV.filter((n) => !n.operator || can('operator')).map((n) => (
            <a
              key={n.href}
              href={n.href}
              aria-current={section === n.href || (path === '/' && n.href === '/jobs') ? 'page' : undefined}
            >
              {n.label}
            </a>
          ))}
        </nav>
        <UserMenu />
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
