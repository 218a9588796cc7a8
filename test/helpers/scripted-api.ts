// A scripted local HTTP server standing in for the Kubernetes API (each test answers requests
// itself), and a token-auth KubeConfig pointing at it.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type ScriptedHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

export interface ScriptedApi {
  url: string;
  close(): Promise<void>;
}

export async function scriptedApi(handler: ScriptedHandler): Promise<ScriptedApi> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export function tokenKubeConfig(url: string, token = 'secret-token'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}
