// The metrics handler's text: Prometheus exposition format that a Prometheus parser reads back exactly.
import { describe, expect, it } from "@effect/vitest"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import { Hono } from "hono"
import { Metrics } from "../src/index.js"
import { histograms, parsePrometheus, sample } from "./prometheusParse.js"

// names of this file only, so other tests' metrics in the same registry never meet these
const counter = Metric.counter("metricstext_requests_total", { description: "Requests, with a \\ and a\nnewline" })
const gauge = Metric.gauge("metricstext_depth")
const histogram = Metric.histogram("metricstext_seconds", MetricBoundaries.fromIterable([0.1, 1, 10]), "Seconds")

const scrape = async (include?: (name: string) => boolean) => {
  const app = new Hono()
  app.get("/metrics", Metrics.metrics(include === undefined ? {} : { include }))
  const response = await app.request("/metrics")
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
  return response.text()
}

describe("the metrics handler", () => {
  it("writes counters, gauges and histograms that a Prometheus parser reads back, labels escaped", async () => {
    const odd = 'a "quoted" \\ value\nwith a newline'
    counter.unsafeUpdate(3, [MetricLabel.make("route", odd)])
    counter.unsafeUpdate(2, [MetricLabel.make("route", "/jobs")])
    gauge.unsafeUpdate(7, [])
    for (const seconds of [0.05, 0.5, 0.5, 5, 50]) histogram.unsafeUpdate(seconds, [MetricLabel.make("kind", "x")])

    const text = await scrape((name) => name.startsWith("metricstext_"))
    const metrics = await parsePrometheus(text)
    expect(Object.keys(metrics).sort()).toEqual([
      "metricstext_depth",
      "metricstext_requests_total",
      "metricstext_seconds"
    ])

    expect(metrics["metricstext_requests_total"]!.type).toBe("counter")
    // HELP escapes a backslash and a newline (the parser keeps the escapes, so read the line itself)
    expect(text).toContain("# HELP metricstext_requests_total Requests, with a \\\\ and a\\nnewline\n")
    expect(sample(metrics, "metricstext_requests_total", { route: odd })).toBe(3)
    expect(sample(metrics, "metricstext_requests_total", { route: "/jobs" })).toBe(2)

    expect(metrics["metricstext_depth"]!.type).toBe("gauge")
    expect(sample(metrics, "metricstext_depth")).toBe(7)

    expect(metrics["metricstext_seconds"]!.type).toBe("histogram")
    const [seconds, ...others] = histograms(metrics, "metricstext_seconds")
    expect(others).toHaveLength(0)
    // cumulative buckets, +Inf equal to the count
    expect(seconds).toMatchObject({
      labels: { kind: "x" },
      buckets: { "0.1": 1, "1": 3, "10": 4, "+Inf": 5 },
      count: 5
    })
    expect(seconds!.sum).toBeCloseTo(56.05)
  })

  it("serves only jobloom's series by default", async () => {
    counter.unsafeUpdate(1, [])
    const text = await scrape()
    expect(text).not.toContain("metricstext_")
    for (const name of Object.keys(await parsePrometheus(text))) expect(name).toMatch(/^jobloom_/)
  })
})
