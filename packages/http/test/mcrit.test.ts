import { describe, expect, it } from "@effect/vitest"
import { Jobs } from "@jobloom/core"
import * as Effect from "effect/Effect"
import { call, settled, withCompat } from "./compatSupport.js"
import type { Services } from "./support.js"

type Doc = Record<string, any>
type Run = <B, E>(effect: Effect.Effect<B, E, Services>) => Promise<B>

const enqueue = (run: Run, input: Jobs.CreateJob, startNow = true) =>
  run(Effect.flatMap(Jobs.Jobs, (jobs) => Effect.map(jobs.create(input, { startNow }), (r) => r.job)))

const hex = (n: number) => n.toString(16).padStart(24, "0")

/** Reads a successful MCRIT answer: HTTP 200 and `status: successful`. */
const data = async (response: Response): Promise<any> => {
  expect(response.status).toBe(200)
  const body = await response.json()
  expect(body.status).toBe("successful")
  return body.data
}

const failure = async (response: Response, status: number): Promise<string> => {
  expect(response.status).toBe(status)
  const body = await response.json()
  expect(body.status).toBe("failed")
  expect(typeof body.data.message).toBe("string")
  return body.data.message
}

describe("MCRIT: jobs", () => {
  it("lists job documents in the real server's shape plus seed 004's keys, with and without the slash", () =>
    withCompat(
      async ({ app, run }) => {
        const job = await enqueue(run, { type: "three-stages", params: { items: 2 } })
        await settled(run, job.id)
        for (const path of ["/mcrit/jobs", "/mcrit/jobs/", "/mcrit/jobs/?ascending=True"]) {
          const [doc] = (await data(await call(app, path))) as Array<Doc>
          expect(doc).toMatchObject({
            _id: { $oid: hex(job.number) },
            number: job.number,
            payload: { method: "three-stages", params: '{"items":2}' },
            created_at: { $date: expect.stringMatching(/Z$/) },
            started_at: { $date: expect.stringMatching(/Z$/) },
            finished_at: { $date: expect.stringMatching(/Z$/) },
            locked_by: null,
            attempts_left: 3,
            terminated: false,
            progress: 1,
            result: hex(job.number),
            job_id: hex(job.number),
            method: "three-stages",
            state: "finished",
            created: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/),
            finished: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/),
            parameters: { items: 2 },
            result_id: hex(job.number)
          })
          expect(JSON.parse(doc.payload.params)).toEqual(doc.parameters)
        }
      },
      { worker: true }
    ))

  it("pages with start (an offset) and limit (0 or absent: all), newest first unless ascending", () =>
    withCompat(async ({ app, run }) => {
      const numbers: Array<number> = []
      for (let i = 0; i < 5; i++) numbers.push((await enqueue(run, { type: "delay", params: { seconds: 60 } })).number)
      const ids = async (query: string) =>
        ((await data(await call(app, `/mcrit/jobs/?${query}`))) as Array<Doc>).map((d) => d.number)
      expect(await ids("")).toEqual([...numbers].reverse())
      expect(await ids("limit=0")).toEqual([...numbers].reverse())
      expect(await ids("start=1&limit=2")).toEqual([numbers[3], numbers[2]])
      expect(await ids("ascending=True&start=3")).toEqual([numbers[3], numbers[4]])
      expect(await ids("ascending=TRUE&limit=1")).toEqual([numbers[0]])
      expect(await ids("ascending=no&limit=1")).toEqual([numbers[4]])
    }))

  it("filters by method, state (the seed's processing too) and filter, before paging", () =>
    withCompat(async ({ app, run }) => {
      await enqueue(run, { type: "delay", params: { seconds: 30 } })
      await enqueue(run, { type: "delay", params: { seconds: 45 } }, false)
      const cancelled = await enqueue(run, { type: "three-stages", params: { items: 4 } })
      await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(cancelled.id)))
      const methods = async (query: string) =>
        ((await data(await call(app, `/mcrit/jobs?${query}`))) as Array<Doc>).map((d) => `${d.method}/${d.state}`)
      expect(await methods("method=delay")).toEqual(["delay/queued", "delay/queued"])
      expect(await methods("state=terminated")).toEqual(["three-stages/terminated"])
      expect(await methods("state=processing")).toEqual([])
      expect(await methods("state=queued&method=three-stages")).toEqual([])
      expect(await methods('filter=delay({"seconds":4')).toEqual(["delay/queued"])
      expect(await methods("filter=delay&limit=1&start=1")).toEqual(["delay/queued"])
      expect(await failure(await call(app, "/mcrit/jobs?state=sleeping"), 400)).toMatch(/state must be one of/)
    }))

  it("gets and deletes one job by its 24-hex id; unknown ids are a 404, other ids a 400", () =>
    withCompat(async ({ app, run }) => {
      const job = await enqueue(run, { type: "delay", params: { seconds: 60 } })
      const id = hex(job.number)
      expect((await data(await call(app, `/mcrit/jobs/${id}`))).state).toBe("queued")
      expect(await failure(await call(app, `/mcrit/jobs/${hex(999)}`), 404)).toBe(`job ${hex(999)} not found`)
      expect(await failure(await call(app, `/mcrit/jobs/${job.id}`), 400)).toBe(
        "Valid JobIDs are hexstrings with 24 characters."
      )
      expect(await data(await call(app, `/mcrit/jobs/${id}/`, { method: "DELETE" }))).toEqual({ num_deleted: 1 })
      await failure(await call(app, `/mcrit/jobs/${id}`), 404)
      await failure(await call(app, `/mcrit/jobs/${id}`, { method: "DELETE" }), 404)
    }))

  it("keeps MCRIT's rules: attempts_left 0 only when failed, terminated when cancelled, finished_at only on success", () =>
    withCompat(
      async ({ app, run }) => {
        const broken = await enqueue(run, { type: "broken" })
        const cancelled = await enqueue(run, { type: "delay", params: { seconds: 60 } }, false)
        await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(cancelled.id)))
        const queued = await enqueue(run, { type: "delay", params: { seconds: 60 }, queue: "nobody" })
        await settled(run, broken.id)
        const doc = async (n: number): Promise<Doc> => data(await call(app, `/mcrit/jobs/${hex(n)}`))
        expect(await doc(broken.number)).toMatchObject({
          state: "failed",
          attempts_left: 0,
          terminated: false,
          finished_at: null,
          result: null,
          last_error: "broken on purpose"
        })
        expect(await doc(cancelled.number)).toMatchObject({
          state: "terminated",
          terminated: true,
          finished_at: null,
          started_at: null,
          attempts_left: 3
        })
        expect(await doc(queued.number)).toMatchObject({ state: "queued", attempts_left: 3, result: null })
      },
      { worker: true }
    ))
})

