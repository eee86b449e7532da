// Loading, empty and error states, the same everywhere.
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../lib/api.ts';
import type { Loadable } from '../lib/load.ts';
import { topRole } from '../models/auth.ts';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** A human sentence for an API error; 403 says which role the user has. */
export function describeError(err: ApiError): string {
  if (err.status === 403)
    return `You don't have permission to do this (${err.message}). You are signed in as ${topRole.value ?? 'a user without roles'}; ask an admin for a higher role.`;
  if (err.status === 0) return err.message;
  if (err.status === 503 && err.code === 'upstream_unavailable')
    return `A service the API depends on is unavailable: ${err.message}`;
  return err.message;
}

export function Problem({ error, retry }: { error: ApiError; retry?: () => void }) {
  return (
    <div class={`problem${error.status === 403 ? ' forbidden' : ''}`} role="alert">
      <strong>
        {error.status === 403 ? 'Not allowed' : error.status ? `Error ${error.status}` : 'Error'}
      </strong>{' '}
      {describeError(error)}
      {error.requestId && <small> (request {error.requestId})</small>}
      {retry && (
        <button type="button" class="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Renders a Loadable: spinner before the first answer, the error, the empty state or the data. */
export function Async<T>({
  of,
  empty,
  isEmpty,
  children,
}: {
  of: Loadable<T>;
  empty?: ComponentChildren;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ComponentChildren;
}) {
  const data = of.data.value;
  const error = of.error.value;
  const problem = error && <Problem error={error} retry={() => void of.load()} />;
  if (data === undefined) return problem || <Loading />;
  return (
    <>
      {problem}
      {empty !== undefined && isEmpty?.(data) ? <Empty>{empty}</Empty> : children(data)}
    </>
  );
}
