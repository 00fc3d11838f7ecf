/**
 * The rows the conformance suite builds: neutral QUEUED rows and the suite's base time and claim token. Kept apart
 * from the suite so its parts (`workerWrites.ts`, `numbers.ts`, …) build rows the same way without importing it.
 */
import { uuidv7 } from "uuidv7"
import type { JobRow } from "../JobStore.js"

/** The base time of every row the suite builds (epoch ms); tests move forward from it. */
export const T0 = 1_700_000_000_000

/** The claim token of the suite's claims; tests of the token guard use tokens of their own. */
export const TOKEN = "conformance-claim"

/** Leases of jobs claimed with `TOKEN`, for `heartbeat`. */
export const leasesOf = (ids: ReadonlyArray<string>, token = TOKEN) => ids.map((id) => ({ id, token }))

/** A complete QUEUED row with a fresh UUIDv7 id and neutral values; `overrides` win. `number` is the store's to set. */
export const makeRow = (overrides: Partial<JobRow> = {}): JobRow => ({
  id: uuidv7(),
  number: 0,
  type: "conformance",
  name: "conformance job",
  queue: "default",
  owner: null,
  idempotencyKey: null,
  status: "QUEUED",
  terminalReason: null,
  priority: 0,
  params: "{}",
  metadata: "{}",
  tags: [],
  batchId: null,
  callbackUrl: null,
  attempt: 0,
  maxAttempts: 3,
  timeoutMs: null,
  deadline: null,
  runAt: T0,
  createdAt: T0,
  updatedAt: T0,
  queuedAt: T0,
  startedAt: null,
  finishedAt: null,
  progress: `{"summary":{"status":"QUEUED","progress":0},"stages":[],"items":null}`,
  lastError: null,
  resultId: null,
  leaseOwner: null,
  leaseExpiresAt: null,
  leaseToken: null,
  scheduleKey: null,
  traceContext: null,
  checkpoint: null,
  dependsOn: [],
  dependencyPolicy: "fail",
  waitingOn: 0,
  ...overrides
})
