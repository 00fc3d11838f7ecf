import { describe, expect, it } from "@effect/vitest"
import * as AddressPolicy from "../src/internal/addressPolicy.js"

/** The host the WHATWG URL parser makes of a URL's authority, as the deliverer sees it. */
const hostOf = (authority: string) => new URL(`http://${authority}/`).hostname

describe("AddressPolicy.classify", () => {
  it("refuses every spelling of loopback that a URL can carry", () => {
    const spellings = [
      "127.0.0.1",
      "127.1",
      "2130706433",
      "0x7f000001",
      "0x7f.0.0.1",
      "0177.0.0.1",
      "017700000001",
      "127.000.000.001",
      "[::1]",
      "[0:0:0:0:0:0:0:1]",
      "[::ffff:127.0.0.1]",
      "[::ffff:7f00:1]",
      "[0:0:0:0:0:ffff:127.0.0.1]",
      "[::127.0.0.1]",
      "[64:ff9b::127.0.0.1]",
      "[2002:7f00:1::]"
    ]
    for (const spelling of spellings) {
      expect(AddressPolicy.classify(hostOf(spelling)), spelling).toBe("loopback")
    }
  })

  it("names each non-public range, IPv4 and IPv6, mapped forms included", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["0.0.0.0", "unspecified"],
      ["0", "unspecified"],
      ["[::]", "unspecified"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["0xc0a80101", "private"],
      ["100.64.0.1", "private"],
      ["[::ffff:10.0.0.1]", "private"],
      ["[::ffff:c0a8:101]", "private"],
      ["169.254.169.254", "link-local"],
      ["[::ffff:169.254.169.254]", "link-local"],
      ["[fe80::1]", "link-local"],
      ["[fc00::1]", "unique-local"],
      ["[fd12:3456::1]", "unique-local"],
      ["[fec0::1]", "site-local"],
      ["224.0.0.1", "multicast"],
      ["239.255.255.250", "multicast"],
      ["[ff02::1]", "multicast"],
      ["255.255.255.255", "reserved"],
      ["240.0.0.1", "reserved"],
      ["192.0.2.1", "reserved"],
      ["[2001:db8::1]", "reserved"]
    ]
    for (const [spelling, reason] of cases) {
      expect(AddressPolicy.classify(hostOf(spelling)), spelling).toBe(reason)
    }
    expect(AddressPolicy.classify("fe80::1%eth0")).toBe("link-local")
  })

  it("lets public addresses through, in IPv4, IPv6 and mapped forms", () => {
    for (const spelling of [
      "8.8.8.8",
      "1.1.1.1",
      "172.32.0.1",
      "[2606:4700::1111]",
      "[::ffff:8.8.8.8]",
      "93.184.216.34"
    ]) {
      expect(AddressPolicy.classify(hostOf(spelling)), spelling).toBeUndefined()
    }
  })

  it("refuses what is not an IP address", () => {
    expect(AddressPolicy.classify("localhost")).toBe("not an IP address")
    expect(AddressPolicy.classify("")).toBe("not an IP address")
  })
})

describe("AddressPolicy.permits", () => {
  const loopback = { hostname: "hooks.internal", address: "127.0.0.1", port: 8080 }
  it("refuses non-public addresses by default and allows public ones", () => {
    expect(AddressPolicy.permits(AddressPolicy.publicOnly, loopback)).toBe(false)
    expect(AddressPolicy.permits(AddressPolicy.publicOnly, { ...loopback, address: "8.8.8.8" })).toBe(true)
  })

  it("allows listed hosts (by name or address), a predicate's picks, or every address for development", () => {
    expect(AddressPolicy.permits({ allowPrivateNetworks: false, allow: ["HOOKS.internal"] }, loopback)).toBe(true)
    expect(AddressPolicy.permits({ allowPrivateNetworks: false, allow: ["127.0.0.1"] }, loopback)).toBe(true)
    expect(AddressPolicy.permits({ allowPrivateNetworks: false, allow: ["other.internal"] }, loopback)).toBe(false)
    const predicate = (t: AddressPolicy.Target) => t.port === 8080
    expect(AddressPolicy.permits({ allowPrivateNetworks: false, allow: predicate }, loopback)).toBe(true)
    expect(AddressPolicy.permits({ allowPrivateNetworks: false, allow: predicate }, { ...loopback, port: 22 })).toBe(
      false
    )
    expect(AddressPolicy.permits({ allowPrivateNetworks: true, allow: undefined }, loopback)).toBe(true)
  })
})
