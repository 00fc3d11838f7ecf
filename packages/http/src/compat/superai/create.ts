/**
 * The body of `POST /apps/{appId}/jobs`, checked field by field with super.AI's messages: each input becomes a job of
 * its own (one item, its input), all in one batch, owned by the app, carrying super.AI's own fields in metadata.
 */
import type { Jobs } from "@jobloom/core"
import { isRecord, SuperaiError } from "./error.js"
import * as View from "./view.js"

/** What a create asks for: the jobs, and whether they are parked (`pending: true`: CREATED until released). */
export interface Create {
  readonly jobs: ReadonlyArray<Jobs.CreateJob>
  readonly pending: boolean
}

/** Reads a create body for the app's job type, or throws a 400 naming the bad field. */
export const parse = (body: Record<string, unknown>, appId: string, type: string): Create => {
  if (body.inputsFileUrl !== undefined) {
    throw new SuperaiError(400, "inputsFileUrl is not supported here; send the inputs in `inputs`")
  }
  const inputs = body.inputs
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 1000) {
    throw new SuperaiError(400, "inputs must be a list of 1 to 1000 input objects")
  }
  inputs.forEach((input, i) => {
    if (!isRecord(input)) throw new SuperaiError(400, `inputs[${i}] must be an object`)
  })
  const callbackUrl = body.callbackUrl ?? null
  if (callbackUrl !== null && (typeof callbackUrl !== "string" || !/^https?:\/\/\S+$/.test(callbackUrl))) {
    throw new SuperaiError(400, "callbackUrl must be an http(s) URL")
  }
  if (body.metadata !== undefined && body.metadata !== null && !isRecord(body.metadata)) {
    throw new SuperaiError(400, "metadata must be an object")
  }
  const tags = body.tags ?? []
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || t === "")) {
    throw new SuperaiError(400, "tags must be a list of non-empty strings")
  }
  if (body.labeler !== undefined && body.labeler !== null && typeof body.labeler !== "string") {
    throw new SuperaiError(400, "labeler must be a string")
  }
  if (body.pending !== undefined && typeof body.pending !== "boolean") {
    throw new SuperaiError(400, "pending must be a boolean")
  }
  const meta: View.SuperaiMeta = {
    callbackUrl: callbackUrl as string | null,
    labeler: (body.labeler as string | undefined) ?? null,
    correct: null,
    jobType: "DEFAULT"
  }
  const metadata = { ...((body.metadata as Record<string, unknown> | undefined) ?? {}), [View.metaKey]: meta }
  return {
    jobs: (inputs as Array<Record<string, unknown>>).map((input) => ({
      type,
      owner: appId,
      params: input,
      metadata,
      tags: tags as Array<string>,
      items: [{ key: "input", input }]
    })),
    pending: body.pending === true
  }
}
