/**
 * The store conformance suite: every rule of the `JobStore` port as a named vitest test. Each store package runs it
 * with one line: `runStoreConformance("SqliteJobStore", SqliteJobStore.layer({ filename: ":memory:" }))`.
 *
 * The suite builds one store for all its tests, so each test keeps to its own data: unique queues, types, owners and
 * batch ids, and it never assumes an empty store. Store-wide operations (`rescue`, `expire`, `claimCallbacks`) are
 * judged only by what they did to the test's own jobs.
 *
 * Each concern has a file of its own (insert.ts, list.ts, claim.ts, settle.ts, …) that declares its tests on the
 * suite's `it`; this file only runs them in order over one store.
 *
 * @since 0.1.0
 */
// first: a clear error when a non-3 Effect is installed, before any module builds a Schema
import "../internal/effectVersion.js"
import { layer } from "@effect/vitest"
import type * as Layer from "effect/Layer"
import type { JobStore } from "../JobStore.js"
import { callbackTests } from "./callbacks.js"
import { claimTests } from "./claim.js"
import { deleteTests } from "./delete.js"
import { dependencyTests } from "./dependencies.js"
import { insertTests } from "./insert.js"
import { itemsConformance } from "./items.js"
import { leaseTests } from "./leases.js"
import { listTests } from "./list.js"
import { logTests } from "./logs.js"
import { maintenanceTests } from "./maintenance.js"
import { numberTests } from "./numbers.js"
import { pauseTests } from "./pause.js"
import { makeRow } from "./rows.js"
import { pruneConformance, schedulesConformance } from "./schedules.js"
import { scopeConformance } from "./scope.js"
import { settleTests } from "./settle.js"
import { settleGuardTests } from "./settleGuards.js"
import { signalTests } from "./signals.js"
import { statsTests } from "./stats.js"
import { updateTests } from "./update.js"
import { workerWriteTests } from "./workerWrites.js"

export { leasesOf, makeRow, T0, TOKEN } from "./rows.js"

/** Declares the conformance suite as a vitest `describe(name)` block running against one store built from `layer`. */
export const runStoreConformance = (name: string, storeLayer: Layer.Layer<JobStore, unknown>): void =>
  // the store takes `now` explicitly, so the suite needs no TestClock; live services keep drivers' own timers real
  layer(storeLayer, { excludeTestServices: true })(name, (it) => {
    workerWriteTests(it)
    numberTests(it, makeRow)
    insertTests(it)
    listTests(it)
    updateTests(it)
    claimTests(it)
    leaseTests(it)
    settleTests(it)
    settleGuardTests(it)
    pauseTests(it)
    logTests(it)
    statsTests(it)
    deleteTests(it)
    maintenanceTests(it)
    callbackTests(it)
    signalTests(it)
    itemsConformance(it, makeRow)
    scopeConformance(it)
    schedulesConformance(it)
    pruneConformance(it)
    dependencyTests(it)
  })

/** The engine conformance suite (engine and worker end to end over a real store). */
export { fastWorkerOptions, runEngineConformance } from "./engine.js"

/** A job context that records what a handler reports: unit tests of handlers without an engine. */
export * as FakeContext from "./FakeContext.js"
