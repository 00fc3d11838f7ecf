/**
 * Modzy's job API over the engine (seed 002, COMPAT §2), so Modzy's Python and JS SDKs work unchanged. Mount it at a
 * path ending in `/api` (the SDK appends `/api` when its first call fails):
 * `app.route("/modzy/api", ModzyApi.make(...))`.
 *
 * Each job type is a Modzy model; each source of a job is an item of the job, so the job's counters, results and
 * failures are per source. `Authorization: ApiKey <prefix>.<secret>` names the caller: the prefix is its
 * `submittedBy` and `accessKey` (the secret is never stored); a host may supply the identity instead.
 *
 * @since 0.1.0
 */
import { Job, type JobItem } from "@jobloom/core"
import * as Effect from "effect/Effect"
import type { Context, Env } from "hono"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import type * as JobsApi from "../../JobsApi.js"
import * as Shared from "../shared.js"
import * as History from "./history.js"
import * as View from "./view.js"

/** Who calls: the key's prefix, the submitter's name, the account whose jobs it sees. */
export interface Identity {
  readonly accessKey: string
  readonly user?: string
  readonly account?: string
}

/** A job type served as a Modzy model. */
export interface ModelOption {
  /** The Modzy model identifier (`model.identifier` of a submission). */
  readonly identifier: string
  /** The job type it runs. */
  readonly type: string
  /** Default `1.0.0`. */
  readonly version?: string
  /** Default: the type's name. */
  readonly name?: string
}

/** Options of {@link make}. */
export interface Options<E extends Env = any> extends Shared.Options<E> {
  /** The models; default: every registered job type under its key, version `1.0.0`. */
  readonly models?: ReadonlyArray<ModelOption>
  /** The account of callers the identity does not name; default `jobloom`. */
  readonly accountIdentifier?: string
  /** The caller, from the request; default: from `Authorization: ApiKey <prefix>.<secret>` (401 without). */
  readonly identity?: (c: Context<E>) => Identity | undefined | Promise<Identity | undefined>
  /** Largest accepted request body in bytes; default 1 MiB (input chunks are announced at half that). */
  readonly bodyLimit?: number
}

/** A Modzy error: `message` is what the SDK shows. */
class ModzyError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 500,
    message: string
  ) {
    super(message)
  }
}

const reasons: Readonly<Record<number, string>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  500: "INTERNAL_SERVER_ERROR"
}

const supportedInputs = ["text", "embedded"]

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Bytes of one input value: a data URI counts its decoded bytes. */
const byteLength = (value: string): number => {
  const match = /^data:[^,]*;base64,(.*)$/s.exec(value)
  return match === null ? Buffer.byteLength(value, "utf8") : Buffer.from(match[1]!, "base64").length
}

/** Reads a submission's `input.sources` ({ source: { input: value } }), or throws a 400 naming what is wrong. */
const readSources = (input: unknown): Array<{ key: string; input: Record<string, string> }> => {
  if (!isRecord(input)) throw new ModzyError(400, "input must be an object with type and sources")
  const type = input.type
  if (typeof type !== "string" || !supportedInputs.includes(type)) {
    throw new ModzyError(
      400,
      `input type ${JSON.stringify(type)} is not supported; supported input types: ${supportedInputs.join(", ")}`
    )
  }
  if (!isRecord(input.sources) || Object.keys(input.sources).length === 0) {
    throw new ModzyError(400, "input.sources must map at least one source name to its inputs")
  }
  return Object.entries(input.sources).map(([key, inputs]) => {
    if (!isRecord(inputs) || Object.keys(inputs).length === 0) {
      throw new ModzyError(
        400,
        `input.sources.${key} must map input names to ${type === "text" ? "text" : "data URIs"}`
      )
    }
    for (const [name, value] of Object.entries(inputs)) {
      if (typeof value !== "string") throw new ModzyError(400, `input.sources.${key}.${name} must be a string`)
      if (type === "embedded" && !/^data:[^,]*;base64,/.test(value)) {
        throw new ModzyError(400, `input.sources.${key}.${name} must be a base64 data URI`)
      }
    }
    return { key, input: inputs as Record<string, string> }
  })
}

