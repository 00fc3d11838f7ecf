// Reads a text/event-stream response one event at a time, for the tests of the event routes.

/** One event of a stream. */
export interface SseEvent {
  readonly event: string
  readonly id: string
  readonly data: any
}

/** A reader over a response's event stream; `next` is undefined once the stream has ended. */
export const sseReader = (response: Response) => {
  const body = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  const next = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields = new Map<string, string>()
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue
          const colon = line.indexOf(":")
          const key = line.slice(0, colon)
          fields.set(key, (fields.has(key) ? fields.get(key) + "\n" : "") + line.slice(colon + 1).trimStart())
        }
        if (!fields.has("event")) continue
        return {
          event: fields.get("event")!,
          id: fields.get("id") ?? "",
          data: JSON.parse(fields.get("data") ?? "null")
        }
      }
      const { done, value } = await body.read()
      if (done) return undefined
      buffer += decoder.decode(value, { stream: true })
    }
  }
  /** Reads until an event satisfies `predicate`, returning every event read. */
  const until = async (predicate: (event: SseEvent) => boolean): Promise<Array<SseEvent>> => {
    const seen: Array<SseEvent> = []
    for (;;) {
      const event = await next()
      if (event === undefined) throw new Error(`stream ended after ${JSON.stringify(seen.map((e) => e.event))}`)
      seen.push(event)
      if (predicate(event)) return seen
    }
  }
  return { next, until, cancel: () => body.cancel() }
}
