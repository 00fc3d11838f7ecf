import { describe, expect, it } from "@effect/vitest"
import { checkPublic, isLocal } from "../src/compat/superai/address.js"

describe("super.AI callback addresses", () => {
  it("refuses loopback, private, link-local, unique-local, multicast and unspecified addresses in every form", () => {
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "fc00::1",
      "fd12::1",
      "fe80::1",
      "ff02::1"
    ]) {
      expect(isLocal(address), address).toBe(true)
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
      expect(isLocal(address), address).toBe(false)
  })

  it("checks the URL's host after resolution", async () => {
    await expect(checkPublic("http://localhost:9/hook")).rejects.toThrow("not a public address")
    await expect(checkPublic("http://[::1]/hook")).rejects.toThrow("not a public address")
    await expect(checkPublic("http://10.0.0.1/hook")).rejects.toThrow("not a public address")
    await expect(checkPublic("http://93.184.216.34/hook")).resolves.toBeUndefined()
  })
})
