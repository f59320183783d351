import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { loadConfig, tracingSettings } from '../../config/config.js';
import { startTracing, WithoutErrorText } from '../../telemetry/tracing.js';

const settings = (env: Record<string, string>) => tracingSettings(loadConfig(env), 'mailroom-api');
const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

describe('tracing', () => {
  it('is on only with an OTLP endpoint, and off whenever OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none says so', () => {
    expect(settings({})).toBeUndefined();
    expect(settings(endpoint)).toEqual({ serviceName: 'mailroom-api' });
    expect(settings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toEqual({
      serviceName: 'mailroom-api',
    });
    expect(settings({ ...endpoint, OTEL_SERVICE_NAME: 'mail-eu' })).toEqual({ serviceName: 'mail-eu' });
    expect(settings({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(settings({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(() => settings({ ...endpoint, OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });

  it('registers nothing when off: spans do not record and no trace context is propagated', () => {
    expect(startTracing(loadConfig({}), 'mailroom-api')).toBeUndefined();
    expect(startTracing(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }), 'mailroom-api')).toBeUndefined();
    const span = trace.getTracer('test').startSpan('s');
    expect(span.isRecording()).toBe(false);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    expect(carrier).toEqual({});
  });

  it('exports an error by its type only: its message and stack can quote an address', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new WithoutErrorText(new SimpleSpanProcessor(exporter))],
    });
    const span = provider.getTracer('test').startSpan('s');
    const err = Object.assign(new Error('ana@example.com is not suppressed'), { name: 'not_found' });
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    span.end();
    await provider.forceFlush();
    const [exported] = exporter.getFinishedSpans();
    expect(exported!.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(exported!.events).toEqual([
      expect.objectContaining({ name: 'exception', attributes: { 'exception.type': 'not_found' } }),
    ]);
    expect(exported!.spanContext()).toEqual(span.spanContext());
    expect(JSON.stringify(exported!.events)).not.toContain('ana@');
  });
});
