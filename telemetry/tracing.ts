// OpenTelemetry traces, when the standard OTEL_* variables ask for them (config: tracingSettings).
// The composition roots start it once; everything else only learns whether it is on.
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Context } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { tracingSettings, type Config } from '../config/config.js';

export interface Tracing {
  /** What every span of this process is about (service.name…): the worker's workflow spans need it too. */
  resource: Resource;
  /** The provider's batching processor: the worker hands it the spans its workflows end. */
  spanProcessor: SpanProcessor;
  /** Exports what is still batched and stops; call it on the way out, after the last span ended. */
  shutdown(): Promise<void>;
}

/**
 * Registers the global tracer provider (OTLP over HTTP, batched) and the W3C trace-context
 * propagator when config says tracing is on; otherwise registers nothing and returns undefined,
 * so the instrumentation that depends on it is never installed.
 */
export function startTracing(config: Config, defaultServiceName: string): Tracing | undefined {
  const settings = tracingSettings(config, defaultServiceName);
  if (!settings) return undefined;
  // OTEL_RESOURCE_ATTRIBUTES first, then the service name config decided.
  const resource = Resource.default()
    .merge(envDetectorSync.detect())
    .merge(new Resource({ 'service.name': settings.serviceName }));
  // The exporter reads its URL, headers and timeout from OTEL_EXPORTER_OTLP_*; the processor its
  // batching from OTEL_BSP_*.
  const spanProcessor = new WithoutErrorText(new BatchSpanProcessor(new OTLPTraceExporter()));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/**
 * Spans leave with their errors named by type only (`exception.type`, the status code): an error's
 * message and stack can quote an address (a validation error, a provider's refusal, drizzle's
 * bound values), and the instrumentations record both. The text stays in the logs and in Temporal.
 */
export class WithoutErrorText implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}
  onStart(span: Span, parent: Context): void {
    this.next.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    const events = span.events.map((e) => {
      if (e.name !== 'exception') return e;
      const type = e.attributes?.['exception.type'];
      return { ...e, attributes: type === undefined ? {} : { 'exception.type': type } };
    });
    // A view over the span (its methods and every other field through the prototype), not a copy.
    this.next.onEnd(
      Object.create(span, { events: { value: events }, status: { value: { code: span.status.code } } }) as ReadableSpan,
    );
  }
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
