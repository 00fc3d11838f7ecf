/**
 * The human-readable output of `jobloom jobs`: a fixed-width table of jobs, and one job as `field: value` lines.
 */
import type { Job } from "@jobloom/core"

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))

/** Renders rows as columns separated by two spaces, the header first. */
export const columns = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const percent = (job: Job.Job) => `${Math.round(job.progress.summary.progress * 100)}%`
const time = (at: string | null) => (at === null ? "-" : at.replace("T", " ").slice(0, 19))

/** A table of jobs: id, type, status, progress, attempt, created, name. */
export const jobsTable = (jobs: ReadonlyArray<Job.Job>): string =>
  columns(
    ["ID", "TYPE", "STATUS", "PROGRESS", "ATTEMPT", "CREATED", "NAME"],
    jobs.map((job) => [
      job.id,
      job.type,
      job.status,
      percent(job),
      `${job.attempt}/${job.maxAttempts}`,
      time(job.createdAt),
      job.name
    ])
  )

/** One job: its main fields, its stages, and its last error. */
export const jobDetail = (job: Job.Job): string => {
  const lines = [
    `id:        ${job.id}`,
    `type:      ${job.type}`,
    `name:      ${job.name}`,
    `status:    ${job.status}`,
    `queue:     ${job.queue}`,
    `progress:  ${percent(job)}`,
    `attempt:   ${job.attempt}/${job.maxAttempts}`,
    `created:   ${time(job.createdAt)}`,
    `started:   ${time(job.startedAt)}`,
    `finished:  ${time(job.finishedAt)}`
  ]
  for (const stage of job.progress.stages) {
    const params = stage.params.map((p) => `${p.name}=${JSON.stringify(p.value ?? null)}`).join(" ")
    lines.push(
      `stage:     ${stage.key} ${stage.status} ${Math.round(stage.progress * 100)}%${params ? ` ${params}` : ""}`
    )
  }
  if (job.lastError !== null) lines.push(`lastError: ${job.lastError.message}`)
  return lines.join("\n")
}
