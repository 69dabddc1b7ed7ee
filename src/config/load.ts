// Builds the Config from, in rising precedence: defaults, the YAML file, the environment
// (HOST, PORT, MIRRORGATE_CONFIG, MIRRORGATE_WORKERS, MIRRORGATE_ADMIN_TOKEN), and
// command-line flags (--host, --port, --config, --workers).

import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { MgError } from '../errors.js'
import { ADMIN_TOKEN, DEFAULTS, PORT, WORKERS, checkOverride, configFromDocument, deepFreeze, type Config } from './schema.js'

export const USAGE = `usage: mirrorgate [--config FILE] [--host HOST] [--port PORT] [--workers N]
  --config FILE   YAML configuration (env MIRRORGATE_CONFIG)
  --host HOST     address to listen on (env HOST, default ${DEFAULTS.host})
  --port PORT     port to listen on (env PORT, default ${DEFAULTS.port})
  --workers N     HTTP worker processes; 0 = one per core (env MIRRORGATE_WORKERS, default ${DEFAULTS.workers})`

/** A count in the bounds of its schema (PORT, WORKERS), from decimal text. */
function parseCount (text: string, origin: string, bounds: { minimum: number, maximum: number }, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < bounds.minimum || Number(text) > bounds.maximum) {
    throw new MgError('MG_ERR_CONFIG_INVALID', `${origin}: "${text}" is not ${what} (${bounds.minimum}-${bounds.maximum})`)
  }
  return Number(text)
}

export function readConfigFile (file: string): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new MgError('MG_ERR_CONFIG_INVALID', `${file}: cannot read: ${(err as Error).message}`, { cause: err })
  }
  let doc: unknown
  try {
    doc = parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    throw new MgError('MG_ERR_CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err })
  }
  return configFromDocument(doc, file, dirname(file))
}

export function loadConfig (argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  let values: { config?: string | undefined, host?: string | undefined, port?: string | undefined, workers?: string | undefined }
  try {
    values = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' } },
      strict: true
    }).values
  } catch (err) {
    throw new MgError('MG_ERR_CONFIG_INVALID', `command line: ${(err as Error).message}\n${USAGE}`, { cause: err })
  }
  const file = values.config ?? env.MIRRORGATE_CONFIG
  const base = file === undefined || file === '' ? DEFAULTS : readConfigFile(file)
  const host = values.host ?? env.HOST
  const portText = values.port ?? env.PORT
  const workersText = values.workers ?? env.MIRRORGATE_WORKERS
  const token = env.MIRRORGATE_ADMIN_TOKEN
  return deepFreeze({
    ...base,
    admin: token === undefined || token === '' ? base.admin : { token: checkOverride(ADMIN_TOKEN, token, 'MIRRORGATE_ADMIN_TOKEN') },
    host: host === undefined || host === '' ? base.host : host,
    port: portText === undefined || portText === '' ? base.port : parseCount(portText, values.port !== undefined ? '--port' : 'PORT', PORT, 'a port number'),
    workers: workersText === undefined || workersText === '' ? base.workers : parseCount(workersText, values.workers !== undefined ? '--workers' : 'MIRRORGATE_WORKERS', WORKERS, 'a worker count')
  })
}
