// The bundled runbook site the demo crawls: a few realistic IRIS operations runbooks, served on loopback.
import { htmlPage, startSite, type LocalSite, type SitePage } from './site.js';

const RUNBOOKS: Array<{ path: string; title: string; body: string }> = [
  {
    path: '/runbooks/gmheap-exhaustion',
    title: 'IRIS gmheap exhaustion',
    body: `<p>The generic memory heap (gmheap) holds the lock table, the process table extensions and other shared structures.
When it is exhausted, messages.log reports <code>Failed to allocate gmheap</code> or <code>LOCK TABLE FULL</code>, new processes
fail to start and ECP connections drop.</p>
<h2>Symptoms</h2>
<ul><li>messages.log: "gmheap exhausted" or "Unable to allocate memory from gmheap".</li>
<li>Lock requests time out; ^LOCKTAB shows the table near its limit.</li>
<li>CSP/REST sessions fail with &lt;STORE&gt; or &lt;INSUFFICIENT PRIVILEGE&gt; errors after memory pressure.</li></ul>
<h2>Diagnosis</h2>
<p>Run <code>do ^GMHEAP</code> or check the Management Portal (System &gt; Configuration &gt; Advanced Memory) for gmheap usage.
Compare the configured value in iris.cpf ([config] gmheap=, in KB) with the peak usage over the last week.</p>
<h2>Resolution</h2>
<p>Increase gmheap in iris.cpf, for example from gmheap=37568 to gmheap=393216 (384 MB), through a planned configuration change
(apply_cpf_change) and restart the instance in a maintenance window (restart_instance). gmheap is not dynamic: the new size
applies only after a restart. Also raise locksiz if the lock table is the consumer.</p>`,
  },
  {
    path: '/runbooks/journal-space',
    title: 'Journal directory full',
    body: `<p>When the journal directory fills up, IRIS freezes journaling and writes wait: the instance appears hung.</p>
<h2>Symptoms</h2><p>messages.log: "Journal file system is full", "Journaling suspended". Application writes hang.</p>
<h2>Resolution</h2><p>Free space on the journal volume or switch journaling to the alternate directory with ^JOURNAL; purge
journals older than the backup retention with ^PURGE. Never delete the current journal file by hand.</p>`,
  },
  {
    path: '/runbooks/mirror-failover',
    title: 'Mirror failover did not happen',
    body: `<p>A failover mirror member should take over when the primary fails and the arbiter agrees.</p>
<h2>Checks</h2><p>Check ^MIRROR status on both members, the arbiter connectivity, and whether the backup was caught up
(journal latency). A backup that was not active cannot take over automatically.</p>`,
  },
  {
    path: '/runbooks/license-limit',
    title: 'License limit exceeded',
    body: `<p>Users are refused with "License limit exceeded" when all license units are consumed.</p>
<h2>Resolution</h2><p>List consumers with $SYSTEM.License.ShowSummary(), end stale CSP sessions, and check for a process
leak from a misbehaving interface. Order extra units if the peak is legitimate.</p>`,
  },
  {
    path: '/runbooks/routine-buffer',
    title: 'Routine buffer pressure',
    body: `<p>Too small a routine cache (routines= in iris.cpf) causes constant reloads of routines from disk.</p>
<h2>Resolution</h2><p>Raise the routine buffer in iris.cpf; it applies after a restart.</p>`,
  },
];

export function runbookPages(): Map<string, SitePage> {
  const pages = new Map<string, SitePage>();
  pages.set('/', {
    body: htmlPage('IRIS operations runbooks', `<p>Runbooks for the IRIS platform team.</p><ul>${RUNBOOKS.map((r) => `<li><a href="${r.path}">${r.title}</a></li>`).join('')}</ul>`),
  });
  for (const r of RUNBOOKS) pages.set(r.path, { body: htmlPage(r.title, `${r.body}<p><a href="/">All runbooks</a></p>`) });
  pages.set('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow: /drafts/\n' });
  pages.set('/drafts/unreviewed', { body: htmlPage('Draft', '<p>Not reviewed yet.</p>') });
  return pages;
}

export function startRunbookSite(): Promise<LocalSite> {
  return startSite(runbookPages());
}
