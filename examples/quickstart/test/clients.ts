/**
 * What the seed systems' real clients do, replayed in TypeScript for the quickstart tests: Antenna's UI job models
 * (`ui/src/data-services/models/job.ts` and `job-details.ts`: the fields they read and the getters that throw when
 * a field is missing) and `McritClient` (`mcrit/client/McritClient.py`: the URLs it builds, `handle_response`, and
 * the `Job` class that indexes the document's keys). Written from those sources; the tests drive the quickstart
 * with them.
 */

/** Antenna's ten status codes, as the UI knows them. */
const codes = [
  "CANCELING",
  "CREATED",
  "FAILURE",
  "PENDING",
  "RECEIVED",
  "RETRY",
  "REVOKED",
  "STARTED",
  "SUCCESS",
  "UNKNOWN"
]
const typeLabels: Record<string, string> = {
  ml: "ML pipeline",
  data_storage_sync: "Data storage sync",
  populate_captures_collection: "Populate captures collection",
  data_export: "Data export",
  unknown: "Unknown"
}

/** A reader of one job as Antenna's `JobDetails` model reads it: each getter indexes what the model indexes. */
export class AntennaJobDetails {
  constructor(private readonly job: any) {}
  get id(): string {
    return `${this.job.id}`
  }
  get name(): string {
    return this.job.name
  }
  get status(): { code: string; known: boolean } {
    const code = this.job.status ?? this.job.progress.summary.status
    return { code, known: codes.includes(code) }
  }
  get canQueue(): boolean {
    return this.job.user_permissions.includes("run") && this.status.code === "CREATED"
  }
  get canCancel(): boolean {
    return this.job.user_permissions.includes("run") && ["STARTED", "PENDING"].includes(this.status.code)
  }
  get canRetry(): boolean {
    return (
      this.job.user_permissions.includes("run") &&
      !["CREATED", "STARTED", "PENDING", "CANCELING", "RETRY"].includes(this.status.code)
    )
  }
  get canDelete(): boolean {
    return this.job.user_permissions.includes("delete")
  }
  /** `new Date(...)` of each time, as the UI formats them (an unparsable time is `NaN`). */
  get times(): Array<number | undefined> {
    return ["created_at", "updated_at", "started_at", "finished_at"].map((key) =>
      this.job[key] ? new Date(this.job[key]).getTime() : undefined
    )
  }
  get progress(): { label: string | undefined; value: number } {
    return { label: this.job.progress?.summary.status_label, value: this.job.progress?.summary.progress ?? 0 }
  }
  get project(): string {
    return this.job.project.name
  }
  get type(): { key: string; label: string | undefined } {
    return { key: this.job.job_type.key, label: typeLabels[this.job.job_type.key] }
  }
  get pipeline(): { id: string; name: string } | undefined {
    const p = this.job.pipeline
    return p ? { id: `${p.id}`, name: p.name } : undefined
  }
  get deployment(): { id: string; name: string } | undefined {
    const d = this.job.deployment
    return d ? { id: `${d.id}`, name: d.name } : undefined
  }
  get sourceImages(): { id: string; name: string } | undefined {
    const c = this.job.source_image_collection
    return c ? { id: `${c.id}`, name: c.name } : undefined
  }
  get delay(): number {
    return this.job.delay
  }
  get errors(): Array<string> {
    return this.job.progress.errors ?? []
  }
  /** The older model read `progress.logs`; the newer one `logs.stdout`/`logs.stderr`. */
  get logs(): { legacy: Array<string>; stdout: Array<string>; stderr: Array<string> } {
    return {
      legacy: this.job.progress.logs ?? [],
      stdout: this.job.logs.stdout ?? [],
      stderr: this.job.logs.stderr ?? []
    }
  }
  get stages(): Array<{ key: string; name: string; status: string; fields: Array<{ key: string; label: string }> }> {
    return this.job.progress.stages.map((stage: any) => ({
      key: stage.key,
      name: stage.name,
      status: stage.status,
      fields: stage.params.map((param: any) => ({ key: param.key, label: param.name, value: param.value }))
    }))
  }
}

/** Python's `KeyError`: `Job` indexes the raw dict, so a missing key raises. */
const key = (data: Record<string, unknown>, name: string): any => {
  if (!(name in data)) throw new Error(`KeyError: '${name}'`)
  return data[name]
}
const plain = (value: any) =>
  value !== null && typeof value === "object" && "$date" in value ? String(value.$date) : value

