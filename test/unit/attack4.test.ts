// A fourth red-team pass, as a tenant, against the checks of the three before it: configuration the
// operators read that Redline did not (OT additionalRedisConfig, Spotahome spec.redis.command, an
// OT Redis on another image than the operator's). Each was admitted before the fix that came with
// this file, and sits beside a control.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import { viewOf, practices } from '../helpers/workloads.js';


const NS = 'tenant-acme';
const claim = { persistentVolumeClaim: { metadata: { name: 'd' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } };

// OT-Container-Kit mounts spec.redisConfig.additionalRedisConfig (a tenant ConfigMap) at
// /etc/redis/external.conf.d (k8sutils/statefulset.go getVolumeMount), and the image's entrypoint
// includes /etc/redis/external.conf.d/redis-additional.conf, the default EXTERNAL_CONFIG_FILE,
// after the password, persistence, TLS and port lines it writes (OT-CONTAINER-KIT/redis
// entrypoint.sh external_config): the same include Redline refuses when spec.env names the file.
describe('OT-Container-Kit: spec.redisConfig.additionalRedisConfig is included after the operator\'s settings', () => {
  const ot = (spec: JsonObject): JsonObject => ({
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'Redis', metadata: { name: 'orders', namespace: NS },
    spec: {
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', redisSecret: { name: 'orders-auth', key: 'password' } },
      storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
      TLS: { secret: { secretName: 'orders-tls' } },
      ...spec,
    },
  });

  it('control: spec.env EXTERNAL_CONFIG_FILE is refused as turning authentication off', () => {
    const object = ot({ env: [{ name: 'EXTERNAL_CONFIG_FILE', value: '/etc/redis/external.conf.d/redis-additional.conf' }] });
    expect(practices(object).auth.disabled).toEqual([expect.stringContaining('EXTERNAL_CONFIG_FILE')]);
    expect(practices(ot({})).auth).toMatchObject({ missing: '', disabled: [], unknown: [] });
  });

  it('a ConfigMap named in additionalRedisConfig (the same include, at the default path) is at least reported as authentication Redline cannot see', () => {
    const a = practices(ot({ redisConfig: { additionalRedisConfig: 'orders-extra' } })).auth;
    expect([...a.disabled, ...a.unknown]).not.toEqual([]);
  });

  it.each([
    ['RedisReplication', { clusterSize: 3, redisConfig: { additionalRedisConfig: 'orders-extra' } }],
    ['RedisCluster', { clusterSize: 3, persistenceEnabled: true, redisLeader: { redisConfig: { additionalRedisConfig: 'orders-extra' } } }],
    ['RedisCluster', { clusterSize: 3, persistenceEnabled: true, redisFollower: { redisConfig: { additionalRedisConfig: 'orders-extra' } } }],
  ] as [string, JsonObject][])('%s %j: the same include is reported too', (kind, spec) => {
    const object = { ...ot(spec), kind };
    const a = practices(object).auth;
    expect([...a.disabled, ...a.unknown]).not.toEqual([]);
  });

  it('…as a warning only: a tenant cannot write ConfigMaps (rbac-tenant.yaml), so the file is the platform\'s, and TLS and persistence are judged from the CR', () => {
    const object = ot({ redisConfig: { additionalRedisConfig: 'orders-extra' } });
    expect(practices(object).auth).toMatchObject({ disabled: [], unknown: [expect.stringContaining('spec.redisConfig.additionalRedisConfig ConfigMap orders-extra is included after')] });
    expect(viewOf(object).tls.enabled).toBe(true);
    expect(practices(object).persistence.durable).toBe(true);
  });
});

// Spotahome writes the password into /redis/redis.conf (generateRedisConfigMap: "requirepass
// <password>") and starts the server with it only by default: getRedisCommand returns
// spec.redis.command whenever it is set (operator/redisfailover/service/generator.go).
describe('Spotahome: spec.redis.command replaces "redis-server /redis/redis.conf", where the password is', () => {
  const failover = (redis: JsonObject): JsonObject => ({
    apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: { name: 'cache', namespace: NS },
    spec: { auth: { secretPath: 'cache-auth' }, redis: { replicas: 3, storage: claim, ...redis }, sentinel: {} },
  });

  it('control: the default command, and an explicit one that keeps the config file, are protected and durable', () => {
    for (const redis of [{}, { command: ['redis-server', '/redis/redis.conf'] }] as JsonObject[]) {
      expect(practices(failover(redis)).auth).toMatchObject({ missing: '', disabled: [], literal: [] });
      expect(practices(failover(redis)).persistence.durable).toBe(true);
    }
  });

  it.each([
    [['redis-server']],
    [['redis-server', '--port', '6379', '--protected-mode', 'no']],
    [['redis-server', '/redis/redis.conf', '--requirepass', '']],
  ])('command %j starts the server without the password', (command) => {
    const a = practices(failover({ command })).auth;
    expect(a.missing !== '' || a.disabled.length > 0).toBe(true);
  });

  it.each([
    [['redis-server', '/redis/redis.conf', '--save', '', '--appendonly', 'no']],
    [['redis-server', '/redis/redis.conf', '--dir', '/tmp']],
  ])('command %j keeps nothing on the claim at /data', (command) => {
    expect(practices(failover({ command })).persistence.durable).toBe(false);
  });
});

// OT-Container-Kit sets no command on the Redis container (k8sutils/statefulset.go
// generateContainerDef): REDIS_PASSWORD and TLS_MODE become requirepass and tls-port only through
// its own image's entrypoint (OT-CONTAINER-KIT/redis entrypoint.sh set_redis_password, tls_setup).
// The Docker official image ignores both and is built with protected-mode off (docker-library/redis
// Dockerfile), and the plans ship with images.allowed: [] (any image).
describe('OT-Container-Kit: spec.kubernetesConfig.image other than the operator\'s own image', () => {
  const ot = (image: string): JsonObject => ({
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'Redis', metadata: { name: 'orders', namespace: NS },
    spec: {
      kubernetesConfig: { image, redisSecret: { name: 'orders-auth', key: 'password' } },
      storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
      TLS: { secret: { secretName: 'orders-tls' } },
    },
  });

  it('control: quay.io/opstree/redis is protected and has TLS', () => {
    const object = ot('quay.io/opstree/redis:v7.0.15');
    expect(practices(object).auth).toMatchObject({ missing: '', disabled: [], unknown: [] });
    expect(viewOf(object).tls.enabled).toBe(true);
  });

  it.each(['redis:7.2.4', 'docker.io/library/redis:7.2.4', 'valkey/valkey:8.0'])('%s never reads REDIS_PASSWORD: at least reported as authentication Redline cannot see', (image) => {
    const object = ot(image);
    const a = practices(object).auth;
    expect([...a.disabled, ...a.unknown, a.missing].filter(Boolean)).not.toEqual([]);
  });

  it('redis:7.2.4 never reads TLS_MODE: spec.TLS is not taken as TLS on', () => {
    expect(viewOf(ot('redis:7.2.4')).tls.enabled).toBe(false);
  });
});
