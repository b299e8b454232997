import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import keySlot from 'cluster-key-slot';
import { freePort } from './redis-server';
import { waitFor } from './wait-for';

/**
 * A throwaway Redis Cluster on free ports: `masters` masters with `replicasPerMaster` replicas each, made by
 * `redis-cli --cluster create`, as an operator would. Each node has its own temp dir (nodes.conf), no persistence, and
 * a bus port of its own choosing (`--cluster-port`: the default, port + 10000, may not exist above 55535).
 * `cluster-node-timeout` is low (1 s by default) so a killed master is replaced in a few seconds, not 30.
 */
export interface ThrowawayCluster {
  /** Every node, `127.0.0.1:port,...`: what REDIS_CLUSTER_NODES takes. */
  nodes: string;
  ports: number[];
  /** Pids of the nodes still running. */
  pids(): number[];
  dirs: string[];
  /** The port of the master serving `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the master serving `key`'s slot (any master without a key); answers its port once it has exited. */
  killMaster(key?: string): Promise<number>;
  /** Resolves once the cluster is whole again (see waitHealthy); throws past the deadline. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  nodeTimeoutMs?: number;
}

interface NodeProcess {
  port: number;
  dir: string;
  child: ChildProcess;
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  /** [from, to] ranges this master serves. */
  slots: Array<[number, number]>;
}

const CLI_TIMEOUT_MS = 5000;

/** `redis-cli -p <port> args...`, its stdout (CRLFs dropped); rejects when it fails or hangs. */
export function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout.replace(/\r/g, ''));
    });
  });
}

function parseNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(addr.split('@')[0].split(':').at(-1)),
        flags: flags.split(','),
        masterId,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [from, to] = s.split('-').map(Number);
            return [from, to ?? from] as [number, number];
          }),
      };
    });
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1];

export async function startRedisCluster(opts: ClusterOptions = {}): Promise<ThrowawayCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const count = masters * (1 + replicas);
  const nodes: NodeProcess[] = [];
  const allocated: number[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map(({ child }) => killAndWait(child)));
    await Promise.all(nodes.map(({ dir }) => fs.rm(dir, { recursive: true, force: true })));
  };

  const running = () => nodes.filter(({ child }) => child.exitCode === null && child.signalCode === null);

  try {
    for (let i = 0; i < count; i++) {
      const [port, busPort] = await distinctFreePorts(2, allocated);
      allocated.push(port, busPort);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ragmem-cluster-${port}-`));
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--cluster-port',
          String(busPort),
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      child.on('error', () => undefined);
      child.unref(); // owned and stopped explicitly; it must not keep the test runner alive
      nodes.push({ port, dir, child });
    }
    await Promise.all(
      nodes.map(({ port }) =>
        waitFor(
          `redis-server on ${port} to answer`,
          () =>
            redisCli(port, 'ping').then(
              (out) => (out.trim() === 'PONG' ? true : undefined),
              () => undefined,
            ),
          10_000,
          50,
        ),
      ),
    );
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map(({ port }) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(),
      );
    });
  } catch (err) {
    await stop();
    throw err;
  }

  const view = async () => parseNodes(await redisCli(running()[0].port, 'cluster', 'nodes'));

  const masterOf = async (key: string) => {
    const slot = keySlot(key);
    const owner = (await view()).find((n) => n.flags.includes('master') && n.slots.some(([from, to]) => slot >= from && slot <= to));
    if (!owner) throw new Error(`no master serves slot ${slot} now`);
    return owner.port;
  };

  /**
   * Whole: every running node says cluster_state:ok and sees each of its masters with slots alive (a node that has not
   * noticed a killed master yet still says ok), every running replica's link to its master is up (a failover needs a
   * replica in sync), and there are as many serving masters as at the start.
   */
  const waitHealthy = async (timeoutMs = 30_000) => {
    await waitFor(
      'the Redis Cluster to be whole',
      async () => {
        const live = running();
        const livePorts = new Set(live.map((n) => n.port));
        for (const { port } of live) {
          const [info, nodesText, replication] = await Promise.all([
            redisCli(port, 'cluster', 'info'),
            redisCli(port, 'cluster', 'nodes'),
            redisCli(port, 'info', 'replication'),
          ]).catch(() => [undefined, undefined, undefined]);
          if (!info || !nodesText || !replication) return undefined;
          if (infoField(info, 'cluster_state') !== 'ok') return undefined;
          const serving = parseNodes(nodesText).filter((n) => n.flags.includes('master') && n.slots.length > 0);
          if (serving.length !== masters || serving.some((n) => !livePorts.has(n.port) || n.flags.some((f) => f.startsWith('fail'))))
            return undefined;
          if (infoField(replication, 'role') === 'slave' && infoField(replication, 'master_link_status') !== 'up') return undefined;
        }
        return true;
      },
      timeoutMs,
      100,
    );
  };

  const killMaster = async (key?: string) => {
    const port =
      key !== undefined ? await masterOf(key) : (await view()).find((n) => n.flags.includes('master') && n.slots.length > 0)!.port;
    const node = nodes.find((n) => n.port === port)!;
    await killAndWait(node.child);
    return port;
  };

  try {
    await waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: nodes.map(({ port }) => `127.0.0.1:${port}`).join(','),
    ports: nodes.map(({ port }) => port),
    pids: () => running().map(({ child }) => child.pid!),
    dirs: nodes.map(({ dir }) => dir),
    masterOf,
    killMaster,
    waitHealthy,
    stop,
  };
}

/** Kills what a globalSetup started, from the pids and dirs it left in the environment (no module state is shared). */
export async function stopClusterProcesses(pids: number[], dirs: string[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // The child is unref'd: a timer keeps this process alive until its exit is seen.
    const keepAlive = setInterval(() => undefined, 1000);
    child.once('exit', () => {
      clearInterval(keepAlive);
      resolve();
    });
    child.kill('SIGKILL');
  });
}

async function distinctFreePorts(n: number, taken: number[]): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const port = await freePort();
    if (!out.includes(port) && !taken.includes(port)) out.push(port);
  }
  return out;
}
