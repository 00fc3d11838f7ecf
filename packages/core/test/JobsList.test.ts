import { assert, expect, layer } from "@effect/vitest"
import { Job, JobType, Jobs, MemoryJobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

const Scan = JobType.make({ key: "scan", params: Schema.Struct({ site: Schema.String }) })

const owners = ["alpha", "beta", "gamma"] as const
const statuses = ["CREATED", "QUEUED", "PAUSED", "CANCELLED"] as const

/** What the test knows about each created job, to compute the expected members of every filter. */
interface Known {
  readonly id: string
  readonly type: string
  readonly owner: string
  readonly tags: ReadonlyArray<string>
  readonly status: Job.JobStatus
  readonly createdAt: number
  readonly name: string
  readonly batchId: string
}

/**
 * 1,000 jobs in batches of 50 created at 20 distinct times (so many share `createdAt` and the id breaks ties), with
 * owners, tags, types, priorities, names and statuses spread over them.
 */
const seed = Effect.gen(function* () {
  const jobs = yield* Jobs.Jobs
  const known: Array<Known> = []
  for (let batch = 0; batch < 20; batch++) {
    yield* TestClock.adjust(1_000)
    const now = batch * 1_000 + 1_000
    const inputs = Array.from({ length: 50 }, (_, i): Jobs.CreateJob => {
      const n = batch * 50 + i
      return {
        type: n % 4 === 0 ? "delay" : "scan",
        params: n % 4 === 0 ? { seconds: n % 7 } : { site: `site-${n % 11}` },
        owner: owners[n % 3],
        tags: n % 5 === 0 ? ["night", `n${n % 2}`] : [`n${n % 2}`],
        priority: n % 6,
        name: `job ${String(n % 37).padStart(2, "0")}`
      }
    })
    const created = yield* jobs.createMany(inputs)
    for (const [i, job] of created.jobs.entries()) {
      const n = batch * 50 + i
      const status = statuses[n % statuses.length]
      if (status === "QUEUED") yield* jobs.run(job.id)
      if (status === "PAUSED") yield* Effect.zipRight(jobs.run(job.id), jobs.pause(job.id))
      if (status === "CANCELLED") yield* jobs.cancel(job.id)
      known.push({
        id: job.id,
        type: job.type,
        owner: job.owner!,
        tags: job.tags,
        status,
        createdAt: now,
        name: job.name,
        batchId: created.batchId!
      })
    }
  }
  return known
})

/** Every page of a listing, followed by its cursors to the end. */
const collect = (query: Jobs.ListQuery) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const items: Array<Job.Job> = []
    let cursor: string | undefined
    for (let pages = 0; pages < 2_000; pages++) {
      const page = yield* jobs.list({ ...query, ...(cursor === undefined ? {} : { cursor }) })
      expect(page.items.length).toBeLessThanOrEqual(query.limit ?? 50)
      items.push(...page.items)
      if (page.nextCursor === null) return items
      cursor = page.nextCursor
    }
    throw new Error("paging never ended")
  })

const sortValue = (job: Job.Job, sort: NonNullable<Jobs.ListQuery["sort"]>): number | string =>
  sort === "name" ? job.name : sort === "priority" ? job.priority : job[sort] === null ? -1 : Date.parse(job[sort]!)

/** Checks each adjacent pair is in (sort value, id) order. */
const assertOrdered = (items: ReadonlyArray<Job.Job>, sort: NonNullable<Jobs.ListQuery["sort"]>, order: string) => {
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1], items[i]]
    const [va, vb] = [sortValue(a, sort), sortValue(b, sort)]
    const cmp = va < vb ? -1 : va > vb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    assert(order === "asc" ? cmp < 0 : cmp > 0, `items ${i - 1} and ${i} out of ${sort} ${order} order`)
  }
}

const filters: ReadonlyArray<{
  readonly name: string
  readonly query: Jobs.ListQuery
  readonly matches: (job: Known) => boolean
}> = [
  { name: "no filter", query: {}, matches: () => true },
  { name: "status", query: { statuses: ["QUEUED"] }, matches: (j) => j.status === "QUEUED" },
  {
    name: "several statuses and a type",
    query: { statuses: ["PAUSED", "CANCELLED"], types: ["scan"] },
    matches: (j) => (j.status === "PAUSED" || j.status === "CANCELLED") && j.type === "scan"
  },
  {
    name: "owner and tag",
    query: { owner: "beta", tag: "night" },
    matches: (j) => j.owner === "beta" && j.tags.includes("night")
  },
  {
    name: "created between",
    query: { createdAfter: Job.formatTime(5_000), createdBefore: Job.formatTime(12_000) },
    matches: (j) => j.createdAt > 5_000 && j.createdAt < 12_000
  },
  { name: "search in the name", query: { q: "JOB 0" }, matches: (j) => j.name.startsWith("job 0") }
]

