/**
 * OpenTelemetry through the real `@opentelemetry/api` (a dev dependency here, an optional peer for
 * users) with the real SDK's in-memory exporters: spans per token request and discovery, metrics
 * for requests, durations and cache results; nothing when `telemetry: false`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type DataPoint, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { TokenClient, TokenError } from './index.ts';

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

// Providers are registered before any client exists (the metrics API has no proxy meter).
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
trace.setGlobalTracerProvider(tracerProvider);
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
metrics.setGlobalMeterProvider(meterProvider);

/** Sum data points of `name` as "attributes → value" strings. */
async function sums(name: string): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of (metric as SumMetricData).dataPoints as Array<DataPoint<number>>) {
        out[Object.entries(point.attributes).map(([k, v]) => `${k}=${String(v)}`).join(',')] = point.value;
      }
    }
  }
  return out;
}

describe('OpenTelemetry', () => {
  let server: Server;
  let origin = '';
  let fail = false;

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '';
        res.setHeader('content-type', 'application/json');
        if (path === '/.well-known/oauth-authorization-server') return res.end(JSON.stringify({ issuer: origin, token_endpoint: `${origin}/token` }));
        if (fail) {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: 'invalid_scope' }));
        }
        res.end(JSON.stringify({ access_token: 'tok', token_type: 'Bearer', expires_in: 300 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });

  it('records spans and metrics for token requests, discovery and cache results', async () => {
    const c = new TokenClient({ issuer: origin, clientId: 'svc', auth: { method: 'client_secret_post', clientSecret: 's3cret' } });
    await c.getToken({ scope: 'read' });
    await c.getToken({ scope: 'read' });
    await c.getToken({ scope: 'read' });
    fail = true;
    await assert.rejects(c.getToken({ scope: 'admin' }), TokenError);
    fail = false;

    const finished = spans.getFinishedSpans();
    assert.deepEqual(finished.map((s) => s.name).sort(), ['tessera.client.discovery', 'tessera.client.token', 'tessera.client.token']);
    const [ok, failed] = finished.filter((s) => s.name === 'tessera.client.token');
    assert.equal(ok!.attributes['oauth.scope'], 'read');
    assert.equal(ok!.attributes['oauth.client_id'], 'svc');
    assert.equal(ok!.attributes['tessera.background'], false);
    assert.notEqual(ok!.status.code, SpanStatusCode.ERROR);
    assert.equal(failed!.status.code, SpanStatusCode.ERROR);
    assert.equal(failed!.events[0]?.name, 'exception');
    assert.ok(!JSON.stringify(finished.map((s) => s.attributes)).includes('s3cret'));

    assert.deepEqual(await sums('tessera.client.token.requests'), {
      'tessera.outcome=success,tessera.background=false': 1,
      'tessera.outcome=error,tessera.background=false': 1,
    });
    assert.deepEqual(await sums('tessera.client.token.cache'), { 'tessera.cache.result=miss': 2, 'tessera.cache.result=hit': 2 });
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    assert.ok(names.includes('tessera.client.token.duration'));
  });

  it('telemetry: false records nothing', async () => {
    spans.reset();
    const before = await sums('tessera.client.token.cache');
    const c = new TokenClient({ issuer: origin, clientId: 'svc', auth: { method: 'client_secret_post', clientSecret: 's' }, telemetry: false });
    await c.getToken();
    await c.getToken();
    assert.equal(spans.getFinishedSpans().length, 0);
    assert.deepEqual(await sums('tessera.client.token.cache'), before);
  });
});
