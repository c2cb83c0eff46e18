import net from 'node:net';

/**
 * True when listening on `host` reaches this machine only: `localhost`, `127.0.0.0/8`, `::1`
 * (also bracketed, or as `::ffff:127.x.x.x`). Anything else — `0.0.0.0`, `::`, an interface's
 * address, another name — may reach beyond it.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^(?:0*:)*:?0*1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}
