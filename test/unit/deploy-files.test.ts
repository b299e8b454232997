import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';

/**
 * No Docker engine runs here: the compose file, the image and the observability files are held by reading them as
 * `docker compose`, Prometheus and Grafana would. That the dashboard's queries name real metrics is checked against a
 * real scrape (test/component/worker-metrics.test.ts).
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const yaml = require('js-yaml') as { safeLoad(text: string): any };
const compose = yaml.safeLoad(read('docker-compose.yml'));

/** A bind mount's host path (relative to the compose file) and its target; named volumes are left out. */
function bindMounts(service: { volumes?: string[] }): Array<{ source: string; target: string }> {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source.startsWith('./'))
    .map(([source, target]) => ({ source, target }));
}

describe('docker-compose.yml', () => {
  it('When the stack starts, then the API and the workers wait for Qdrant to be healthy (ready), not merely started', () => {
    for (const name of ['api', 'worker']) expect(compose.services[name].depends_on.qdrant).toEqual({ condition: 'service_healthy' });
    const [kind, shell, flag, script] = compose.services.qdrant.healthcheck.test;
    // The qdrant image has bash but no curl or wget: the probe is bash's /dev/tcp asking /readyz for a 200.
    expect([kind, shell, flag]).toEqual(['CMD', 'bash', '-c']);
    expect(script).toContain('/dev/tcp/127.0.0.1/6333');
    expect(script).toContain('GET /readyz');
    expect(script).toContain("*' 200 '*");
    // `$$` is how compose writes a literal `$` (a single one would be interpolated from the host's environment).
    expect(script).toContain('$$status');
    expect(script).not.toMatch(/curl|wget/);
  });

  it('When workers run as their own containers, then each serves /metrics on WORKER_METRICS_PORT behind the admin key, and is checked on /healthz', () => {
    const worker = compose.services.worker;
    expect(worker.environment.WORKER_METRICS_PORT).toBe('9464');
    expect(worker.environment.ADMIN_API_KEY).toBe('${ADMIN_API_KEY:-}');
    expect(worker.healthcheck.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
  });

  it('When the observability profile is chosen, then Prometheus and Grafana start with files that exist, on loopback only', () => {
    const { prometheus, grafana } = compose.services;
    for (const service of [prometheus, grafana]) {
      expect(service.profiles).toEqual(['observability']);
      for (const { source } of bindMounts(service)) expect(fs.existsSync(path.join(ROOT, source))).toBe(true);
      for (const port of service.ports) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
    // Every other service starts without the profile.
    for (const [name, service] of Object.entries<{ profiles?: string[] }>(compose.services)) {
      if (name !== 'prometheus' && name !== 'grafana') expect(service.profiles ?? []).not.toContain('observability');
    }
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    expect(grafana.image).toMatch(/^grafana\/grafana:\d/);
    expect(bindMounts(prometheus)).toContainEqual({
      source: './deploy/prometheus/prometheus.yml',
      target: '/etc/prometheus/prometheus.yml',
    });
    expect(bindMounts(grafana)).toEqual(
      expect.arrayContaining([
        { source: './deploy/grafana/provisioning', target: '/etc/grafana/provisioning' },
        { source: './deploy/grafana/ragmem-dashboard.json', target: '/etc/grafana/dashboards/ragmem-dashboard.json' },
      ]),
    );
    // The admin key reaches Prometheus as a secret file, from the host's ADMIN_API_KEY (never written in a file here).
    expect(prometheus.secrets).toEqual(['ragmem_admin_key']);
    expect(compose.secrets.ragmem_admin_key).toEqual({ environment: 'ADMIN_API_KEY' });
  });
});

describe('docker-compose.yml, the cluster profile', () => {
  const CLUSTER = ['redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-6'];
  const services = compose.services;
  const nodeList = CLUSTER.map((n) => `${n}:6379`);

  it('When the cluster profile is chosen, then its services start with it only, and the default stack stays as it was', () => {
    const profiled = Object.entries<{ profiles?: string[] }>(services)
      .filter(([, service]) => service.profiles?.includes('cluster'))
      .map(([name]) => name)
      .sort();
    expect(profiled).toEqual([...CLUSTER, 'cluster-api', 'cluster-proxy', 'cluster-worker', 'redis-cluster-init'].sort());
    for (const name of profiled) expect(services[name].profiles).toEqual(['cluster']);
    for (const name of ['api', 'worker', 'redis', 'qdrant']) expect(services[name].profiles).toBeUndefined();
    expect(services.api.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(services.api.environment.REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it('When the six nodes start, then each is a cluster node announcing its service name, with its own volume and a healthcheck', () => {
    const conf = read('deploy/redis-cluster/cluster.conf');
    expect(conf).toMatch(/^cluster-enabled yes$/m);
    expect(conf).toMatch(/^cluster-preferred-endpoint-type hostname$/m);
    expect(conf).toMatch(/^cluster-config-file \/data\/nodes\.conf$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    for (const name of CLUSTER) {
      const node = services[name];
      expect(node.image).toMatch(/^redis:7\./);
      expect(node.command).toEqual(['redis-server', '/usr/local/etc/redis/cluster.conf', '--cluster-announce-hostname', name]);
      expect(bindMounts(node)).toContainEqual({
        source: './deploy/redis-cluster/cluster.conf',
        target: '/usr/local/etc/redis/cluster.conf',
      });
      expect(node.volumes).toContain(`${name}:/data`);
      expect(compose.volumes).toHaveProperty(name);
      expect(node.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    }
  });

  it('When the nodes are healthy, then one init service makes them a cluster of three masters with a replica each, once', () => {
    const init = services['redis-cluster-init'];
    expect(init.restart).toBe('no');
    expect(init.command).toEqual(['sh', '/create-cluster.sh']);
    expect(bindMounts(init)).toEqual([{ source: './deploy/redis-cluster/create-cluster.sh', target: '/create-cluster.sh' }]);
    expect(init.environment.CLUSTER_NODES.split(' ')).toEqual(nodeList);
    for (const name of CLUSTER) expect(init.depends_on[name]).toEqual({ condition: 'service_healthy' });
    const script = read('deploy/redis-cluster/create-cluster.sh');
    expect(script).toContain('redis-cli --cluster create $CLUSTER_NODES --cluster-replicas 1 --cluster-yes');
    // Not again on a restart (the nodes already know each other), and done only once every slot is served.
    expect(script).toContain('cluster_known_nodes');
    expect(script).toContain('cluster_state');
  });

  it('When the API and the workers start, then they reach every part through REDIS_CLUSTER_NODES (a valid configuration), after the init', () => {
    const api = services['cluster-api'];
    const worker = services['cluster-worker'];
    for (const service of [api, worker]) {
      expect(service.environment.REDIS_CLUSTER_NODES.split(',')).toEqual(nodeList);
      expect(service.environment.REDIS_URL).toBeUndefined();
      expect(service.depends_on['redis-cluster-init']).toEqual({ condition: 'service_completed_successfully' });
      expect(service.depends_on.qdrant).toEqual({ condition: 'service_healthy' });
      expect(service.deploy.replicas).toBeGreaterThanOrEqual(2);
      // What the service itself would make of its environment, with compose's defaults (`${VAR:-default}`) filled in.
      const env = Object.fromEntries(
        Object.entries<string>(service.environment).map(([name, value]) => [name, value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
      );
      const config = loadConfig(env);
      expect(config.redis).toMatchObject({ mode: 'cluster', nodes: CLUSTER.map((host) => ({ host, port: 6379 })) });
    }
    expect(api.environment.RUN_WORKERS).toBe('off');
    expect(api.ports).toBeUndefined();
    expect(api.healthcheck.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
    expect(worker.environment.WORKER_METRICS_PORT).toBe('9464');
    expect(worker.healthcheck.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
    expect(api.volumes).toEqual(['cluster-sources:/data']);
    expect(worker.volumes).toEqual(['cluster-sources:/data']);
  });

  it('When clients come in, then the proxy spreads them over every API replica it finds by the service name, and is checked on /readyz', () => {
    const proxy = services['cluster-proxy'];
    expect(proxy.image).toMatch(/^caddy:2\./);
    expect(bindMounts(proxy)).toEqual([{ source: './deploy/caddy/Caddyfile', target: '/etc/caddy/Caddyfile' }]);
    expect(proxy.ports).toEqual(['${RAGMEM_CLUSTER_PORT:-3080}:8080']);
    expect(proxy.depends_on['cluster-api']).toEqual({ condition: 'service_healthy' });
    expect(proxy.healthcheck.test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/readyz']);
    const caddyfile = read('deploy/caddy/Caddyfile');
    expect(caddyfile).toMatch(/^:8080 \{/m);
    expect(caddyfile).toMatch(/dynamic a cluster-api 3000/);
    expect(caddyfile).toMatch(/lb_policy round_robin/);
    expect(caddyfile).toMatch(/flush_interval -1/);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  const config = yaml.safeLoad(read('deploy/prometheus/prometheus.yml'));
  const jobs = new Map<string, any>(config.scrape_configs.map((job: { job_name: string }) => [job.job_name, job]));

  it('When Prometheus scrapes, then it reads the API and every worker replica with the admin key as bearer credentials', () => {
    expect([...jobs.keys()].sort()).toEqual(['ragmem-api', 'ragmem-worker']);
    for (const job of jobs.values()) {
      expect(job.metrics_path).toBe('/metrics');
      expect(job.authorization).toEqual({ type: 'Bearer', credentials_file: '/run/secrets/ragmem_admin_key' });
    }
    expect(jobs.get('ragmem-api').static_configs).toEqual([{ targets: ['api:3000'] }]);
    // The compose service name resolves to each replica: `--scale worker=N` is found without a change here.
    expect(jobs.get('ragmem-worker').dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker'], type: 'A', port: 9464 })]);
    expect(compose.services.api.ports[0]).toMatch(/:3000"?$/);
  });
});

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(read('deploy/grafana/ragmem-dashboard.json'));
  const datasources = yaml.safeLoad(read('deploy/grafana/provisioning/datasources/prometheus.yml')).datasources;
  const providers = yaml.safeLoad(read('deploy/grafana/provisioning/dashboards/ragmem.yml')).providers;

  it('When Grafana starts, then it provisions the Prometheus datasource the dashboard names, and loads the dashboard from where compose mounts it', () => {
    expect(datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    expect(providers).toEqual([expect.objectContaining({ type: 'file', options: { path: '/etc/grafana/dashboards' } })]);
    const panels = dashboard.panels.filter((p: { type: string }) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.expr).toEqual(expect.any(String));
    }
  });

  it('When the dashboard is read, then it covers HTTP, asks, queues, jobs, caches, breakers, rate limits, tokens and cost', () => {
    const exprs = JSON.stringify(dashboard.panels);
    for (const name of [
      'ragmem_http_request_duration_seconds_bucket',
      'ragmem_ask_stage_seconds_bucket',
      'ragmem_queue_depth',
      'ragmem_job_duration_seconds_bucket',
      'ragmem_job_wait_seconds_bucket',
      'ragmem_cache_lookups_total',
      'ragmem_model_breaker_state',
      'ragmem_rate_limit_waits_total',
      'ragmem_rate_limit_wait_seconds_total',
      'ragmem_model_tokens_total',
      'ragmem_model_cost_usd_total',
    ]) {
      expect(exprs).toContain(name);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('When the image runs, then tini is PID 1 (signals reach node, orphaned OCR children are reaped) and a HEALTHCHECK fetches /readyz', () => {
    expect(dockerfile).toMatch(/apt-get install[^\n]*\btini\b/);
    expect(dockerfile).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(dockerfile).toMatch(
      /^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|3000\)\+'\/readyz'\)/m,
    );
    // The exec form: node is tini's child, no shell in between.
    expect(dockerfile).toContain('CMD ["node", "dist/src/server.js"]');
  });
});
