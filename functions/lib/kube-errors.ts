// apiserver errors → the API's error envelope.
import { ApiError } from './errors.ts';
import { isKubeError } from './kube.ts';

/**
 * An apiserver's answer (or no answer) as the API's error: a 422's causes become field paths in
 * `details`; 429 and 5xx are retriable, with Retry-After.
 */
export function kubeToApiError(err: unknown, what = 'object'): ApiError {
  if (!isKubeError(err)) {
    return new ApiError('upstream_unavailable', 'the Kubernetes API could not be reached', {
      cause: err,
      headers: { 'Retry-After': '1' },
    });
  }
  switch (err.status) {
    case 400:
      return new ApiError('bad_request', err.message, { cause: err });
    case 404:
      return new ApiError('not_found', `${what} not found`, { cause: err });
    case 409:
      return new ApiError('conflict', err.message, { cause: err });
    case 422:
      return new ApiError('invalid_body', `${what} is invalid`, {
        cause: err,
        details: err.causes.length
          ? err.causes.map((c) => ({ path: c.field ?? '', message: c.message ?? 'invalid', code: c.reason }))
          : [{ path: '', message: err.message }],
      });
    case 401:
    case 403:
      return new ApiError('upstream_error', 'the Kubernetes API refused the functions’ credentials', {
        cause: err,
      });
    default:
      if (err.status === 429 || err.status >= 500) {
        return new ApiError('upstream_unavailable', 'the Kubernetes API is busy; try again', {
          cause: err,
          headers: { 'Retry-After': String(err.retryAfterSeconds ?? 1) },
        });
      }
      return new ApiError('upstream_error', err.message, { cause: err });
  }
}

/**
 * A list's error when the request carried a continue token: one the apiserver refuses (400) or
 * has let expire (410) is answered in the API's words, not the apiserver's.
 */
export function listError(err: unknown, what: string, withContinue: boolean): ApiError {
  // a token whose resourceVersion is ahead of the store: the apiserver waits 3 s for it, then 504s
  const tooNew = isKubeError(err, 504) && err.causes.some((c) => c.reason === 'ResourceVersionTooLarge');
  if (withContinue && (isKubeError(err, 400) || isKubeError(err, 410) || tooNew)) {
    return new ApiError(
      'bad_request',
      'the continue token is not one a list gave, or it has expired: list again without it',
      {
        details: [{ path: 'continue', message: 'invalid or expired' }],
      },
    );
  }
  return kubeToApiError(err, what);
}
