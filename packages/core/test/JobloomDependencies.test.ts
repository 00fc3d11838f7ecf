// Dependencies through the Promise facade: a dependent enqueued with dependsOn runs after its dependency; an async
// parent handler spawns children and awaits their results; a delete of a needed job rejects with JobHasDependents.
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Jobloom, JobType, MemoryJobStore } from "@jobloom/core"
import * as Schema from "effect/Schema"

const Add = JobType.make({
  key: "add",
  params: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  result: Schema.Number,
  retry: { maxAttempts: 1 }
})
const Sum = JobType.make({ key: "sum", result: Schema.Number, retry: { maxAttempts: 1 } })

const worker = { pollInterval: "10 millis", cancelPollInterval: "10 millis", flushInterval: "10 millis" } as const
const order: Array<string> = []

const open: Array<Jobloom.Jobloom> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((jobloom) => jobloom.close()))
})

const start = async () => {
  const jobloom = await Jobloom.make({
    store: MemoryJobStore.layer,
    worker,
    handlers: [
      Jobloom.handler(Add, async ({ a, b }) => {
        order.push(`add ${a}+${b}`)
        return a + b
      }),
      Jobloom.handler(Sum, async (_, context) => {
        const children = await context.spawn([
          { type: "add", params: { a: 1, b: 2 } },
          { type: "add", params: { a: 3, b: 4 } }
        ])
        const finished = await context.awaitJobs(children.map((child) => child.id))
        return finished.reduce((total, { result }) => total + Number(result?.value ?? 0), 0)
      })
    ]
  })
  open.push(jobloom)
  return jobloom
}

const terminal = async (jobloom: Jobloom.Jobloom, id: string) => {
  for (;;) {
    const job = await jobloom.get(id)
    if (["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(job.status)) return job
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe("Jobloom dependencies", () => {
  it("runs a dependent after its dependency, and a parent that awaits the children it spawned", async () => {
    const jobloom = await start()
    order.length = 0
    const first = await jobloom.create({ type: "add", params: { a: 1, b: 1 } })
    const second = await jobloom.enqueue({ type: "add", params: { a: 2, b: 2 }, dependsOn: [first.job.id] })
    expect(second.waitingOn).toBe(1)
    await expect(jobloom.delete(first.job.id)).rejects.toMatchObject({ _tag: "JobHasDependents", dependents: 1 })
    await jobloom.run(first.job.id)
    expect((await terminal(jobloom, second.id)).status).toBe("SUCCEEDED")
    expect(order).toEqual(["add 1+1", "add 2+2"])
    const parent = await jobloom.enqueue({ type: "sum" })
    expect((await terminal(jobloom, parent.id)).status).toBe("SUCCEEDED")
    expect((await jobloom.result(parent.id)).value).toBe(10)
  })
})