describe("MCRIT: stats and bulk delete", () => {
  it("counts per method and state (all five keys) with the seed's totals; with_refresh is accepted", () =>
    withCompat(async ({ app, run }) => {
      await enqueue(run, { type: "delay", params: { seconds: 60 } })
      const done = await enqueue(run, { type: "three-stages", params: { items: 1 } }, false)
      await run(Effect.flatMap(Jobs.Jobs, (jobs) => jobs.cancel(done.id)))
      for (const path of ["/mcrit/jobs/stats", "/mcrit/jobs/stats/?with_refresh=True"]) {
        expect(await data(await call(app, path))).toEqual({
          delay: { queued: 1, in_progress: 0, finished: 0, failed: 0, terminated: 0 },
          "three-stages": { queued: 0, in_progress: 0, finished: 0, failed: 0, terminated: 1 },
          total_jobs: 2,
          finished: 0,
          processing: 0,
          failed: 0
        })
      }
    }))

  it("deletes by method and dates (all given criteria apply); none at all and bad dates are a 400", () =>
    withCompat(async ({ app, run }) => {
      const a = await enqueue(run, { type: "delay", params: { seconds: 1 } }, false)
      const b = await enqueue(run, { type: "three-stages", params: { items: 1 } }, false)
      await failure(await call(app, "/mcrit/jobs/", { method: "DELETE" }), 400)
      expect(
        await failure(await call(app, "/mcrit/jobs?created_before=2024-13-01", { method: "DELETE" }), 400)
      ).toMatch(/^created_before must be a date/)
      await failure(await call(app, "/mcrit/jobs?finished_before=yesterday", { method: "DELETE" }), 400)
      const old = await call(app, "/mcrit/jobs/?method=delay&created_before=2024-01-01T12:00:00", { method: "DELETE" })
      expect(await data(old)).toEqual({ num_deleted: 0 })
      const future = "2999-01-01"
      expect(
        await data(await call(app, `/mcrit/jobs?method=delay&created_before=${future}`, { method: "DELETE" }))
      ).toEqual({ num_deleted: 1 })
      const left = (await data(await call(app, "/mcrit/jobs"))) as Array<Doc>
      expect(left.map((d) => d.number)).toEqual([b.number])
      expect(left.some((d) => d.number === a.number)).toBe(false)
    }))
})

