// Every error mirrorgate reports, with its code, HTTP status and message, in one place.
// Codes are stable: tests and operators match on them. Never reuse a retired code.

export interface ErrorSpec { readonly status: number; readonly message: string }

export const ERRORS = {
  // Request input (HTTP edge)
  MG_ERR_PATH_TOO_LONG: { status: 400, message: 'Request target is too long' },
  MG_ERR_PATH_CONTROL: { status: 400, message: 'Request target contains control characters' },
  MG_ERR_PATH_TRAVERSAL: { status: 400, message: 'Request target contains a dot segment or an encoded slash' },
  MG_ERR_PATH_INVALID: { status: 400, message: 'Request target contains characters or escapes that are not allowed' },
  MG_ERR_BAD_FORWARDED_FOR: { status: 400, message: 'X-Forwarded-For from a trusted proxy is malformed' },
  MG_ERR_BAD_FORWARDED_PROTO: { status: 400, message: 'X-Forwarded-Proto from a trusted proxy must be http or https' },
  MG_ERR_BAD_REGION_HINT: { status: 400, message: 'Region hint must be a continent code (af an as eu na oc sa) or an ISO country code, lowercase' },
  MG_ERR_BAD_QUERY: { status: 400, message: 'Query parameters are missing or invalid' },
  MG_ERR_NOT_FOUND: { status: 404, message: 'Not found: mirrorgate serves only its repository prefixes' },
  MG_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Only GET and HEAD are allowed' },
  // Admin API
  MG_ERR_UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required' },
  MG_ERR_ADMIN_DISABLED: { status: 403, message: 'The admin API is disabled: no admin token is configured' },
  MG_ERR_UNKNOWN_MIRROR: { status: 404, message: 'No mirror with that id in the table in force' },
  MG_ERR_BAD_BODY: { status: 400, message: 'Request body is invalid' },
  MG_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large' },
  MG_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Request body media type is not supported: send application/json' },
  MG_ERR_PROBES_DISABLED: { status: 409, message: 'Probes are disabled in the configuration' },
  MG_ERR_DRAINED_IN_TABLE: { status: 409, message: 'The mirror is drained in the mirror table, which the admin API cannot lift' },
  // Selection
  MG_ERR_NO_MIRROR: { status: 503, message: 'No mirror can serve this request right now; retry later' },
  // Metalink documents for release images
  MG_ERR_NO_METALINK: { status: 404, message: "No Metalink for this path: the file is not in its branch's latest-releases.yaml, or no master is configured" },
  MG_ERR_MASTER_UNAVAILABLE: { status: 503, message: "The master's latest-releases.yaml cannot be read right now; retry later" },
  // Start-up and reload
  MG_ERR_CONFIG_INVALID: { status: 500, message: 'Configuration is invalid' },
  MG_ERR_TABLE_INVALID: { status: 422, message: 'Mirror table is invalid' },
  MG_ERR_GEOIP_OPEN: { status: 500, message: 'GeoIP database cannot be opened' },
  // DNS export files (reported in the log; never sent over HTTP)
  MG_ERR_DNS_EXPORT: { status: 500, message: 'DNS export cannot be rendered' },
  // Anything not foreseen above: a bug or an environment failure, logged in full, never detailed to clients
  MG_ERR_INTERNAL: { status: 500, message: 'Internal error' }
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** An error with a stable code, a status for the HTTP edge, and details for people. */
export class MgError extends Error {
  readonly code: ErrorCode
  readonly status: number

  constructor (code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? ERRORS[code].message : `${ERRORS[code].message}: ${detail}`, options)
    this.name = 'MgError'
    this.code = code
    this.status = ERRORS[code].status
  }
}
