// The event types and terminal phases as plain constants (no zod), so the dashboard's bundle can
// import them without the schema library.
export const EVENT_TYPES = [
  'started',
  'message',
  'tool_call',
  'tool_result',
  'usage',
  'artifact',
  'log',
  'error',
  'heartbeat',
  'completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const TERMINAL_PHASES = ['Succeeded', 'Failed', 'Cancelled', 'TimedOut'] as const;
