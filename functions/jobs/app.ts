// /api/jobs: submit (public, API key), create (a logged-in operator) and the protected reads and actions. Roles are enforced by
// the gate in functions/app.ts from the table in lib/roles.ts.
import { Hono } from 'hono';
import type { Services } from '../lib/services.ts';
import { actionsApp } from './actions.ts';
import { createApp } from './create.ts';
import { type EventStreamOptions, eventsApp } from './events.ts';
import { readApp } from './read.ts';
import { submitApp } from './submit.ts';

export function jobsApp(s: Services, opts: { events?: EventStreamOptions } = {}): Hono {
  const app = new Hono();
  app.route('/submit', submitApp(s));
  app.route('/', createApp(s));
  app.route('/', eventsApp(s, opts.events));
  app.route('/', actionsApp(s));
  app.route('/', readApp(s));
  return app;
}
