/**
 * An existing Hono app: a public health check, bearer-token auth on everything under `/v1`, routes of its own, and
 * now the jobs API mounted at `/v1/background-jobs`, with a `scope` (each user sees their project's jobs) and an
 * `authorize` hook that applies the app's own rules.
 */
import type { Job, Jobloom } from "@jobloom/core"
import { JobsApi } from "@jobloom/http"
import { Hono } from "hono"
import { HTTPException } from "hono/http-exception"

/** A user of the app. Jobs belong to projects: a job's `owner` is the project's slug. */
export interface User {
  readonly name: string
  readonly role: "admin" | "member" | "viewer"
  readonly project: string
}

/** The app's users, by bearer token (a real app would verify a session or a JWT). */
export const users: Readonly<Record<string, User>> = {
  "token-alice": { name: "alice", role: "admin", project: "vermont" },
  "token-bob": { name: "bob", role: "member", project: "vermont" },
  "token-carol": { name: "carol", role: "viewer", project: "vermont" },
  "token-dave": { name: "dave", role: "member", project: "costa-rica" }
}

/** What the app's middleware puts on the context. */
export type AppEnv = { Variables: { user: User } }

/** Where the jobs API is mounted. */
export const jobsPrefix = "/v1/background-jobs"

/**
 * The app's rules for jobs (inside the user's scope): admins may do anything; viewers only look; members do
 * everything but delete. Asked once per action, and per job for each job's `userPermissions`.
 */
export const authorize: JobsApi.Authorize<AppEnv> = (action, _job, c) => {
  const user = c.get("user")
  if (user.role === "admin") return true
  if (action === "view") return true
  if (user.role === "viewer") return false
  return action !== "delete"
}

/**
 * What each user may see at all: their project's jobs (admins: every job). The router applies it to every list,
 * count, batch, bulk delete and result, creates jobs for that project, and answers 404 for any other job.
 */
export const scope: JobsApi.ScopeOf<AppEnv> = (c) => {
  const user = c.get("user")
  return user.role === "admin" ? undefined : { owners: [user.project] }
}

const canSeeOwner = (user: User, owner: string | null | undefined) => user.role === "admin" || owner === user.project

/** The app, given a running jobloom (its runtime runs the router's engine calls). */
export const makeApp = (jobloom: Pick<Jobloom.Jobloom, "runtime" | "stats">) => {
  const app = new Hono<AppEnv>()

  // the app's own error shape; the mounted router keeps its own (problem+json) for its routes
  app.onError((error, c) =>
    error instanceof HTTPException ? c.json({ error: error.message }, error.status) : c.json({ error: "internal" }, 500)
  )

  app.get("/health", (c) => c.json({ ok: true }))

  app.use("/v1/*", async (c, next) => {
    const token = c.req.header("authorization")?.replace(/^Bearer\s+/i, "")
    const user = token === undefined ? undefined : users[token]
    if (user === undefined) throw new HTTPException(401, { message: "missing or unknown bearer token" })
    c.set("user", user)
    await next()
  })

  app.get("/v1/me", (c) => c.json(c.get("user")))

  // a route of the app's own that also reads jobs, through the same jobloom
  app.get("/v1/projects/:project/summary", async (c) => {
    const project = c.req.param("project")
    if (!canSeeOwner(c.get("user"), project)) throw new HTTPException(403, { message: "not your project" })
    const stats = await jobloom.stats({ owner: project })
    return c.json({ project, jobs: stats.total, byStatus: stats.byStatus })
  })

  // Every path under the prefix, `/jobs/` with its trailing slash included: `${jobsPrefix}/*` matches them all, while
  // `${jobsPrefix}/jobs` alone would miss `/jobs/`, which the router also answers. Viewers never write.
  app.use(`${jobsPrefix}/*`, async (c, next) => {
    if (c.get("user").role === "viewer" && !["GET", "HEAD"].includes(c.req.method)) {
      throw new HTTPException(403, { message: "viewers only look" })
    }
    await next()
  })

  app.route(
    jobsPrefix,
    JobsApi.make<AppEnv>({ runtime: jobloom.runtime, scope, authorize, info: { title: "Acme jobs" } })
  )

  return app
}

/** A job as the router returns it, with the permissions the hook granted. */
export type JobView = Job.Job & { readonly userPermissions: ReadonlyArray<JobsApi.Action> }
