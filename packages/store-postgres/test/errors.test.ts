import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { refail, toStoreError } from "../src/internal/errors.js"

/** A driver error as `@effect/sql-pg` wraps it: the `pg` error, with its SQLSTATE, as the cause. */
const driverError = (code: string | undefined, message = "driver says no") =>
  new SqlError({ message: "Failed to execute statement", cause: Object.assign(new Error(message), { code }) })

describe("refail", () => {
  it("maps each SQLSTATE to the port's reason", () => {
    const cases: ReadonlyArray<readonly [string | undefined, string]> = [
      ["08006", "Unavailable"], // connection failure
      ["28P01", "Unavailable"], // password authentication failed
      ["28000", "Unavailable"], // role gone
      ["3D000", "Unavailable"], // database gone
      ["57P01", "Unavailable"], // admin shutdown
      ["53300", "Unavailable"], // too many connections
      ["ECONNREFUSED", "Unavailable"],
      ["23505", "Conflict"],
      ["40001", "Conflict"],
      ["40P01", "Conflict"],
      ["55P03", "Conflict"],
      ["22P02", "Corrupt"],
      ["XX001", "Corrupt"],
      ["42P01", "Unknown"], // undefined table: a bad statement, not an outage
      [undefined, "Unknown"]
    ]
    for (const [code, reason] of cases) {
      expect([code, toStoreError(driverError(code)).reason]).toEqual([code, reason])
    }
  })

  it("an error without a SQLSTATE that says the connection ended is Unavailable", () => {
    expect(toStoreError(driverError(undefined, "Connection terminated unexpectedly")).reason).toBe("Unavailable")
  })

  it("keeps the driver error as the cause, and both messages", () => {
    const sqlError = driverError("23505", "duplicate key value")
    const error = toStoreError(sqlError)
    expect(error.cause).toBe(sqlError)
    expect(error.message).toBe("Failed to execute statement: duplicate key value")
  })

  it.effect(
    "refails a SqlError failure and a SqlError defect (a failed COMMIT) alike; other defects stay defects",
    () =>
      Effect.gen(function* () {
        const failed = yield* Effect.flip(refail(Effect.fail(driverError("57P01"))))
        expect(failed._tag).toBe("JobStoreError")
        expect(failed.reason).toBe("Unavailable")
        const died = yield* Effect.flip(refail(Effect.die(driverError("40001"))))
        expect(died.reason).toBe("Conflict")
        const other = yield* Effect.exit(refail(Effect.die(new Error("bug"))))
        expect(Exit.isFailure(other) ? other.cause._tag : "Success").toBe("Die")
      })
  )
})
