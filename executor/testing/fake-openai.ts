// A local fake of the OpenAI Responses API (SSE, as the Codex CLI calls it) playing a scripted conversation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeOutput =
  | { type: 'message'; text: string }
  | { type: 'function_call'; name: string; arguments: Record<string, unknown> };
export interface FakeResponse {
  output: FakeOutput[];
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number;
  hang?: boolean;
}

export interface ResponsesBody {
  model: string;
  instructions?: string;
  input: { type?: string; role?: string; content?: unknown; call_id?: string; output?: unknown }[];
  tools?: { type: string; name?: string; parameters?: unknown }[];
  stream?: boolean;
}

export interface FakeOpenAI {
  url: string;
  requests: { path: string; headers: IncomingMessage['headers']; body: ResponsesBody }[];
  close(): Promise<void>;
}

export function afterFunctionOutput(body: ResponsesBody): boolean {
  return body.input.at(-1)?.type === 'function_call_output';
}

export async function startFakeOpenAI(
  script: (body: ResponsesBody, n: number) => FakeResponse,
): Promise<FakeOpenAI> {
  const requests: FakeOpenAI['requests'] = [];
  const hanging = new Set<ServerResponse>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method !== 'POST' || !path.endsWith('/responses')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ResponsesBody;
      requests.push({ path, headers: req.headers, body });
      const turn = script(body, n++);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (turn.hang) {
        hanging.add(res);
        return;
      }
      const id = `resp_${n}`;
      const sse = (data: { type: string; [k: string]: unknown }) =>
        res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
      const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model: body.model };
      sse({ type: 'response.created', response: { ...base, status: 'in_progress', output: [] } });
      const items = turn.output.map((o, i) =>
        o.type === 'message'
          ? {
              type: 'message',
              id: `msg_${n}_${i}`,
              role: 'assistant',
              status: 'completed',
              content: [{ type: 'output_text', text: o.text, annotations: [] }],
            }
          : {
              type: 'function_call',
              id: `fc_${n}_${i}`,
              call_id: `call_${n}_${i}`,
              name: o.name,
              arguments: JSON.stringify(o.arguments),
              status: 'completed',
            },
      );
      items.forEach((item, output_index) => {
        sse({ type: 'response.output_item.added', output_index, item: { ...item, status: 'in_progress' } });
        if (item.type === 'message') {
          const text = (item.content as { text: string }[])[0]!.text;
          sse({
            type: 'response.output_text.delta',
            item_id: item.id,
            output_index,
            content_index: 0,
            delta: text,
          });
        }
        sse({ type: 'response.output_item.done', output_index, item });
      });
      sse({
        type: 'response.completed',
        response: {
          ...base,
          status: 'completed',
          output: items,
          usage: {
            input_tokens: turn.inputTokens,
            input_tokens_details: { cached_tokens: turn.cachedTokens ?? 0 },
            output_tokens: turn.outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: turn.inputTokens + turn.outputTokens,
          },
        },
      });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
