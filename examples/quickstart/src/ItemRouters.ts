/**
 * The quickstart's Modzy and super.AI routers: Modzy's API at `/modzy/api` with `wordcount` as model `wordcount`
 * version `1.0.0`, super.AI's at `/superai/v1` with `wordcount` as the job type of every app.
 */
import { type JobsApi, ModzyApi, SuperaiApi } from "@jobloom/http"
import type { Hono } from "hono"

/** Mounts both routers on the host app. */
export const mount = (app: Hono, runtime: JobsApi.Options["runtime"]): Hono => {
  app.route(
    "/modzy/api",
    ModzyApi.make({
      runtime,
      models: [{ identifier: "wordcount", type: "wordcount", version: "1.0.0", name: "Word count" }]
    })
  )
  app.route("/superai/v1", SuperaiApi.make({ runtime, jobType: "wordcount" }))
  return app
}
