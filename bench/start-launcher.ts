// A small process that times server starts for the functions benchmark (process-start.ts,
// timeStartsInLauncher): reads {variants, rounds, baseEnv} as JSON on stdin, writes the times as
// JSON on stdout.
import { text } from 'node:stream/consumers';
import { type StartVariant, timeStarts } from './process-start.ts';

const { variants, rounds, baseEnv } = JSON.parse(await text(process.stdin)) as {
  variants: Record<string, StartVariant>;
  rounds: number;
  baseEnv: NodeJS.ProcessEnv;
};
process.stdout.write(JSON.stringify(await timeStarts(variants, rounds, baseEnv)));
