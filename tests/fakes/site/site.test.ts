// The local website: pages by path, faults by path, and a streamed oversized page that stops when
// the client leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSite, testSitePages, type LocalSite } from './site.js';

let site: LocalSite;

beforeAll(async () => {
  site = await startSite(testSitePages(3));
});
afterAll(async () => {
  await site.close();
});

describe('site double', () => {
  it('serves pages, fills its origin into the sitemap, answers 404 for unknown paths', async () => {
    expect((await (await fetch(`${site.url}/sitemap.xml`)).text())).toContain(`<loc>${site.url}/orphan</loc>`);
    const missing = await fetch(`${site.url}/nope`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
    const moved = await fetch(`${site.url}/moved`, { redirect: 'manual' });
    expect([moved.status, moved.headers.get('location')]).toEqual([301, `${site.url}/docs/page-3`]);
  });

  it('faults target a path: a 503 on robots.txt leaves pages alone', async () => {
    site.inject({ kind: 'status', status: 503 }, { target: '/robots.txt' });
    const robots = await fetch(`${site.url}/robots.txt`);
    expect(robots.status).toBe(503);
    expect(robots.headers.get('content-type')).toBe('text/html');
    await robots.body?.cancel();
    expect((await fetch(`${site.url}/docs/page-1`)).status).toBe(200);
    expect((await fetch(`${site.url}/robots.txt`)).status).toBe(200);
  });

  it('streams the oversized page without a length and stops when the client hangs up', async () => {
    const res = await fetch(`${site.url}/big`);
    expect(res.headers.get('content-length')).toBeNull();
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 64 * 1024) got += (await reader.read()).value?.length ?? Infinity;
    await reader.cancel();
    expect(got).toBeLessThan(3 * 1024 * 1024);
    expect(site.hits.filter((h) => h === '/big')).toHaveLength(1);
  });
});
