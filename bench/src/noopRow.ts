/**
 * The QUEUED no-op row the store-level bench tools insert (`micro`, `pgcost`, `sqlitecost*`), as `Jobs.enqueue` would
 * build it. (Core's conformance `makeRow` is not importable outside vitest.)
 */
import type { JobStore } from "@jobloom/core"
import { uuidv7 } from "uuidv7"

/** A QUEUED no-op job of `queue`, due and created at `now`; `overrides` win. */
export const noopRow = (queue: string, now: number, overrides: Partial<JobStore.JobRow> = {}): JobStore.JobRow => ({
  id: uuidv7(),
  number: 0,
  type: "noop",
  name: "noop",
  queue,
  owner: null,
  idempotencyKey: null,
  status: "QUEUED",
  terminalReason: null,
  priority: 0,
  params: `{"i":1}`,
  metadata: "{}",
  tags: [],
  batchId: null,
  callbackUrl: null,
  attempt: 0,
  maxAttempts: 1,
  timeoutMs: null,
  deadline: null,
  runAt: now,
  createdAt: now,
  updatedAt: now,
  queuedAt: now,
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
