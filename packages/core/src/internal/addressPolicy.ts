/**
 * Which network addresses a callback delivery may reach (DESIGN §4.6). By default only public unicast addresses:
 * loopback, private, shared (CGNAT), link-local, unique-local, site-local, multicast, broadcast, unspecified,
 * documentation and other reserved ranges are refused, in every spelling. The WHATWG URL parser already turns
 * `2130706433`, `0x7f.1` and `0177.0.0.1` into `127.0.0.1`; this module reads the forms that remain: IPv6 with an
 * IPv4 inside (mapped `::ffff:127.0.0.1` and `::ffff:7f00:1`, compatible `::127.0.0.1`, NAT64, 6to4) and zone ids.
 */
import { isIP } from "node:net"

/** What the host allows beyond public addresses (`Worker` option `callbacks`). */
export interface AddressPolicy {
  /** Every address is allowed (for development against local receivers). */
  readonly allowPrivateNetworks: boolean
  /**
   * Hosts that may be reached whatever their address: names or IP literals, matched exactly (case-insensitive), or a
   * predicate given each resolved target.
   */
  readonly allow: ReadonlyArray<string> | ((target: Target) => boolean) | undefined
}

/** One address a delivery would connect to. */
export interface Target {
  /** The URL's host: a name, or an IP literal without brackets. */
  readonly hostname: string
  /** The resolved address about to be connected to. */
  readonly address: string
  readonly port: number
}

/** The default: public addresses only. */
export const publicOnly: AddressPolicy = { allowPrivateNetworks: false, allow: undefined }

type Range = readonly [base: number, bits: number, reason: string]

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0

const v4Ranges: ReadonlyArray<Range> = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "private"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link-local"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "reserved"],
  [v4(192, 0, 2, 0), 24, "reserved"],
  [v4(192, 88, 99, 0), 24, "reserved"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "reserved"],
  [v4(198, 51, 100, 0), 24, "reserved"],
  [v4(203, 0, 113, 0), 24, "reserved"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "reserved"]
]

const inRange = (value: number, base: number, bits: number) =>
  bits === 0 || value >>> (32 - bits) === base >>> (32 - bits)

const parseV4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined
  return v4(Number(parts[0]), Number(parts[1]), Number(parts[2]), Number(parts[3]))
}

const classifyV4 = (value: number): string | undefined => {
  for (const [base, bits, reason] of v4Ranges) if (inRange(value, base, bits)) return reason
  return undefined
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail becomes the last two). */
const parseV6 = (text: string): Array<number> | undefined => {
  let rest = text
  const tail: Array<number> = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest)
  if (dotted !== null) {
    const value = parseV4(dotted[1]!)
    if (value === undefined) return undefined
    tail.push(value >>> 16, value & 0xffff)
    rest = rest.slice(0, -dotted[1]!.length)
    if (rest.endsWith(":") && !rest.endsWith("::")) rest = rest.slice(0, -1)
  }
  const halves = rest.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string) => (half === "" ? [] : half.split(":").map((g) => parseInt(g, 16)))
  const head = groups(halves[0]!)
  const back = halves.length === 2 ? groups(halves[1]!) : []
  const missing = 8 - head.length - back.length - tail.length
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined
  const all = [...head, ...new Array<number>(missing).fill(0), ...back, ...tail]
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined
}

const classifyV6 = (g: ReadonlyArray<number>): string | undefined => {
  const embedded = (hi: number, lo: number) => classifyV4(((hi << 16) | lo) >>> 0)
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zeros(0, 8)) return "unspecified"
  if (zeros(0, 7) && g[7] === 1) return "loopback"
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d: the IPv4 address decides
  if (zeros(0, 5) && g[5] === 0xffff) return embedded(g[6]!, g[7]!)
  if (zeros(0, 6)) return embedded(g[6]!, g[7]!) ?? "reserved"
  // NAT64 (64:ff9b::/96) carries the IPv4 address last; its local-use prefix 64:ff9b:1::/48 is private
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded(g[6]!, g[7]!)
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private"
  // 6to4 (2002::/16) carries the IPv4 address in groups 1 and 2
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!)
  const first = g[0]!
  if ((first & 0xfe00) === 0xfc00) return "unique-local"
  if ((first & 0xffc0) === 0xfe80) return "link-local"
  if ((first & 0xffc0) === 0xfec0) return "site-local"
  if ((first & 0xff00) === 0xff00) return "multicast"
  if (first === 0x2001 && g[1] === 0x0db8) return "reserved"
  if (first === 0x0100 && zeros(1, 4)) return "reserved"
  return undefined
}

/**
 * Why an address is not public (`loopback`, `private`, `link-local`, `unique-local`, `multicast`, `unspecified`,
 * …), or undefined when it is. Anything that is not an IP address is refused as `not an IP address`.
 */
export const classify = (address: string): string | undefined => {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "")
  switch (isIP(bare)) {
    case 4:
      return classifyV4(parseV4(bare)!)
    case 6: {
      const groups = parseV6(bare.toLowerCase())
      return groups === undefined ? "not an IP address" : classifyV6(groups)
    }
    default:
      return "not an IP address"
  }
}

/** Whether the policy lets a delivery connect to `target`. */
export const permits = (policy: AddressPolicy, target: Target): boolean => {
  if (policy.allowPrivateNetworks || classify(target.address) === undefined) return true
  const allow = policy.allow
  if (allow === undefined) return false
  if (typeof allow === "function") return allow(target)
  const host = target.hostname.toLowerCase()
  return allow.some((entry) => {
    const e = entry.toLowerCase().replace(/^\[|\]$/g, "")
    return e === host || e === target.address.toLowerCase()
  })
}
