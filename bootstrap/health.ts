// The controller's operational surface on its plain-HTTP health port (node:http; its cost does not
// matter here):
//   GET /healthz  the process is alive and its event loop answers
//   GET /readyz   200 only when every readiness check passes (informers synced; the Lease usable);
//                 the body lists each check
//   GET /metrics  Prometheus text from the controller's Registry (tenant controller and certificates)

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from './controller.js';

export class ControllerHealthServer {
  private readonly server: http.Server;

  constructor(opts: { readiness: () => ReadinessCheck[]; registry: Registry }) {
    this.server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      };
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(404, { error: 'not found; use /healthz, /readyz or /metrics' });
      if (path === '/healthz') return json(200, { status: 'ok' });
      if (path === '/readyz') {
        const checks = opts.readiness();
        const ready = checks.every((c) => c.ok);
        return json(ready ? 200 : 503, { ready, checks });
      }
      if (path === '/metrics') {
        opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
          () => json(500, { error: 'internal error' }),
        );
        return;
      }
      json(404, { error: 'not found; use /healthz, /readyz or /metrics' });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  /** Resolves with the bound address (port 0 → an ephemeral port), rejects on a bind error. */
  listen(port: number, host?: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
