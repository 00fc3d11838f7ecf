// Pausing the quickstart's `ml` job mid-run through the REST API: it stops between batches with a checkpoint, and
// resumed it goes on with the batches it had not processed, so every image is sent to the processing service once.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { follow, request, start, stop, waitFor, type Running } from "./ServerProcess.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobloom-quickstart-pause-"))

/** The images each "Sending N images" log line of the job says it sent, oldest first. */
const sent = async (api: string, id: string): Promise<Array<number>> => {
  const page = await request(`${api}/jobs/${id}/logs?limit=5000`)
  return (page.items as Array<{ message: string }>)
    .map((line) => /^Sending (\d+) images/.exec(line.message))
    .flatMap((match) => (match === null ? [] : [Number(match[1])]))
    .reverse()
}

describe("quickstart: pausing an ml job", () => {
  let server: Running
  let api: string

  beforeAll(async () => {
    server = start("examples/quickstart/src/main.ts", {
      PORT: "0",
      JOBLOOM_DB: Path.join(dir, "jobloom.db"),
      JOBLOOM_GRACE_PERIOD: "1",
      DATABASE_URL: undefined
    })
    const [, url] = await waitFor(server, /API:\s+(http:\/\/\S+)/)
    api = url!
  })

  afterAll(async () => {
    await stop(server, "SIGKILL")
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("pauses mid-run, keeps its checkpoint, and resumed processes each remaining batch once", async () => {
    const images = 80
    const job = await request(`${api}/jobs?startNow=true`, {
      method: "POST",
      body: { type: "ml", params: { images, batchSize: 4, failureRate: 0 } }
    })
    await follow(api, job.id, (j) => (j.checkpoint?.batches ?? 0) >= 2 || j.status !== "RUNNING")
    const pausing = await request(`${api}/jobs/${job.id}/pause`, { method: "POST" })
    expect(pausing.status, "a running job is PAUSING until its handler stops").toBe("PAUSING")
    const paused = await follow(api, job.id, (j) => j.status === "PAUSED")
    expect(paused.attempt, "the paused attempt is given back").toBe(0)
    const { batches, processed } = paused.checkpoint
    expect(processed, "stopped between batches, part way").toBe(batches * 4)
    expect(processed).toBeLessThan(images)
    expect(paused.progress.stages[0]).toMatchObject({ key: "collect", status: "SUCCEEDED" })
    expect(await sent(api, job.id), "every batch sent before the pause was finished").toEqual(Array(batches).fill(4))

    const resumed = await request(`${api}/jobs/${job.id}/resume`, { method: "POST" })
    expect(resumed.status).toBe("QUEUED")
    const done = await follow(api, job.id)
    expect(done.status).toBe("SUCCEEDED")
    expect(done.attempt, "the pause did not spend an attempt").toBe(1)
    const result = await request(`${api}/jobs/${job.id}/result`)
    expect(result.value).toMatchObject({ captures: images, failed: 0 })
    const counts = await sent(api, job.id)
    expect(
      counts.reduce((a, b) => a + b, 0),
      "each image was sent to the processing service once"
    ).toBe(images)
    expect(counts).toHaveLength(images / 4)
    const logs = await request(`${api}/jobs/${job.id}/logs?limit=5000`)
    expect(logs.items.map((l: { message: string }) => l.message)).toContain(
      `Resuming after ${batches} batches (${processed} images): ${images - processed} images to go`
    )
    expect(done.checkpoint).toMatchObject({ batches: images / 4, processed: images })
  }, 60_000)
})
