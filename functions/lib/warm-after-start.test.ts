import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from './log.ts';
import { warmAfterStart } from './warm-after-start.ts';

describe('warmAfterStart', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const app = async (req: Request) => new Response(new URL(req.url).pathname);

  it('warms once, just after the first answer, not before', async () => {
    const warm = vi.fn(async () => {});
    const w = warmAfterStart(app, warm, silentLogger);
    w.listening();
    expect(warm).not.toHaveBeenCalled();
    const res = await w.fetch(new Request('http://x/ready'), undefined);
    expect(await res.text()).toBe('/ready');
    expect(warm).not.toHaveBeenCalled(); // the answer goes out first
    await vi.advanceTimersByTimeAsync(10);
    expect(warm).toHaveBeenCalledTimes(1);
    await w.fetch(new Request('http://x/health'), undefined);
    await vi.advanceTimersByTimeAsync(2000);
    expect(warm).toHaveBeenCalledTimes(1);
  });

  it('warms a second after listening when no request comes', async () => {
    const warm = vi.fn(async () => {});
    const w = warmAfterStart(app, warm, silentLogger);
    w.listening();
    await vi.advanceTimersByTimeAsync(999);
    expect(warm).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(11);
    expect(warm).toHaveBeenCalledTimes(1);
  });

  it('a failed load is logged, not thrown', async () => {
    const errors: string[] = [];
    const log = { ...silentLogger, error: (msg: string) => void errors.push(msg) };
    const w = warmAfterStart(app, async () => Promise.reject(new Error('no kubeconfig')), log);
    await w.fetch(new Request('http://x/ready'), undefined);
    await vi.advanceTimersByTimeAsync(10);
    expect(errors).toEqual(['kubernetes client failed to load']);
  });
});
