// `mirrorgate explain`: the reasoning of GET /api/v1/explain, offline from the config and
// table files. Probes are off, so nothing goes over the network: every mirror is as the table
// declares it, as in a service started with probes disabled.

import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { readConfigFile } from '../config/load.js'
import { DEFAULTS, type Config } from '../config/schema.js'
import { PathClassifier } from '../core/freshness.js'
import { ERRORS, MgError } from '../errors.js'
import { parseIp } from '../core/ip.js'
import { explainAnswer } from '../http/routes/explain.js'
import { LoadMeter } from '../live/load.js'
import { Redirector } from '../redirector.js'
import { createLiveState, openGeoIp } from '../service.js'
import { EXIT, UsageError, flagOrEnv, parseFlags, type Command } from './io.js'

export const EXPLAIN_USAGE = `usage: mirrorgate explain IP [PATH] [--scheme http|https] [--region R] [--config FILE] [--table FILE]
Prints, as JSON, why a client at IP asking for PATH goes to the mirror it goes to: the answer
of GET /api/v1/explain, worked out offline from the files (probes off: no network I/O, every
mirror as the table declares it).

  IP              the client's IPv4 or IPv6 address
  PATH            the request path, with its prefix (default: the first prefix, e.g. /alpine/)
  --scheme S      http (default) or https
  --region R      a region hint: continent code (af an as eu na oc sa) or country code, lowercase
  --config FILE   YAML configuration (env MIRRORGATE_CONFIG; default: built-in defaults)
  --table FILE    mirror table to use instead of the one the config names
  --help          this text

Exit status: 0 printed, 2 bad usage or invalid input (address, path, config, table), 1 a
runtime failure (such as a GeoIP database that cannot be opened).`

/** The config explain runs under: the file's (or the defaults), another table if given, probes off. */
function explainConfig (configFile: string | null, table: string | undefined): Config {
  const base = configFile === null ? DEFAULTS : readConfigFile(configFile)
  return {
    ...base,
    table: table === undefined || table === '' ? base.table : resolve(table),
    probes: { ...base.probes, enabled: false }
  }
}

export const explainCommand: Command = async (argv, io, env) => {
  const { values, positionals } = parseFlags(argv, {
    scheme: { type: 'string' }, region: { type: 'string' }, config: { type: 'string' }, table: { type: 'string' }
  }, true)
  if (values.help === true) {
    io.stdout.write(EXPLAIN_USAGE + '\n')
    return EXIT.ok
  }
  const [ipText, pathArg, extra] = positionals
  if (ipText === undefined) throw new UsageError('an IP address is required')
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`)
  const ip = parseIp(ipText)
  if (ip === null) throw new UsageError(`"${ipText}" is not an IPv4 or IPv6 address`)
  const scheme = values.scheme ?? 'http'
  if (scheme !== 'http' && scheme !== 'https') throw new UsageError('--scheme must be http or https')

  const config = explainConfig(flagOrEnv(values.config, env.MIRRORGATE_CONFIG), values.table)
  const geoip = openGeoIp(config)
  // The live state as the service builds it; never started, so no probe, watch or timer runs.
  const state = await createLiveState(config, geoip, null)
  try {
    // The redirector as the service's HTTP side builds it (service.ts, createHttp).
    const processes = config.workers === 0 ? availableParallelism() : config.workers
    const fleet = state.fleet
    const load = new LoadMeter({ ...config.capacity, share: config.capacity.share / processes, coverage: () => fleet.coverage })
    const redirector = new Redirector({
      geoip, live: fleet, load, policy: config.selection, freshness: config.freshness, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize
    })
    const classifier = new PathClassifier(config.freshness.versioned, config.freshness.volatile)
    let answer: object
    try {
      answer = explainAnswer({ config, redirector, geoip, classifier, fleet }, {
        ip, scheme, path: pathArg ?? config.prefixes[0] as string, region: values.region
      })
    } catch (err) {
      // The HTTP answer's words for a bad query, said of the command line.
      if (err instanceof MgError && err.code === 'MG_ERR_BAD_QUERY') throw new UsageError(err.message.replace(`${ERRORS.MG_ERR_BAD_QUERY.message}: `, ''))
      if (err instanceof MgError && err.code === 'MG_ERR_BAD_REGION_HINT') throw new UsageError(`region "${values.region ?? 'in the path'}": ${err.message}`)
      throw err
    }
    io.stdout.write(JSON.stringify(answer, null, 2) + '\n')
    return EXIT.ok
  } finally {
    await state.close()
  }
}
