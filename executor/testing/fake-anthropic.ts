// A local fake of the Anthropic Messages API (SSE streaming, as Claude Code calls it) that plays a
// scripted conversation: each POST /v1/messages gets the next turn the script returns for that request.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> };
export interface FakeTurn {
  blocks: FakeBlock[];
  inputTokens: number;
  outputTokens: number;
  /** Never answer (to test interruption). */
  hang?: boolean;
}

export interface AnthropicRequestBody {
  model: string;
  stream?: boolean;
  system?: string | { type: string; text: string }[];
  messages: { role: string; content: string | { type: string; [k: string]: unknown }[] }[];
  tools?: { name: string }[];
}

export interface FakeAnthropic {
  url: string;
  requests: { path: string; headers: IncomingMessage['headers']; body: AnthropicRequestBody }[];
  close(): Promise<void>;
}

/** True when the last user message carries a tool_result (the model's tool call has been answered). */
export function afterToolResult(body: AnthropicRequestBody): boolean {
  const last = body.messages.at(-1);
  return Array.isArray(last?.content) && last.content.some((c) => c.type === 'tool_result');
}

export function systemText(body: AnthropicRequestBody): string {
  if (typeof body.system === 'string') return body.system;
  return (body.system ?? []).map((b) => b.text).join('\n');
}

export async function startFakeAnthropic(
  script: (body: AnthropicRequestBody, n: number) => FakeTurn,
): Promise<FakeAnthropic> {
  const requests: FakeAnthropic['requests'] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method !== 'POST' || path !== '/v1/messages') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AnthropicRequestBody;
      requests.push({ path, headers: req.headers, body });
      const turn = script(body, n++);
      if (turn.hang) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        hanging.add(res);
        return;
      }
      const id = `msg_${n}`;
      const stopReason = turn.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
      const content = turn.blocks.map((b, i) =>
        b.type === 'text'
          ? { type: 'text', text: b.text }
          : { type: 'tool_use', id: `toolu_${n}_${i}`, name: b.name, input: b.input },
      );
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id,
            type: 'message',
            role: 'assistant',
            model: body.model,
            content,
            stop_reason: stopReason,
            stop_sequence: null,
            usage: { input_tokens: turn.inputTokens, output_tokens: turn.outputTokens },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const sse = (event: string, data: unknown) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      sse('message_start', {
        type: 'message_start',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: turn.inputTokens, output_tokens: 1 },
        },
      });
      content.forEach((block, index) => {
        if (block.type === 'text') {
          sse('content_block_start', {
            type: 'content_block_start',
            index,
            content_block: { type: 'text', text: '' },
          });
          sse('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'text_delta', text: block.text },
          });
        } else {
          sse('content_block_start', {
            type: 'content_block_start',
            index,
            content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
          });
          sse('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
          });
        }
        sse('content_block_stop', { type: 'content_block_stop', index });
      });
      sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: turn.outputTokens },
      });
      sse('message_stop', { type: 'message_stop' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
