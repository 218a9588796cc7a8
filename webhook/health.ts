// The operational surface on the plain-HTTP health port (express 5; its cost does not matter here):
//   GET /healthz  the process is alive and its event loop answers
//   GET /readyz   200 only when every readiness check passes; the body lists each check
//   GET /metrics  Prometheus text from the webhook's own Registry

import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export type ReadinessProbe = () => ReadinessCheck[];

export function createHealthApp(opts: { readiness: ReadinessProbe; registry: Registry }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/healthz', (_req: Request, res: Response) => {
    res.type('application/json').send(JSON.stringify({ status: 'ok' }));
  });
  app.get('/readyz', (_req: Request, res: Response) => {
    const checks = opts.readiness();
    const ready = checks.every((c) => c.ok);
    res
      .status(ready ? 200 : 503)
      .type('application/json')
      .send(JSON.stringify({ ready, checks }));
  });
  app.get('/metrics', async (_req: Request, res: Response, next: NextFunction) => {
    try {
      const text = await opts.registry.metrics();
      res.type(opts.registry.contentType).send(text);
    } catch (e) {
      next(e);
    }
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).type('application/json').send(JSON.stringify({ error: 'not found; use /healthz, /readyz or /metrics' }));
  });
  // express 5 error handler (4 arguments): never leak a stack trace.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('application/json').send(JSON.stringify({ error: 'internal error' }));
  });
  return app;
}

/** Listen; resolves with the bound address (port 0 → an ephemeral port), rejects on a bind error. */
export function listenOn(server: Server, port: number, host?: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export class HealthServer {
  readonly server: http.Server;
  constructor(app: Express) {
    this.server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, app);
    this.server.keepAliveTimeout = 5_000;
  }
  listen(port: number, host?: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
