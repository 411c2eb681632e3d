// The test site for crawls where time is not the subject: without its slow page, so the fetch limit can stay generous.
import { testSitePages, type SitePage } from '../fakes/site/site.js';

export function sitePagesWithoutSlow(count: number): Map<string, SitePage> {
  const pages = testSitePages(count);
  pages.delete('/slow');
  const home = pages.get('/')!;
  pages.set('/', { ...home, body: home.body!.replace('<a href="/slow">Slow</a>', '') });
  return pages;
}
