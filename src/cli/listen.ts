/**
 * Listen on host:port for the CLI's HTTP servers (`vigil serve`, `vigil docs serve`), with the
 * address problems a user can cause said in one line (exit 2), not as a stack trace.
 */
import type { Server } from 'node:http';
import { UsageError } from '../errors.js';

/** `inUse`: how to choose another port, said when this one is taken. Host `::` is every interface (IPv4 too, or 0.0.0.0 without IPv6). */
export function listenOn(server: Server, at: { host: string; port: number }, inUse: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
      if (e.code === 'EADDRINUSE') reject(new UsageError(`cannot listen on ${where}: the port is in use; ${inUse}`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') reject(new UsageError(`cannot listen on ${where}: no such local address`));
      else if (e.code === 'EACCES') reject(new UsageError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`));
      // (EINVAL: e.g. a link-local IPv6 address, fe80::1, which needs an interface no address here names)
      else if (e.code === 'EINVAL') reject(new UsageError(`cannot listen on ${where}: not an address this machine can listen on (EINVAL)`));
      else reject(new UsageError(`cannot listen on ${where}: ${e.message.split('\n')[0]}`));
    });
    // every interface: no host, so Node takes :: (dual stack) where there is IPv6, else 0.0.0.0
    if (at.host === '::') server.listen(at.port, () => resolve());
    else server.listen(at.port, at.host, () => resolve());
  });
}
