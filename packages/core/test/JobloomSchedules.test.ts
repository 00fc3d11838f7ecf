import { describe, expect, it } from "@effect/vitest"
import { Jobloom, JobSchedule, MemoryJobStore } from "@jobloom/core"

describe("Jobloom schedules and retention", () => {
  it("registers code schedules, manages them with Promises, and its worker runs the jobs their ticks create", async () => {
    const jobloom = await Jobloom.make({
      store: MemoryJobStore.layer,
      schedules: [JobSchedule.make({ key: "heartbeat", every: "1 second", type: "delay", params: { seconds: 0 } })],
      worker: { pollInterval: "50 millis" }
    })
    try {
      const [heartbeat] = await jobloom.schedules.list()
      expect(heartbeat).toMatchObject({ key: "heartbeat", everyMs: 1000, source: "code", paused: false })
      expect(Date.parse(heartbeat!.nextRunAt) - Date.now()).toBeLessThanOrEqual(1000)
      // the worker's maintenance fires the tick; the worker runs the job (bounded wait: a tick a second)
      const deadline = Date.now() + 5000
      let done: ReadonlyArray<unknown> = []
      while (done.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        const page = await jobloom.list({ statuses: ["SUCCEEDED"] })
        done = page.items.filter((job) => job.scheduleKey === "heartbeat")
      }
      expect(done.length).toBeGreaterThan(0)

      const created = await jobloom.schedules.create({
        key: "nightly",
        cron: "0 2 * * *",
        timeZone: "Europe/Berlin",
        type: "delay",
        params: { seconds: 1 }
      })
      expect(created).toMatchObject({ key: "nightly", source: "api", timeZone: "Europe/Berlin" })
      expect((await jobloom.schedules.pause("nightly")).paused).toBe(true)
      expect((await jobloom.schedules.resume("nightly")).paused).toBe(false)
      await expect(jobloom.schedules.create({ key: "bad", cron: "0 25 * * *", type: "delay" })).rejects.toMatchObject({
        _tag: "InvalidInput",
        issues: [{ path: "cron" }]
      })
      await jobloom.schedules.delete("nightly")
      await expect(jobloom.schedules.get("nightly")).rejects.toMatchObject({ _tag: "ScheduleNotFound" })
    } finally {
      await jobloom.close()
    }
  })

  it("prunes terminal jobs on demand and reports what it deleted", async () => {
    const jobloom = await Jobloom.make({ store: MemoryJobStore.layer, worker: false })
    try {
      const { job } = await jobloom.create({ type: "delay", params: { seconds: 1 } })
      await jobloom.cancel(job.id)
      const live = await jobloom.create({ type: "delay", params: { seconds: 1 } })
      expect(await jobloom.prune({ olderThan: 0 })).toEqual({ deleted: 1, byStatus: { CANCELLED: 1 }, batches: 1 })
      await expect(jobloom.get(job.id)).rejects.toMatchObject({ _tag: "JobNotFound" })
      expect((await jobloom.get(live.job.id)).status).toBe("CREATED")
      await expect(jobloom.prune()).rejects.toMatchObject({ _tag: "InvalidInput" })
    } finally {
      await jobloom.close()
    }
  })

  it("refuses to start with an invalid schedule or retention", async () => {
    await expect(
      Jobloom.make({
        store: MemoryJobStore.layer,
        schedules: [JobSchedule.make({ key: "x", cron: "nope", type: "delay" })]
      })
    ).rejects.toMatchObject({ _tag: "InvalidInput", issues: [{ path: "cron" }] })
    await expect(
      Jobloom.make({ store: MemoryJobStore.layer, retention: { olderThan: "1 day", batchSize: 0 } })
    ).rejects.toMatchObject({ _tag: "InvalidInput", issues: [{ path: "batchSize" }] })
  })
})
