// `redline serve` as a real child process for e2e suites, and the shipped webhook configurations
// pointed at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CLI, ROOT } from '../../helpers/cli.js';
import { freePort } from '../controlplane/index.js';

export interface ServeProcess {
  port: number;
  healthPort: number;
  caPem: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout (JSON log lines) and stderr. */
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** devCertDir: replicas that share one (started one after the other) serve the same CA and certificate. */
export async function startServe(options: { kubeconfig: string; args?: string[]; env?: NodeJS.ProcessEnv; devCertDir?: string }): Promise<ServeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'redline-serve-'));
  const devDir = options.devCertDir ?? join(dir, 'dev');
  const port = await freePort();
  const healthPort = await freePort();
  const child = spawn(process.execPath, [
    CLI, 'serve', '--dev', '--dev-cert-dir', devDir, '--kubeconfig', options.kubeconfig,
    '--port', String(port), '--health-port', String(healthPort), ...(options.args ?? []),
  ], { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redline serve exited with ${child.exitCode}:\n${err}\n${out}`);
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redline serve not ready in 30 s:\n${err}\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const caPem = await readFile(join(devDir, 'ca.crt'), 'utf8');
  return {
    port, healthPort, caPem, child,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

interface WebhookConfiguration extends KubernetesObject {
  webhooks: { name: string; clientConfig: { service?: { path?: string }; url?: string; caBundle?: string } }[];
}

/** The shipped webhook configurations (manifests/base/webhooks.yaml) with `url` and `caBundle` set. */
export async function shippedWebhooks(baseUrl: string, caPem: string): Promise<WebhookConfiguration[]> {
  const text = await readFile(join(ROOT, 'manifests', 'base', 'webhooks.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => {
    const config = d.toJS() as WebhookConfiguration;
    for (const hook of config.webhooks) {
      const path = hook.clientConfig.service?.path ?? '/';
      hook.clientConfig = { url: `${baseUrl}${path}`, caBundle: Buffer.from(caPem).toString('base64') };
    }
    return config;
  });
}

export async function registerWebhooks(kubeconfig: string, serve: ServeProcess): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const config of await shippedWebhooks(`https://127.0.0.1:${serve.port}`, serve.caPem)) await client.create(config);
}

/** JSON log lines of a serve process. */
export function logLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
