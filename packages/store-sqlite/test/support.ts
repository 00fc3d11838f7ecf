import type { JobStore } from "@jobloom/core"
import * as Crypto from "node:crypto"

/** The base time of the rows the tests build (epoch ms). */
export const T0 = 1_700_000_000_000

let counter = 0

/** A complete QUEUED row with a fresh id (increasing within a run, like UUIDv7); `overrides` win. */
export const makeRow = (overrides: Partial<JobStore.JobRow> = {}): JobStore.JobRow => ({
  id: `${String(++counter).padStart(8, "0")}-${Crypto.randomUUID()}`,
  type: "conformance",
  name: "test job",
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
  ...overrides
})
