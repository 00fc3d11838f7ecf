/**
 * Effect's metric registry as Prometheus text (exposition format 0.0.4). Small on purpose: jobloom's series are a
 * dozen counters, gauges and histograms whose names are already Prometheus names, and a library for this would either
 * keep a registry of its own (prom-client) or rename series by OpenTelemetry's rules (the OTel exporter).
 */
import type * as MetricKey from "effect/MetricKey"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/** The content type of the text this module writes. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const invalidName = /[^a-zA-Z0-9_:]/g
const invalidLabel = /[^a-zA-Z0-9_]/g

/** A metric name Prometheus accepts: other characters become `_`, and a leading digit gets a `_` before it. */
export const metricName = (name: string): string => {
  const cleaned = name.replace(invalidName, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

const labelName = (name: string): string => {
  const cleaned = name.replace(invalidLabel, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const escapeHelp = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value as Prometheus writes it. */
export const formatValue = (value: number | bigint): string =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isNaN(value)
      ? "NaN"
      : value === Infinity
        ? "+Inf"
        : value === -Infinity
          ? "-Inf"
          : String(value)

const labelsText = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${labelName(k)}="${escapeLabel(v)}"`).join(",")}}`

type Family = {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  readonly help: string | undefined
  /** Each series' lines, kept together (a histogram's buckets in order), keyed by its labels for sorting. */
  readonly series: Array<{ readonly key: string; readonly lines: ReadonlyArray<string> }>
}

const typeOf = (state: unknown): Family["type"] | undefined =>
  MetricState.isCounterState(state) || MetricState.isFrequencyState(state)
    ? "counter"
    : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
        ? "histogram"
        : MetricState.isSummaryState(state)
          ? "summary"
          : undefined

const samples = (name: string, key: MetricKey.MetricKey.Untyped, state: unknown, lines: Array<string>): void => {
  const labels: Array<readonly [string, string]> = key.tags.map((tag) => [tag.key, tag.value] as const)
  if (MetricState.isCounterState(state) || MetricState.isGaugeState(state)) {
    const value = MetricState.isCounterState(state) ? state.count : state.value
    lines.push(`${name}${labelsText(labels)} ${formatValue(value)}`)
  } else if (MetricState.isFrequencyState(state)) {
    for (const [word, count] of state.occurrences) {
      lines.push(`${name}${labelsText([...labels, ["key", word]])} ${formatValue(count)}`)
    }
  } else if (MetricState.isHistogramState(state)) {
    // Effect's buckets are cumulative already, and end with +Infinity
    let sawInf = false
    for (const [bound, count] of state.buckets) {
      if (bound === Infinity) sawInf = true
      lines.push(`${name}_bucket${labelsText([...labels, ["le", formatValue(bound)]])} ${formatValue(count)}`)
    }
    if (!sawInf) lines.push(`${name}_bucket${labelsText([...labels, ["le", "+Inf"]])} ${formatValue(state.count)}`)
    lines.push(`${name}_sum${labelsText(labels)} ${formatValue(state.sum)}`)
    lines.push(`${name}_count${labelsText(labels)} ${formatValue(state.count)}`)
  } else if (MetricState.isSummaryState(state)) {
    for (const [quantile, value] of state.quantiles) {
      if (Option.isNone(value)) continue
      lines.push(`${name}${labelsText([...labels, ["quantile", formatValue(quantile)]])} ${formatValue(value.value)}`)
    }
    lines.push(`${name}_sum${labelsText(labels)} ${formatValue(state.sum)}`)
    lines.push(`${name}_count${labelsText(labels)} ${formatValue(state.count)}`)
  }
}

/**
 * The pairs of a `Metric.snapshot` as Prometheus text, families sorted by name. Pairs whose name `include` refuses
 * are left out; a name seen with two metric kinds keeps the first kind's series (Prometheus allows one per name).
 */
export const serialize = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  include: (name: string) => boolean = () => true
): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    if (!include(pair.metricKey.name)) continue
    const type = typeOf(pair.metricState)
    if (type === undefined) continue
    const name = metricName(pair.metricKey.name)
    let family = families.get(name)
    if (family === undefined) {
      family = { type, help: Option.getOrUndefined(pair.metricKey.description), series: [] }
      families.set(name, family)
    } else if (family.type !== type) {
      continue
    }
    const lines: Array<string> = []
    samples(name, pair.metricKey, pair.metricState, lines)
    family.series.push({ key: labelsText(pair.metricKey.tags.map((tag) => [tag.key, tag.value] as const)), lines })
  }
  const out: Array<string> = []
  for (const name of Array.from(families.keys()).sort()) {
    const family = families.get(name)!
    if (family.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${name} ${family.type}`)
    // series sorted by labels within their family, so scrapes are stable to read and diff
    family.series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    for (const series of family.series) out.push(...series.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