layer(Jobs.layer({ types: [Scan] }).pipe(Layer.provideMerge(MemoryJobStore.layer)), { timeout: 120_000 })(
  "Jobs.list",
  (it) => {
    let known: ReadonlyArray<Known> = []

    it.effect("seeds 1,000 jobs", () =>
      Effect.gen(function* () {
        known = yield* seed
        expect(known).toHaveLength(1_000)
        const stats = yield* (yield* Jobs.Jobs).stats()
        expect(stats.total).toBe(1_000)
        expect(stats.byStatus).toMatchObject({ CREATED: 250, QUEUED: 250, PAUSED: 250, CANCELLED: 250 })
        expect(stats.byType.delay.CREATED + stats.byType.scan.CREATED).toBe(250)
      })
    )

    for (const filter of filters) {
      for (const limit of [1, 7, 1000]) {
        it.effect(`returns every job matching ${filter.name} exactly once at limit ${limit}`, () =>
          Effect.gen(function* () {
            const expected = known.filter(filter.matches).map((j) => j.id)
            assert(expected.length > 0 && expected.length <= 1_000)
            const items = yield* collect({ ...filter.query, limit })
            const ids = items.map((job) => job.id)
            expect(new Set(ids).size).toBe(ids.length)
            expect([...ids].sort()).toEqual([...expected].sort())
            assertOrdered(items, "createdAt", "desc")
          })
        )
      }
    }

    for (const sort of ["createdAt", "updatedAt", "finishedAt", "priority", "name"] as const) {
      for (const order of ["asc", "desc"] as const) {
        it.effect(`pages through every job sorted by ${sort} ${order} at limit 7`, () =>
          Effect.gen(function* () {
            const items = yield* collect({ sort, order, limit: 7 })
            const ids = items.map((job) => job.id)
            expect(new Set(ids).size).toBe(1_000)
            assertOrdered(items, sort, order)
          })
        )
      }
    }

    it.effect("counts the whole match with withTotal, ignoring the page", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const page = yield* jobs.list({ owner: "alpha", limit: 3, withTotal: true })
        expect(page.items).toHaveLength(3)
        expect(page.total).toBe(known.filter((j) => j.owner === "alpha").length)
        expect((yield* jobs.list({ limit: 3 })).total).toBeUndefined()
      })
    )

    it.effect("lists a batch by its id", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const batchId = known[120].batchId
        const page = yield* jobs.list({ batchId, limit: 1000 })
        expect(page.items.map((j) => j.id).sort()).toEqual(
          known
            .filter((j) => j.batchId === batchId)
            .map((j) => j.id)
            .sort()
        )
      })
    )

    it.effect("rejects a limit out of 1..1000 instead of clamping it", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        for (const limit of [0, -1, 1001, 2.5, Number.NaN]) {
          const error = yield* Effect.flip(jobs.list({ limit }))
          expect(error).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "limit" }] })
        }
        expect((yield* jobs.list()).items).toHaveLength(50)
      })
    )

    it.effect("rejects a cursor it did not issue, or one of another sort", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { nextCursor } = yield* jobs.list({ limit: 2 })
        assert(nextCursor !== null)
        for (const cursor of ["garbage", Buffer.from("{}").toString("base64url"), "eyJ"]) {
          const error = yield* Effect.flip(jobs.list({ cursor }))
          expect(error).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "cursor" }] })
        }
        const wrongSort = yield* Effect.flip(jobs.list({ cursor: nextCursor, sort: "name" }))
        expect(wrongSort).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "cursor" }] })
      })
    )

    it.effect("rejects unknown statuses, sorts and unparsable times naming each field", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const error = yield* Effect.flip(
          jobs.list({
            statuses: ["DONE" as Job.JobStatus],
            sort: "size" as "name",
            order: "up" as "asc",
            finishedBefore: "never"
          })
        )
        assert(error._tag === "InvalidInput")
        expect(error.issues.map((issue) => issue.path).sort()).toEqual(["finishedBefore", "order", "sort", "statuses"])
      })
    )
  }
)
