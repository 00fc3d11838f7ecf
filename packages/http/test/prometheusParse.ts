// Reads Prometheus text back with an independent parser (prom2javascript), so the tests check the format, not our
// own reading of it.
import { getMetricsFromIterator, type PromHistogramData, type PromMetrics } from "prom2javascript"

/** Parses Prometheus text; rejects on malformed text. */
export const parsePrometheus = (text: string): Promise<PromMetrics> =>
  getMetricsFromIterator(text.split("\n")[Symbol.iterator]())

/** One sample of a counter or gauge family whose labels include `labels` (undefined when none matches). */
export const sample = (metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number | undefined => {
  const family = metrics[name]
  if (family === undefined) return undefined
  const found = (family.data as ReadonlyArray<{ labels: Record<string, string>; value?: number }>).find((data) =>
    Object.entries(labels).every(([key, value]) => data.labels[key] === value)
  )
  return found?.value
}

/** The sum of a counter family's samples whose labels include `labels`. */
export const total = (metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number => {
  const family = metrics[name]
  if (family === undefined) return 0
  return (family.data as ReadonlyArray<{ labels: Record<string, string>; value?: number }>)
    .filter((data) => Object.entries(labels).every(([key, value]) => data.labels[key] === value))
    .reduce((sum, data) => sum + (data.value ?? 0), 0)
}

/** The histogram series of a family whose labels include `labels`. */
export const histograms = (
  metrics: PromMetrics,
  name: string,
  labels: Record<string, string> = {}
): ReadonlyArray<PromHistogramData> =>
  ((metrics[name]?.data ?? []) as ReadonlyArray<PromHistogramData>).filter((data) =>
    Object.entries(labels).every(([key, value]) => data.labels[key] === value)
  )
