import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@jobloom/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SqliteJobStore } from "../src/index.js"
import { makeRow, T0, TOKEN } from "./support.js"

describe("settle", () => {
  // A batch of Completes only is written by a statement of its own (the common case, kept lean); both statements
  // must give the same rows, so the same Completes are settled alone and in a batch with another tag.
  it.effect.each([
    ["a batch of Completes only", false],
    ["a batch with another tag in it", true]
  ])(
    "%s: a RUNNING job succeeds with its result, a CANCELLING one is CANCELLED, another's lease is untouched",
    ([, mixed]) =>
      Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const held = { leaseOwner: "w", leaseExpiresAt: T0 + 1000, leaseToken: TOKEN, attempt: 1, startedAt: T0 }
        const given = {
          running: makeRow({ ...held, status: "RUNNING" }),
          cancelling: makeRow({ ...held, status: "CANCELLING" }),
          foreign: makeRow({ ...held, status: "RUNNING", leaseOwner: "other" })
        }
        const retried = makeRow({ ...held, status: "RUNNING" })
        // the rows as stored, with the numbers the store gave them
        const [running, cancelling, foreign] = (yield* store.insert({
          jobs: [given.running, given.cancelling, given.foreign, retried]
        })).map((outcome) => outcome.row) as [JobStore.JobRow, JobStore.JobRow, JobStore.JobRow]
        const changes = yield* store.settle({
          workerId: "w",
          now: T0 + 5,
          settlements: [
            { _tag: "Complete", id: running.id, token: TOKEN, progress: "p1", result: { id: "res-1", value: "1" } },
            { _tag: "Complete", id: cancelling.id, token: TOKEN, progress: null, result: { id: "res-2", value: "2" } },
            { _tag: "Complete", id: foreign.id, token: TOKEN, progress: null, result: null },
            ...(mixed
              ? [
                  {
                    _tag: "Retry" as const,
                    id: retried.id,
                    token: TOKEN,
                    runAt: T0 + 50,
                    lastError: "{}",
                    progress: null
                  }
                ]
              : [])
          ]
        })
        expect(changes).toEqual([
          { id: running.id, status: "SUCCEEDED" },
          { id: cancelling.id, status: "CANCELLED" },
          ...(mixed ? [{ id: retried.id, status: "QUEUED" }] : [])
        ])
        const get = (id: string) => Effect.map(store.get({ id }), Option.getOrThrow)
        // an ended job keeps the worker of its last attempt; its lease's expiry and token are gone
        const done = { finishedAt: T0 + 5, updatedAt: T0 + 5, leaseOwner: "w", leaseExpiresAt: null, leaseToken: null }
        expect(yield* get(running.id)).toEqual({
          ...running,
          ...done,
          status: "SUCCEEDED",
          terminalReason: null,
          resultId: "res-1",
          progress: "p1"
        })
        expect(yield* get(cancelling.id)).toEqual({
          ...cancelling,
          ...done,
          status: "CANCELLED",
          terminalReason: "user"
        })
        expect(yield* get(foreign.id)).toEqual(foreign)
        if (mixed) {
          const back = yield* get(retried.id)
          expect(
            [back.status, back.leaseOwner, back.leaseExpiresAt, back.leaseToken],
            "a retried job has no worker"
          ).toEqual(["QUEUED", null, null, null])
        }
        expect(Option.isSome(yield* store.getResult({ resultId: "res-1" }))).toBe(true)
        expect(Option.isNone(yield* store.getResult({ resultId: "res-2" }))).toBe(true)
      }).pipe(Effect.provide(SqliteJobStore.layer({ filename: ":memory:" })))
  )
})