/** MCRIT's `Job(data, None)`: its properties, each indexing the document as the Python class does. */
export class McritJob {
  constructor(readonly data: Record<string, any>) {}
  get job_id(): string {
    const id = key(this.data, "_id")
    return typeof id === "object" ? id.$oid : id
  }
  get created_at() {
    return plain(key(this.data, "created_at"))
  }
  get started_at() {
    return plain(key(this.data, "started_at"))
  }
  get finished_at() {
    return plain(key(this.data, "finished_at"))
  }
  get is_finished(): boolean {
    return this.finished_at !== null
  }
  get is_failed(): boolean {
    return key(this.data, "attempts_left") === 0
  }
  get is_terminated(): boolean {
    return key(this.data, "terminated") ?? false
  }
  get result(): string | null {
    return key(this.data, "result")
  }
  get progress(): number {
    return this.data.progress ?? 0
  }
  get number(): number {
    return this.data.number ?? -1
  }
  get method(): string {
    return key(key(this.data, "payload"), "method")
  }
  /** `json.loads(payload.params).items()`: must decode to an object. */
  get parameters(): Record<string, unknown> {
    const params = JSON.parse(key(key(this.data, "payload"), "params"))
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw new Error("AttributeError: params has no items()")
    }
    return params
  }
  /** `Job.duration`: slices the ISO strings of finished and started. */
  get duration(): number {
    const at = (s: string) => Date.parse(`${s.slice(0, 10)}T${s.slice(11, 19)}Z`)
    return (at(this.finished_at) - at(this.started_at)) / 1000
  }
}

/** `McritClient`'s job calls: the same URLs (f-strings, trailing slashes where it puts them) and `handle_response`. */
export class McritClient {
  constructor(private readonly server: string) {}

  /** Data only for a 200 or 202 answer whose status is successful; anything else is None (no exception). */
  private async handle(response: Response): Promise<any> {
    if (response.status !== 200 && response.status !== 202) return undefined
    const body = await response.json()
    return body.status === "successful" ? body.data : undefined
  }
  private get(path: string) {
    return fetch(`${this.server}${path}`).then((r) => this.handle(r))
  }

  async getQueueData(
    options: {
      start?: number
      limit?: number
      method?: string
      filter?: string
      state?: string
      ascending?: boolean
    } = {}
  ) {
    let query = ""
    if (options.ascending === true) query += "&ascending=True"
    if ((options.start ?? 0) > 0) query += `&start=${options.start}`
    if ((options.limit ?? 0) > 0) query += `&limit=${options.limit}`
    if (options.method !== undefined) query += `&method=${options.method}`
    if (options.filter !== undefined) query += `&filter=${options.filter}`
    if (options.state !== undefined) query += `&state=${options.state}`
    const data = await this.get(`/jobs/?${query.slice(1)}`)
    return data === undefined ? undefined : (data as Array<any>).map((d) => new McritJob(d))
  }
  async getJobCount(filter?: string) {
    const data = await this.get(`/jobs${filter === undefined ? "" : `?filter=${filter}`}`)
    return data === undefined ? undefined : (data as Array<unknown>).length
  }
  getQueueStatistics(withRefresh = false) {
    return this.get(withRefresh ? "/jobs/stats/?with_refresh=True" : "/jobs/stats/")
  }
  async getJobData(jobId: string) {
    const data = await this.get(`/jobs/${jobId}`)
    return data === undefined || data === null ? undefined : new McritJob(data)
  }
  deleteJob(jobId: string) {
    return fetch(`${this.server}/jobs/${jobId}`, { method: "DELETE" }).then((r) => this.handle(r))
  }
  deleteQueueData(options: { method?: string; createdBefore?: Date; finishedBefore?: Date }) {
    const date = (d: Date) => d.toISOString().slice(0, 19)
    const parts = [
      ...(options.method === undefined ? [] : [`method=${options.method}`]),
      ...(options.createdBefore === undefined ? [] : [`created_before=${date(options.createdBefore)}`]),
      ...(options.finishedBefore === undefined ? [] : [`finished_before=${date(options.finishedBefore)}`])
    ]
    return fetch(`${this.server}/jobs/?${parts.join("&")}`, { method: "DELETE" }).then((r) => this.handle(r))
  }
  getResultForJob(jobId: string, compact = false) {
    return this.get(`/jobs/${jobId}/result${compact ? "?compact=True" : ""}`)
  }
  getResult(resultId: string, compact = false) {
    return this.get(`/results/${resultId}${compact ? "?compact=True" : ""}`)
  }
  async getJobForResult(resultId: string) {
    const data = await this.get(`/results/${resultId}/job`)
    return data === undefined ? undefined : new McritJob(data)
  }
  /** Polls the job until it is gone, terminated, failed or has a result; then fetches the result. */
  async awaitResult(jobId: string, sleepMs = 50, compact = false): Promise<unknown> {
    for (let round = 0; round < 400; round++) {
      const job = await this.getJobData(jobId)
      if (job === undefined || job.is_terminated) throw new Error("JobTerminatedError")
      if (job.result !== null || job.is_failed) {
        return job.result === null ? undefined : this.getResult(job.result, compact)
      }
      await new Promise((resolve) => setTimeout(resolve, sleepMs))
    }
    throw new Error("awaitResult: no result after 400 polls")
  }
}
