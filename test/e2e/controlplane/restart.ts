/**
 * Stop and start the kube-apiserver of a running control plane (etcd keeps running), for fault
 * tests. Lives beside index.ts without changing it: the apiserver's command line is read back from
 * /proc/<pid>/cmdline, the process is stopped with SIGTERM (SIGKILL after 5 s) and started again
 * with the same arguments (same port, certificates in --cert-dir, token file, etcd), its output
 * appended to the same log. The restarted process is this module's child: call
 * `stopRestartedApiserver(cp)` before `cp.stop()` (cp.stop() only knows the original process).
 * Linux only (/proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { ControlPlane } from './index.js';
import { sleep } from '../../helpers/wait.js';

const restarted = new Map<string, ChildProcess>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


function readyz(cp: ControlPlane): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request(`${cp.url}/readyz`, { ca: cp.caPem, headers: { Authorization: `Bearer ${cp.users['admin']!.token}` }, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Stops the API server process; resolves with its argv once it is gone. */
export async function stopApiserver(cp: ControlPlane): Promise<string[]> {
  const pid = cp.pids.apiserver;
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  if (argv.length === 0) throw new Error(`cannot read the command line of kube-apiserver (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (alive(pid)) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(50);
  }
  return argv;
}

/** Starts the API server again with `argv` and waits for /readyz. */
export async function startApiserver(cp: ControlPlane, argv: string[], timeoutMs = 60_000): Promise<void> {
  const [bin, ...args] = argv;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
  const [cmd, cmdArgs] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', bin!, ...args]] : [bin!, args];
  const fd = fs.openSync(cp.logs().apiserver, 'a');
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  restarted.set(cp.dir, child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of restarted.values()) c.kill('SIGKILL');
    });
  }
  cp.pids.apiserver = child.pid ?? -1;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`restarted kube-apiserver exited (code ${child.exitCode}); see ${cp.logs().apiserver}`);
    if ((await readyz(cp)) === 200) return;
    if (Date.now() > deadline) throw new Error(`restarted kube-apiserver not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Stop, stay down for `downMs`, start again; resolves when /readyz answers 200 again. */
export async function restartApiserver(cp: ControlPlane, opts: { downMs?: number } = {}): Promise<{ downMs: number }> {
  const argv = await stopApiserver(cp);
  const stoppedAt = Date.now();
  await sleep(opts.downMs ?? 0);
  await startApiserver(cp, argv);
  return { downMs: Date.now() - stoppedAt };
}

/** Kills an API server started by this module for `cp` (call before cp.stop()). */
export async function stopRestartedApiserver(cp: ControlPlane): Promise<void> {
  const child = restarted.get(cp.dir);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await done;
  clearTimeout(t);
  restarted.delete(cp.dir);
}
