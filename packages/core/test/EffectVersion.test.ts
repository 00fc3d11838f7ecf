import { describe, expect, it } from "@effect/vitest"
import { check } from "../src/internal/effectVersion.js"

describe("the Effect version check", () => {
  it("accepts the Effect 3 this workspace runs on", () => {
    expect(() => check()).not.toThrow()
    expect(() => check("3.22.4")).not.toThrow()
  })

  it("names a forced-in Effect 4 and what to install instead", () => {
    expect(() => check("4.0.0-beta.12")).toThrow(
      /jobloom needs Effect 3 .*effect 4\.0\.0-beta\.12 is installed.*effect@3/
    )
  })
})
