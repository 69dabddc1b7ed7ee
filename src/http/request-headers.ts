// The four request headers a redirect reads, taken from rawHeaders. Node builds req.headers
// lazily, lowercasing every name into a fresh object; the hot path skips that. Duplicates
// are treated as Node treats them: Host and If-Modified-Since keep the first, the
// X-Forwarded-* headers are joined with ', ' (so a split X-Forwarded-For is walked whole).

export interface RedirectHeaders {
  host: string | undefined
  forwardedFor: string | undefined
  forwardedProto: string | undefined
  ifModifiedSince: string | undefined
}

const join = (a: string | undefined, b: string): string => (a === undefined ? b : a + ', ' + b)

/** `raw` is IncomingMessage.rawHeaders: name, value, name, value, ... */
export function redirectHeaders (raw: readonly string[]): RedirectHeaders {
  const out: RedirectHeaders = { host: undefined, forwardedFor: undefined, forwardedProto: undefined, ifModifiedSince: undefined }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    // Length first: most names are rejected without comparing a character.
    switch (name.length) {
      case 4:
        if (out.host === undefined && name.toLowerCase() === 'host') out.host = value
        break
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') out.forwardedFor = join(out.forwardedFor, value)
        break
      case 17:
        if (name.toLowerCase() === 'x-forwarded-proto') out.forwardedProto = join(out.forwardedProto, value)
        else if (out.ifModifiedSince === undefined && name.toLowerCase() === 'if-modified-since') out.ifModifiedSince = value
        break
    }
  }
  return out
}
