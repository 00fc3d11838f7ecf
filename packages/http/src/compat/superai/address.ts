/**
 * The address check of super.AI callbacks: a callback URL whose host resolves to a loopback, private, link-local,
 * unique-local, multicast or unspecified address is refused (checked after DNS resolution, IPv4 and IPv6, mapped
 * forms too). The connection then resolves the name again, so a name that changes its answer in between is not
 * caught: hosts that need more pass their own `deliver` (the engine's own callbacks pin the checked address).
 */
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"

const v4Private = (a: number, b: number): boolean =>
  a === 0 ||
  a === 10 ||
  a === 127 ||
  (a === 100 && b >= 64 && b <= 127) ||
  (a === 169 && b === 254) ||
  (a === 172 && b >= 16 && b <= 31) ||
  (a === 192 && b === 168) ||
  (a === 198 && (b === 18 || b === 19)) ||
  a >= 224

/** Whether an IP address is not a public one. */
export const isLocal = (address: string): boolean => {
  const bare = address
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .toLowerCase()
  if (isIP(bare) === 4) {
    const [a, b] = bare.split(".").map(Number)
    return v4Private(a!, b!)
  }
  if (isIP(bare) !== 6) return true
  // IPv4-mapped and -compatible forms carry an IPv4 address last
  const mapped = /^(?:0{0,4}:){0,5}(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(bare.replace(/^::/, "0::"))
  if (mapped !== null) return isLocal(mapped[1]!)
  if (bare === "::" || bare === "::1") return true
  const first = parseInt(bare.split(":")[0] || "0", 16)
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 || first === 0
}

/** Throws when the URL's host is, or resolves to, a local address. */
export const checkPublic = async (url: string): Promise<void> => {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "")
  const addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address)
  const local = addresses.find(isLocal)
  if (local !== undefined) throw new Error(`callback to ${url} refused: ${local} is not a public address`)
}
