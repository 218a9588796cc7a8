// Several webhook replicas behind one address, as a Service spreads connections over its endpoints:
// a TCP proxy that hands each new connection to the next backend in turn (TLS passes through; the
// replicas serve the same certificate). The API server keeps connections alive, so requests of one
// connection go to one replica, like kube-proxy.
import net from 'node:net';

export interface RoundRobin {
  port: number;
  /** Connections handed to each backend, in backend order. */
  connections: number[];
  close(): Promise<void>;
}

export async function roundRobin(backends: number[]): Promise<RoundRobin> {
  const connections = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    const i = next++ % backends.length;
    connections[i]!++;
    const upstream = net.connect(backends[i]!, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