describe("MCRIT: results", () => {
  it("serves a job's result by job id and by result id, compact on request, and the job of a result", () =>
    withCompat(
      async ({ app, run }) => {
        const job = await enqueue(run, { type: "three-stages", params: { items: 5 } })
        await settled(run, job.id)
        const id = hex(job.number)
        expect(await data(await call(app, `/mcrit/jobs/${id}/result`))).toEqual({ processed: 5 })
        expect(await data(await call(app, `/mcrit/jobs/${id}/result?compact=True`))).toEqual({ n: 5 })
        expect(await data(await call(app, `/mcrit/results/${id}`))).toEqual({ processed: 5 })
        expect(await data(await call(app, `/mcrit/results/${id}/?compact=true`))).toEqual({ n: 5 })
        expect((await data(await call(app, `/mcrit/results/${id}/job`)))._id).toEqual({ $oid: id })
      },
      { worker: true }
    ))

  it("gives a finished job whose handler returned nothing a result id whose data is null", () =>
    withCompat(
      async ({ app, run }) => {
        const job = await enqueue(run, { type: "nothing" })
        await settled(run, job.id)
        const doc = await data(await call(app, `/mcrit/jobs/${hex(job.number)}`))
        expect(doc.result).toBe(hex(job.number))
        expect(await data(await call(app, `/mcrit/results/${doc.result}`))).toBeNull()
        expect(await data(await call(app, `/mcrit/jobs/${hex(job.number)}/result`))).toBeNull()
      },
      { worker: true }
    ))

  it("answers a result id of no finished job with a 404 and a malformed one with a 400", () =>
    withCompat(async ({ app, run }) => {
      const queued = await enqueue(run, { type: "delay", params: { seconds: 60 } })
      await failure(await call(app, `/mcrit/results/${hex(queued.number)}`), 404)
      await failure(await call(app, `/mcrit/results/${hex(queued.number)}/job`), 404)
      await failure(await call(app, "/mcrit/results/xyz"), 400)
      expect(await data(await call(app, `/mcrit/jobs/${hex(queued.number)}/result`))).toBeNull()
    }))
})

describe("MCRIT: dependencies", () => {
  it("a job document shows the dependencies it waits on and how many are unfinished", () =>
    withCompat(async ({ app, run }) => {
      const first = await enqueue(run, { type: "three-stages", params: { items: 1 } }, false)
      const second = await enqueue(run, { type: "three-stages", params: { items: 1 }, dependsOn: [first.id] })
      const doc = (await data(await call(app, `/mcrit/jobs/${hex(second.number)}`))) as Doc
      expect(doc).toMatchObject({ all_dependencies: [first.id], unfinished_dependencies: 1, required_by: [] })
    }))
})

describe("MCRIT: permissions, scope, OpenAPI", () => {
  it("refuses what authorize refuses (403, failed) and hides jobs outside the scope", () =>
    withCompat(
      async ({ app, run }) => {
        const mine = await enqueue(run, { type: "delay", params: { seconds: 60 }, owner: "me" })
        const theirs = await enqueue(run, { type: "delay", params: { seconds: 60 }, owner: "them" })
        expect(((await data(await call(app, "/mcrit/jobs"))) as Array<Doc>).map((d) => d.number)).toEqual([mine.number])
        await failure(await call(app, `/mcrit/jobs/${hex(theirs.number)}`), 404)
        expect((await data(await call(app, "/mcrit/jobs/stats"))).total_jobs).toBe(1)
        await failure(await call(app, `/mcrit/jobs/${hex(mine.number)}`, { method: "DELETE" }), 403)
      },
      { scope: () => ({ owners: ["me"] }), authorize: (action) => action !== "delete" }
    ))

  it("serves its own OpenAPI document listing every route", () =>
    withCompat(async ({ app }) => {
      const document = await (await call(app, "/mcrit/openapi.json")).json()
      expect(document.servers).toEqual([{ url: "/mcrit" }])
      expect(Object.keys(document.paths)).toEqual([
        "/jobs",
        "/jobs/stats",
        "/jobs/{job_id}",
        "/jobs/{job_id}/result",
        "/results/{result_id}",
        "/results/{result_id}/job"
      ])
    }))
})
