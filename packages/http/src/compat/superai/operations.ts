/**
 * super.AI's bulk download: `POST /apps/{appId}/job_responses` starts an operation, `GET /operations/{appId}/{op}`
 * reports it (`COMPLETED` once its file is built), `POST …/download-url` hands out a URL valid for `secondsTtl`
 * serving a zip whose first member is the JSON list of the jobs with their outputs. Operations live in this
 * process's memory (the newest 100 are kept); the file is built when the operation starts.
 */
import { randomBytes } from "node:crypto"
import { strToU8, zipSync } from "fflate"

/** One operation. */
export interface Operation {
  readonly id: string
  readonly appId: string
  readonly createdAt: string
  readonly zip: Uint8Array
  readonly count: number
  /** Download tokens and when each expires (epoch ms). */
  readonly tokens: Map<string, number>
}

const kept = 100

/** The operations of one router. */
export const make = () => {
  const operations = new Map<string, Operation>()
  return {
    /** Builds the zip of `jobs` (each a job object with its `response`) and records the operation. */
    start: (appId: string, jobs: ReadonlyArray<unknown>): Operation => {
      const id = randomBytes(12).toString("hex")
      const zip = zipSync({ [`jobs-${id}.json`]: strToU8(JSON.stringify(jobs)) }, { level: 6 })
      const operation: Operation = {
        id,
        appId,
        createdAt: new Date().toISOString(),
        zip,
        count: jobs.length,
        tokens: new Map()
      }
      operations.set(id, operation)
      for (const old of operations.keys()) {
        if (operations.size <= kept) break
        operations.delete(old)
      }
      return operation
    },
    get: (appId: string, id: string): Operation | undefined => {
      const operation = operations.get(id)
      return operation?.appId === appId ? operation : undefined
    },
    /** A token for the operation's file, valid for `seconds`. */
    grant: (operation: Operation, seconds: number): string => {
      const token = randomBytes(18).toString("base64url")
      operation.tokens.set(token, Date.now() + seconds * 1000)
      return token
    },
    /** The operation's file when the token is valid now. */
    file: (appId: string, id: string, token: string): Uint8Array | undefined => {
      const operation = operations.get(id)
      const expires = operation?.tokens.get(token)
      if (operation === undefined || operation.appId !== appId || expires === undefined || expires < Date.now()) {
        return undefined
      }
      return operation.zip
    }
  }
}