/** Builds the sub-app. */
export const make = <E extends Env = any>(options: Options<E>): Hono<E> => {
  const engine = Shared.engine(options.runtime)
  const app = new Hono<E>({ strict: false })
  const limit = options.bodyLimit ?? 1024 * 1024
  const account = options.accountIdentifier ?? "jobloom"

  const fail = (c: Context, error: ModzyError) =>
    c.json({ statusCode: error.status, status: reasons[error.status], message: error.message }, error.status)

  app.onError((error, c) => {
    if (error instanceof ModzyError) return fail(c, error)
    if (error instanceof RangeError) return fail(c, new ModzyError(400, error.message))
    if (error instanceof Shared.EngineFailure) {
      const status = ([400, 403, 404, 409, 413].includes(error.status) ? error.status : 500) as ModzyError["status"]
      return fail(c, new ModzyError(status, status === 500 ? "internal error" : error.message))
    }
    engine.logFailure("jobloom modzy: request failed", error)
    return fail(c, new ModzyError(500, "internal error"))
  })
  app.notFound((c) => fail(c, new ModzyError(404, `no route for ${c.req.method} ${c.req.path}`)))
  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      onError: (c) => fail(c, new ModzyError(413, `the request body is larger than ${limit} bytes`))
    })
  )

  const identityOf = async (c: Context): Promise<Required<Identity>> => {
    const given = options.identity === undefined ? undefined : await options.identity(c as Context<E>)
    if (given !== undefined) {
      return { accessKey: given.accessKey, user: given.user ?? given.accessKey, account: given.account ?? account }
    }
    const header = c.req.header("authorization") ?? ""
    const match = /^ApiKey\s+([^.\s]+)\.(\S+)$/i.exec(header.trim())
    // never the secret: only the prefix names the key
    if (match === null) throw new ModzyError(401, "an Authorization: ApiKey <prefix>.<secret> header is required")
    return { accessKey: match[1]!, user: match[1]!, account }
  }

  const guard = async (c: Context, action: JobsApi.Action, job?: Job.Job) => {
    if (options.authorize !== undefined && (await options.authorize(action, job, c as Context<E>)) !== true) {
      throw new ModzyError(403, `not allowed to ${action}${job === undefined ? "" : ` job ${job.id}`}`)
    }
  }

  let modelList: ReadonlyArray<View.Model> | undefined
  const models = async (): Promise<ReadonlyArray<View.Model>> => {
    if (modelList === undefined) {
      const types = await engine.exec((jobs) => Effect.sync(() => jobs.types()))
      modelList =
        options.models === undefined
          ? types.map((t) => ({ identifier: t.key, version: "1.0.0", name: t.name, type: t.key }))
          : options.models.map((m) => ({
              identifier: m.identifier,
              version: m.version ?? "1.0.0",
              name: m.name ?? types.find((t) => t.key === m.type)?.name ?? m.type,
              type: m.type
            }))
    }
    return modelList
  }

  const scope = (c: Context) => Shared.scopeOf(options, c as Context<E>)

  /** The caller's job by id: 404 when missing, outside the request's scope or another account's. */
  const jobFor = async (c: Context, action: JobsApi.Action) => {
    const who = await identityOf(c)
    const id = c.req.param("id") ?? ""
    const within = await scope(c)
    const job = await engine
      .exec((jobs) => jobs.get(id, within === undefined ? {} : { scope: within }))
      .catch((error) => {
        if (error instanceof Shared.EngineFailure && error.status === 404)
          throw new ModzyError(404, `job ${id} not found`)
        throw error
      })
    if (job.owner !== who.account) throw new ModzyError(404, `job ${id} not found`)
    await guard(c, action, job)
    return job
  }

  const items = (job: Job.Job) => Shared.allItems(engine, job.id)

  const show = async (c: Context, job: Job.Job, status?: View.ModzyStatus) =>
    c.json(View.jobView(job, await items(job), await models(), Date.now(), status))

  const jsonBody = async (c: Context): Promise<Record<string, unknown>> => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      throw new ModzyError(400, "the body must be a JSON object")
    }
    if (!isRecord(body)) throw new ModzyError(400, "the body must be a JSON object")
    return body
  }

  // ---- models: the SDK cannot even be built without these two ----

  const modelView = (m: View.Model) => ({
    modelId: m.identifier,
    identifier: m.identifier,
    name: m.name,
    latestVersion: m.version,
    latestActiveVersion: m.version,
    versions: [m.version]
  })
  app.get("/models", async (c) => c.json((await models()).map(modelView)))
  app.get("/models/requirements/account", (c) => c.json([]))
  app.get("/models/:identifier", async (c) => {
    const model = (await models()).find((m) => m.identifier === c.req.param("identifier"))
    if (model === undefined) throw new ModzyError(404, `model ${c.req.param("identifier")} not found`)
    return c.json(modelView(model))
  })

  // ---- jobs ----

  app.get("/jobs/features", (c) =>
    c.json({
      // the SDK reads this snake_case key (and parses it with its own size units: Ki is 1024)
      input_chunk_maximum_size: `${Math.floor(limit / 2 / 1024)}Ki`,
      inputChunkMaximumSize: `${Math.floor(limit / 2 / 1024)}Ki`,
      supported_input_types: supportedInputs
    })
  )

  app.post("/jobs", async (c) => {
    const who = await identityOf(c)
    const body = await jsonBody(c)
    const model = isRecord(body.model) ? body.model : undefined
    if (model === undefined || typeof model.identifier !== "string" || model.identifier === "") {
      throw new ModzyError(400, "model.identifier is required")
    }
    if (model.version !== undefined && typeof model.version !== "string") {
      throw new ModzyError(400, "model.version must be a string")
    }
    const served = (await models()).find((m) => m.identifier === model.identifier)
    if (served === undefined) throw new ModzyError(400, `model ${model.identifier} is not available`)
    if (body.explain !== undefined && typeof body.explain !== "boolean") {
      throw new ModzyError(400, "explain must be a boolean")
    }
    const timeout = body.timeout
    if (timeout !== undefined && timeout !== null && (typeof timeout !== "number" || !(timeout > 0))) {
      throw new ModzyError(400, "timeout must be a positive number of milliseconds")
    }
    const sources = body.input === undefined || body.input === null ? undefined : readSources(body.input)
    await guard(c, "create")
    const within = await scope(c)
    const meta: View.ModzyMeta = {
      submittedBy: who.accessKey,
      accessKey: who.accessKey,
      user: who.user,
      model: { identifier: served.identifier, version: (model.version as string | undefined) ?? served.version },
      explain: body.explain === true,
      inputType: isRecord(body.input) ? String(body.input.type) : null,
      inputByteAmount: (sources ?? []).reduce(
        (n, source) => n + Object.values(source.input).reduce((m, value) => m + byteLength(value), 0),
        0
      ),
      timeout: typeof timeout === "number" ? Math.round(timeout) : null
    }
    const { job } = await engine.exec((jobs) =>
      jobs.create(
        {
          type: served.type,
          owner: who.account,
          metadata: { modzy: meta },
          ...(typeof timeout === "number" ? { deadline: new Date(Date.now() + timeout).toISOString() } : {}),
          ...(sources === undefined ? {} : { items: sources })
        },
        // without input the job is open (CREATED, Modzy's OPEN) until its inputs are uploaded and it is closed
        { startNow: sources !== undefined, ...(within === undefined ? {} : { scope: within }) }
      )
    )
    return show(c, job)
  })

  app.get("/jobs/history", async (c) => {
    const who = await identityOf(c)
    await guard(c, "view")
    const history = History.parse(c.req.query(), await models(), Date.now(), who.account)
    if (history.empty) return c.json([])
    const page = await Shared.offsetPage(engine, Shared.withScope(history.query, await scope(c)), {
      sort: history.sort,
      order: history.order,
      offset: history.offset,
      limit: history.limit,
      keep: history.keep,
      compare: history.compare
    })
    const now = Date.now()
    const served = await models()
    const views = await Promise.all(page.items.map(async (job) => View.jobView(job, await items(job), served, now)))
    // a bare array: the SDKs read the history as a list of jobs
    return c.json(views)
  })

  app.get("/jobs/:id", async (c) => show(c, await jobFor(c, "view")))

  app.delete("/jobs/:id", async (c) => {
    const job = await jobFor(c, "cancel")
    const cancelled = await engine.exec((jobs) => jobs.cancel(job.id))
    // a running job is CANCELLING until its handler stops; Modzy answers the cancel as done
    return show(c, cancelled, cancelled.status === "CANCELLING" ? "CANCELED" : undefined)
  })

  app.post("/jobs/:id/close", async (c) => {
    const job = await jobFor(c, "run")
    if (job.status !== "CREATED")
      throw new ModzyError(400, `job ${job.id} is not open (it is ${View.statusOf[job.status]})`)
    if ((job.progress.items?.total ?? 0) === 0) throw new ModzyError(400, `job ${job.id} has no inputs to close with`)
    return show(c, await engine.exec((jobs) => jobs.run(job.id)))
  })

  app.post("/jobs/:id/:source/:input", async (c) => {
    const job = await jobFor(c, "edit")
    if (job.status !== "CREATED")
      throw new ModzyError(400, `job ${job.id} is not open (it is ${View.statusOf[job.status]})`)
    const source = c.req.param("source")
    const name = c.req.param("input")
    let chunk: Uint8Array
    try {
      const form = await c.req.parseBody()
      const part = form.input
      if (part === undefined || Array.isArray(part))
        throw new ModzyError(400, "a multipart field named input is required")
      chunk = typeof part === "string" ? Buffer.from(part, "utf8") : new Uint8Array(await part.arrayBuffer())
    } catch (error) {
      if (error instanceof ModzyError) throw error
      throw new ModzyError(400, "the body must be multipart/form-data with a field named input")
    }
    const existing = await engine.exec((jobs) => jobs.item(job.id, source))
    const inputs: Record<string, string> =
      existing._tag === "Some" && isRecord(existing.value.input)
        ? { ...(existing.value.input as Record<string, string>) }
        : {}
    // chunks of one input are appended in order; the input is kept as a data URI of its bytes
    const before = inputs[name]
    const previous =
      before === undefined ? Buffer.alloc(0) : Buffer.from(before.replace(/^data:[^,]*;base64,/, ""), "base64")
    inputs[name] = `data:application/octet-stream;base64,${Buffer.concat([previous, chunk]).toString("base64")}`
    await engine.exec((jobs) => jobs.addItems(job.id, [{ key: source, input: inputs }]))
    const meta = View.metaOf(job, await models())
    const updated = await engine.exec((jobs) =>
      jobs.annotate(job.id, {
        metadata: { ...job.metadata, modzy: { ...meta, inputByteAmount: meta.inputByteAmount + chunk.length } }
      })
    )
    return show(c, updated)
  })

  // ---- results ----

  app.get("/results/:id", async (c) => {
    const job = await jobFor(c, "view")
    const all: ReadonlyArray<JobItem.JobItem> = await items(job)
    return c.json(View.result(job, all, await models(), Date.now()))
  })

  return app
}
